/**
 * What the check path needs from tracing, over `@opentelemetry/api` alone: the SDK (sdk.ts) is
 * imported only when `tracing.enabled` is set (composition/tracing.ts), and code given no
 * `Tracing` runs exactly as before, with nothing allocated for spans.
 *
 * What a span may carry is decided here, once: outcome, reason, dialect, host, policy and rule
 * names, status codes, operation names. Never a token, a cookie, a credential, an identity
 * header, a user name or a path (a path may carry a secret, e.g. a magic-link token); the test
 * in test/integration/tracing/ searches every exported attribute for them.
 */
import {
  INVALID_SPAN_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

export interface Tracing {
  readonly tracer: Tracer;
  /**
   * The context whose span is the check span's parent: the proxy's W3C Trace Context
   * (`traceparent`, `tracestate`) when it is valid, else a context without one (a new trace).
   */
  readonly extract: (headers: Readonly<Record<string, string | string[] | undefined>>) => Context;
}

/** Span names (docs/monitoring.md "Tracing"). The check span is `<METHOD> <route>`. */
export const SpanNames = {
  authenticate: 'authn authenticate',
  decide: 'authz decide',
  sessionStore: (operation: string) => `session-store ${operation}`,
  refreshToken: 'oidc refresh-token',
  userinfo: 'oidc userinfo',
} as const;

/**
 * Attribute names: OpenTelemetry semantic conventions where one fits (HTTP server spans:
 * `http.request.method`, `http.route`, `http.response.status_code`, `error.type`), `gatehouse.*`
 * for what is gatehouse's own.
 */
export const AttributeNames = {
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
  errorType: 'error.type',
  dialect: 'gatehouse.dialect',
  requestId: 'gatehouse.request_id',
  host: 'gatehouse.host',
  outcome: 'gatehouse.outcome',
  reason: 'gatehouse.reason',
  policy: 'gatehouse.policy',
  rule: 'gatehouse.rule',
  audit: 'gatehouse.audit',
  authnMethod: 'gatehouse.authn.method',
  authnResult: 'gatehouse.authn.result',
  authnRejection: 'gatehouse.authn.rejection',
  sessionStoreOperation: 'gatehouse.session_store.operation',
  provider: 'gatehouse.provider',
} as const;

/** The active span when it is recorded: children of a span that is not sampled are skipped. */
export function recordingParent(): Span | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() === true ? span : undefined;
}

/**
 * Runs `run` in a child span of the active span, ended when `run` settles; a failure sets the
 * ERROR status and `error.type`. Without a tracer or a recorded parent it only runs `run`: a
 * store call made outside a check (sign-in, revocations, readiness) starts no trace of its own.
 */
export function inChildSpan<T>(
  tracer: Tracer | undefined,
  name: string,
  attributes: Attributes,
  run: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  if (tracer === undefined || recordingParent() === undefined) return run(nonRecording);
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await run(span);
    } catch (error: unknown) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * ERROR status and `error.type`: the error's code (`dependency-unavailable`, `ECONNREFUSED`) or
 * class name. Never its message or stack (`recordException`): messages may quote a request.
 */
export function markFailed(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute(AttributeNames.errorType, errorTypeOf(error));
}

const SAFE_ERROR_TYPE = /^[A-Za-z0-9._-]{1,64}$/;

export function errorTypeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && SAFE_ERROR_TYPE.test(code)) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && SAFE_ERROR_TYPE.test(name)) return name;
  }
  return '_OTHER'; // the semantic conventions' value for an unknown error type
}

/** Handed to `run` when nothing is recorded, so callers need no branch of their own. */
const nonRecording: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
