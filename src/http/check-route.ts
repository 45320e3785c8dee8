import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, context, trace, type Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuthnResult, Authenticator } from '../authn/authenticator.ts';
import type { Identity } from '../authz/identity.ts';
import type { AuthRequest } from '../authz/auth-request.ts';
import { decide, type DecideOptions } from '../authz/decide.ts';
import { isAuditOverride } from '../authz/audit-mode.ts';
import type { Decision } from '../authz/decision.ts';
import { Reasons } from '../authz/reasons.ts';
import type { CheckResponse, Dialect, IncomingCheck } from '../dialects/dialect.ts';
import type { ProxyTrust } from '../dialects/proxy-trust.ts';
import type { AssertionSigner } from '../identity/assertion.ts';
import type { Header, HeaderProfiles } from '../identity/header-profiles.ts';
import { clientHeaderGuardFor, upstreamHeadersFor } from '../identity/upstream-headers.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import type { SessionTokens } from '../sessions/session.ts';
import { BadRequestError, GatehouseError } from '../errors.ts';
import {
  applyProviderRestriction,
  providerNotAllowed,
  signInUrlWithProvider,
  withProvider,
} from '../oidc/provider-restriction.ts';
import { withStepUp } from '../oidc/step-up.ts';
import { stepUpChallenge } from '../authn/token-rejection.ts';
import { AttributeNames, SpanNames, markFailed, type Tracing } from '../tracing/tracing.ts';
import { defaultTheme, forbiddenPage, type PageTheme, type SignInOffer } from './pages.ts';

/** Everything one external-auth check needs, built once at start by the composition root. */
export interface CheckDependencies {
  readonly authenticator: Authenticator;
  /** The serving snapshot; null until the first policy load succeeded (then /readyz is false). */
  readonly snapshot: () => PolicySnapshot | null;
  readonly decideOptions: DecideOptions;
  readonly headerProfiles: HeaderProfiles;
  /** Signs `X-Gatehouse-Assertion` on every allow when the assertion is enabled. */
  readonly assertion?: AssertionSigner;
  readonly proxyTrust: ProxyTrust;
  readonly rejectForgedIdentityHeaders: boolean;
  /**
   * Absolute sign-in URL carrying the original URL as `rd`. When the matched rule allows exactly
   * one provider (`spec.authentication.providers`), the check adds `provider=<name>` to it.
   */
  readonly signInUrl: (request: AuthRequest) => string;
  /**
   * The name shown for a provider on the 403 page's sign-in offers (`providers[].displayName`);
   * absent or undefined: the provider's name.
   */
  readonly providerDisplayName?: ((provider: string) => string | undefined) | undefined;
  readonly forbiddenContact: string;
  /**
   * The pages' branding (configuration `pages`), for the 403 page Traefik, Caddy and Envoy show
   * from the check itself. Absent: unbranded.
   */
  readonly pageTheme?: PageTheme | undefined;
  /**
   * `<publicUrl><routes.prefix>`: the 403 page's links to the portal and to "switch account"
   * (sign out, then back to the denied address). Absent: the page offers neither.
   */
  readonly signInBase?: string | undefined;
  readonly metrics: Metrics;
  /** Every denial is one line on the audit trail. */
  readonly audit: AuditLog;
  readonly logger: Logger;
  /**
   * `WWW-Authenticate` for a 401 decided by a policy with `authentication.basic: true`; set when
   * Basic authentication is configured (RFC 7617 §2: machine clients learn to send credentials).
   */
  readonly basicChallenge?: string | undefined;
  /**
   * `WWW-Authenticate` for every anonymous 401 when bearer issuers are configured (RFC 6750 §3):
   * `bearerChallengeFor(config.publicUrl)`. Sent beside the Basic challenge when both apply.
   */
  readonly bearerChallenge?: string | undefined;
  /** Epoch milliseconds; the composition root's injected clock (default `Date.now`). */
  readonly now?: (() => number) | undefined;
  /** Impersonation is configured: every allow carries the profile's impersonator header. */
  readonly impersonatorHeader?: boolean | undefined;
  /** The session tokens behind an identity, for `spec.upstreamTokens` (token pass-through). */
  readonly tokensOf?: ((identity: Identity) => SessionTokens | undefined) | undefined;
  /** `tracing.enabled`: one span per check (docs/monitoring.md "Tracing"). Absent: no tracing code runs. */
  readonly tracing?: Tracing | undefined;
}

/**
 * The Bearer challenge of an anonymous 401 (RFC 6750 §3): the realm is gatehouse's public host,
 * the protection space every bearer issuer's tokens are accepted in.
 */
export function bearerChallengeFor(publicUrl: string): string {
  return `Bearer realm="${new URL(publicUrl).host}"`;
}

/**
 * The transport edge of a check: Node's request in, dialect-shaped response out. The decision
 * itself is decide()'s; the proxy's wire format is the dialect's; this function only sequences
 * them, counts and logs. It is served from `node:http` directly rather than through Koa because
 * every request to every protected app waits for it (see docs/benchmarks.md); errors it throws
 * are answered by the caller through http/error-response.ts, like Koa's error handler does.
 */
export function handleCheck(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  dialect: Dialect,
  deps: CheckDependencies,
  proxyRequestId?: string,
): Promise<void> {
  const tracing = deps.tracing;
  if (tracing === undefined) return check(req, res, requestId, dialect, deps, proxyRequestId);
  return tracedCheck(tracing, req, res, requestId, dialect, deps, proxyRequestId);
}

/** `http.route` of each dialect's endpoint (main-app.ts routes them). */
const routes: Readonly<Record<Dialect['name'], string>> = {
  nginx: '/authz/nginx',
  'forward-auth': '/authz/forward-auth',
  'ext-authz': '/authz/ext-authz/*',
  // Under `routes.prefix`; the default is named, as the route template of the usual setup.
  'oauth2-proxy': '/oauth2/auth',
};

/**
 * The check inside a SERVER span named `<METHOD> <route>` (OpenTelemetry HTTP semantic
 * conventions). Its parent is the proxy's span when the proxy sent a valid `traceparent` (W3C
 * Trace Context), so the check appears inside the proxy's trace. Only a trusted proxy's context
 * is continued (docs/architecture.md security invariant 3, as for `X-Request-ID`): W3C Trace
 * Context §9 warns that a context from outside lets a caller choose the trace id and force the
 * sampled flag, i.e. flood the collector through the parent-based sampler. From anyone else the
 * check starts a trace of its own, sampled by `tracing.sampleRatio`. `traceparent` and
 * `tracestate` are read for this alone: they are no credential and no identity header.
 */
async function tracedCheck(
  tracing: Tracing,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  dialect: Dialect,
  deps: CheckDependencies,
  proxyRequestId: string | undefined,
): Promise<void> {
  const parent = deps.proxyTrust.isTrusted(req.socket.remoteAddress ?? '')
    ? tracing.extract(req.headers)
    : context.active();
  const method = req.method ?? 'GET';
  const route = routes[dialect.name];
  const span = tracing.tracer.startSpan(
    `${method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        [AttributeNames.httpMethod]: method,
        [AttributeNames.httpRoute]: route,
        [AttributeNames.dialect]: dialect.name,
        [AttributeNames.requestId]: requestId,
      },
    },
    parent,
  );
  try {
    await context.with(trace.setSpan(parent, span), () =>
      check(req, res, requestId, dialect, deps, proxyRequestId, span),
    );
    span.setAttribute(AttributeNames.httpStatus, res.statusCode);
  } catch (error: unknown) {
    // Answered by the caller (http/error-response.ts) with the error's status, 500 otherwise.
    const status = error instanceof GatehouseError ? error.status : 500;
    span.setAttribute(AttributeNames.httpStatus, status);
    if (error instanceof BadRequestError) {
      span.setAttributes({
        [AttributeNames.outcome]: 'error',
        [AttributeNames.reason]: Reasons.MalformedRequest,
      });
    }
    // HTTP semantic conventions: a server span is an error (status and `error.type`) for a 5xx,
    // not for a request refused with a 4xx.
    if (status >= 500) markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** The decision, in an `authz decide` child span when the check is traced. */
function decideIn(span: Span | undefined, deps: CheckDependencies, run: () => Decision): Decision {
  if (span === undefined || !span.isRecording() || deps.tracing === undefined) return run();
  const child = deps.tracing.tracer.startSpan(SpanNames.decide);
  try {
    const decision = run();
    child.setAttributes(decisionAttributes(decision));
    return decision;
  } catch (error: unknown) {
    markFailed(child, error);
    throw error;
  } finally {
    child.end();
  }
}

/**
 * Authentication in an `authn authenticate` child span when the check is traced: the session
 * store, JWKS and provider calls it makes become its children. The span says how the request
 * authenticated (`session`, `bearer`...) and a rejection's code, never who or with what.
 */
function authenticateIn(
  span: Span | undefined,
  deps: CheckDependencies,
  request: AuthRequest,
): AuthnResult | Promise<AuthnResult> {
  if (span === undefined || !span.isRecording() || deps.tracing === undefined) {
    return deps.authenticator.authenticate(request);
  }
  return deps.tracing.tracer.startActiveSpan(SpanNames.authenticate, async (child) => {
    try {
      const result = await deps.authenticator.authenticate(request);
      child.setAttribute(AttributeNames.authnResult, result.kind);
      if (result.kind === 'identified') {
        child.setAttribute(AttributeNames.authnMethod, result.identity.method);
        span.setAttribute(AttributeNames.authnMethod, result.identity.method);
      } else if (result.kind === 'rejected') {
        child.setAttribute(AttributeNames.authnRejection, result.code);
      }
      return result;
    } catch (error: unknown) {
      markFailed(child, error);
      throw error;
    } finally {
      child.end();
    }
  });
}

/** Outcome, reason, policy and rule names: what a span may say about a decision. */
function decisionAttributes(decision: Decision): Record<string, string> {
  const attributes: Record<string, string> = {
    [AttributeNames.outcome]: decision.outcome,
    [AttributeNames.reason]: decision.reason,
  };
  if (decision.rule !== null) {
    attributes[AttributeNames.policy] =
      decision.rule.namespace === ''
        ? decision.rule.policy
        : `${decision.rule.namespace}/${decision.rule.policy}`;
    attributes[AttributeNames.rule] = decision.rule.rule;
  }
  return attributes;
}

async function check(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  dialect: Dialect,
  deps: CheckDependencies,
  proxyRequestId?: string,
  span?: Span,
): Promise<void> {
  const started = performance.now();
  const incoming = incomingCheckOf(req);

  let request: AuthRequest;
  try {
    request = dialect.parse(incoming, deps.proxyTrust, requestId);
  } catch (error: unknown) {
    if (error instanceof BadRequestError) {
      deps.metrics.malformedRequests.inc({ dialect: dialect.name });
      deps.metrics.decisions.inc({
        dialect: dialect.name,
        outcome: 'error',
        reason: Reasons.MalformedRequest,
      });
      deps.logger.info(
        { requestId, proxyRequestId, dialect: dialect.name, code: error.code },
        error.message,
      );
    }
    throw error;
  }

  const snapshot = deps.snapshot();
  if (snapshot === null) {
    throw new GatehouseError('not-ready', 503, 'no policy loaded yet', { expose: true });
  }

  let decision: Decision;
  let challenge: string | undefined;
  const guard = clientHeaderGuardFor(deps, snapshot);
  const forged = deps.rejectForgedIdentityHeaders
    ? guard.find(incoming.headers, request.clientIp)
    : null;
  if (forged !== null) {
    deps.metrics.forgedIdentityHeaders.inc({ dialect: dialect.name });
    decision = refusal('forbidden', Reasons.ForgedIdentityHeader);
  } else {
    // Awaited only when it is a promise: a guest's check, or one answered from a cache, then
    // runs start to finish in one turn of the event loop (issue #17).
    const pending = authenticateIn(span, deps, request);
    const authn = pending instanceof Promise ? await pending : pending;
    if (authn.kind === 'rejected') {
      deps.metrics.authentications.inc({ method: 'any', result: 'rejected' });
      challenge = authn.challenge;
      decision = refusal('unauthenticated', Reasons.InvalidCredentials);
    } else {
      const identity = authn.kind === 'identified' ? authn.identity : null;
      if (identity !== null) deps.metrics.countIdentified(identity.method);
      // decide() is pure and knows nothing of tracing; its span is opened here, at the edge.
      // A dialect with its own contract (oauth2-proxy's `/oauth2/auth`) judges around decide().
      const judge = (who: Identity | null): Decision => {
        const policy = (): Decision => decide(request, who, snapshot, decideOptionsOf(deps));
        return dialect.judge === undefined ? policy() : dialect.judge(request, who, policy);
      };
      decision = decideIn(span, deps, () => {
        const decided = judge(identity);
        // Sign-in per organisation: a session from a provider the rule does not allow is no
        // identity on these hosts (oidc/provider-restriction.ts).
        if (identity === null) return decided;
        return applyProviderRestriction(decided, () => judge(null));
      });
    }
  }

  // An anonymous 401 tells the client how to authenticate (RFC 9110 §11.4.1: a 401 MUST carry
  // a challenge): Bearer wherever bearer issuers are configured (RFC 6750 §3), Basic where the
  // policy offers it (RFC 7617 §2); both, as separate fields, when both apply (§11.6.1). A
  // rejected credential keeps the challenge that says why (`error="invalid_token"`).
  let challenges: readonly string[] | undefined;
  if (decision.reason === Reasons.StepUpRequired && decision.identity?.method === 'bearer') {
    // RFC 9470 §3: a valid token from too old or too weak a sign-in; the client asks its
    // authorization server for one that meets the rule.
    challenge = stepUpChallenge(decision.rule?.stepUp ?? {});
  }
  if (decision.outcome === 'unauthenticated' && challenge === undefined) {
    const basic = decision.rule?.basicAuth === true ? deps.basicChallenge : undefined;
    challenges = challengesOf(deps.bearerChallenge, basic);
  }

  const audited = isAuditOverride(decision);
  const answered: Decision = audited ? { ...decision, outcome: 'allow' } : decision;

  let identityHeaders: readonly Header[] = noHeaders;
  if (answered.outcome === 'allow') {
    const headers = upstreamHeadersFor(answered, request, deps);
    identityHeaders = headers instanceof Promise ? await headers : headers;
  }
  const response = dialect.respond(answered, request, {
    identityHeaders,
    identityHeaderNames: guard.removeNames,
    // Only a 401 carries it; building it costs an encodeURIComponent of the whole URL.
    signInUrl:
      answered.outcome === 'unauthenticated'
        ? withStepUp(
            signInUrlWithProvider(deps.signInUrl(request), answered.rule?.providers),
            // Step-up (issue #19): the link asks the provider for what the rule needs
            // (oidc/step-up.ts), for an anonymous caller too, so one sign-in suffices.
            answered.rule?.stepUp,
          )
        : '',
    ...(challenge === undefined ? {} : { challenge }),
    ...(challenges === undefined ? {} : { challenges }),
  });
  writeResponse(res, response, request, answered, deps);
  if (span !== undefined) {
    span.setAttributes({
      ...decisionAttributes(decision),
      [AttributeNames.host]: request.host,
      [AttributeNames.audit]: audited,
    });
  }

  // The would-be outcome and reason, so dashboards show what enforcing would do.
  deps.metrics.countDecision(dialect.name, decision.outcome, decision.reason);
  if (audited)
    deps.metrics.auditOverrides.inc({ outcome: decision.outcome, reason: decision.reason });
  deps.metrics.observeDecisionDuration(dialect.name, (performance.now() - started) / 1000);
  logDecision(deps, request, decision, forged, audited, proxyRequestId);
}

const decideOptionsCache = new WeakMap<CheckDependencies, DecideOptions>();

/**
 * The decide options with the check's injected clock, which judges a rule's
 * `authentication.maxAge` (authz/step-up.ts); built once per set of dependencies.
 */
function decideOptionsOf(deps: CheckDependencies): DecideOptions {
  if (deps.now === undefined) return deps.decideOptions;
  let options = decideOptionsCache.get(deps);
  if (options === undefined) {
    options = Object.freeze({ ...deps.decideOptions, now: deps.now });
    decideOptionsCache.set(deps, options);
  }
  return options;
}

const noChallenges: readonly string[] = Object.freeze([]);
const noHeaders: readonly Header[] = Object.freeze([]);
const challengeLists = new Map<string, readonly string[]>();

/** The (at most four) challenge lists, built once each rather than per 401. */
function challengesOf(bearer: string | undefined, basic: string | undefined): readonly string[] {
  if (bearer === undefined && basic === undefined) return noChallenges;
  const key = `${bearer ?? ''}\n${basic ?? ''}`;
  let list = challengeLists.get(key);
  if (list === undefined) {
    list = Object.freeze([bearer, basic].filter((value) => value !== undefined));
    if (challengeLists.size < 16) challengeLists.set(key, list);
  }
  return list;
}

function refusal(outcome: 'unauthenticated' | 'forbidden', reason: Decision['reason']): Decision {
  return { outcome, reason, rule: null, roles: ['guest'], identity: null };
}

function incomingCheckOf(req: IncomingMessage): IncomingCheck {
  // Node joins repeated request headers into one string, except `set-cookie`, which no client
  // sends to an auth endpoint: the common case reuses Node's object instead of copying it.
  const raw = req.headers;
  let headers: Readonly<Record<string, string | undefined>>;
  if (raw['set-cookie'] === undefined) {
    headers = raw as Readonly<Record<string, string | undefined>>;
  } else {
    const copy: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(raw)) {
      copy[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers = copy;
  }
  return {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    headers,
    remoteAddress: req.socket.remoteAddress ?? '',
  };
}

function writeResponse(
  res: ServerResponse,
  response: CheckResponse,
  request: AuthRequest,
  decision: Decision,
  deps: CheckDependencies,
): void {
  // One flat list handed to writeHead: Node then writes the fields as given, without building its
  // per-response header map through setHeader (issue #17: setHeader/appendHeader were ~5% of a
  // guest check's CPU). A name may repeat: a 401 may carry several `WWW-Authenticate` fields (RFC
  // 9110 §11.6.1). Node still validates every name and value.
  const headers: string[] = ['X-Request-ID', request.requestId];
  for (const [name, value] of response.headers) headers.push(name, value);
  let body = '';
  if (response.page === 'forbidden' && request.acceptsRedirect) {
    // Traefik, Caddy and Envoy hand a non-2xx body to the browser; nginx replaces it with its own.
    const theme = deps.pageTheme ?? defaultTheme;
    for (const [name, value] of theme.securityHeaders) headers.push(name, value);
    headers.push('Content-Type', 'text/html; charset=utf-8');
    // Whose session was refused, and a way to switch account: only a browser session can sign
    // out and in again; a bearer, Basic or pre-authenticated caller gets neither.
    const session = decision.identity?.method === 'session' ? decision.identity : null;
    const base = deps.signInBase;
    body = forbiddenPage({
      host: request.host,
      path: request.path.ok ? request.path.value : '',
      reason: decision.reason,
      requestId: request.requestId,
      contact: deps.forbiddenContact,
      signInOffers: signInOffersOf(decision, request, deps),
      theme,
      ...(base === undefined
        ? {}
        : {
            portalHref: `${base}/`,
            signOutHref: `${base}/sign_out?${new URLSearchParams({ rd: request.originalUrl }).toString()}`,
          }),
      ...(session === null
        ? {}
        : {
            signedInAs: {
              user: session.email ?? session.user,
              provider: deps.providerDisplayName?.(session.provider) ?? session.provider,
            },
          }),
    });
  } else if (response.status >= 400) {
    headers.push('Content-Type', 'text/plain; charset=utf-8');
    body = `${decision.reason}\n`;
  }
  headers.push('Content-Length', String(Buffer.byteLength(body)));
  res.writeHead(response.status, headers);
  res.end(body);
}

/**
 * For a session from a provider the host does not allow: one sign-in link per allowed provider,
 * each coming back to the denied address. Signing in there replaces the session.
 */
function signInOffersOf(
  decision: Decision,
  request: AuthRequest,
  deps: CheckDependencies,
): readonly SignInOffer[] | undefined {
  const allowed = decision.rule?.providers;
  if (decision.reason !== providerNotAllowed || allowed === undefined) return undefined;
  const signInUrl = deps.signInUrl(request);
  return allowed.map((provider) => ({
    displayName: deps.providerDisplayName?.(provider) ?? provider,
    href: withProvider(signInUrl, provider),
  }));
}

function logDecision(
  deps: CheckDependencies,
  request: AuthRequest,
  decision: Decision,
  forged: string | null,
  audited: boolean,
  proxyRequestId: string | undefined,
): void {
  const logger = deps.logger;
  // Allows are the hot path: build nothing for a debug line that is not written.
  if (decision.outcome === 'allow' && !audited && !logger.isLevelEnabled('debug')) return;
  const fields = {
    requestId: request.requestId,
    // The ingress's own id, from a trusted proxy only (http/request-id.ts), to join its logs.
    ...(proxyRequestId === undefined ? {} : { proxyRequestId }),
    dialect: request.dialect,
    outcome: decision.outcome,
    reason: decision.reason,
    method: request.method,
    host: request.host,
    path: request.path.ok ? request.path.value : null,
    client: request.clientIp,
    user: decision.identity?.user ?? null,
    policy: decision.rule === null ? null : `${decision.rule.namespace}/${decision.rule.policy}`,
    rule: decision.rule?.rule ?? null,
    ...(forged === null ? {} : { forgedHeader: forged }),
  };
  if (audited) {
    // At info like a denial, so the lines an operator reviews before switching to Enforce are
    // there at the default level; `audit: true` tells them apart from real denials.
    logger.info(
      { ...fields, audit: true, mode: 'Audit' },
      `audit mode: would have been ${decision.outcome}`,
    );
    return;
  }
  // Allows are the hot path and stay at debug. A denial is one line on the audit trail, which
  // carries everything an operator searches for (and no second, operational copy of it).
  if (decision.outcome === 'allow') {
    logger.debug(fields, 'allowed');
    return;
  }
  deps.audit.record({
    event: 'deny',
    requestId: fields.requestId,
    ...(proxyRequestId === undefined ? {} : { proxyRequestId }),
    outcome: decision.outcome,
    reason: fields.reason,
    dialect: fields.dialect,
    method: fields.method,
    host: fields.host,
    path: fields.path,
    client: fields.client,
    user: fields.user,
    provider: decision.identity?.provider ?? null,
    policy: fields.policy,
    rule: fields.rule,
    ...(forged === null ? {} : { forgedHeader: forged }),
  });
}
