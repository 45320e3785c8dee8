import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DependencyError, GatehouseError } from '../errors.ts';

/**
 * An outage fails every request that needs the dependency; one warning per dependency per
 * interval (with the count of the others) tells the operator as much as thousands of stack traces.
 */
const dependencyLogIntervalMs = 5000;
const dependencyLogState = new Map<string, { last: number; suppressed: number }>();

function logDependencyFailure(error: DependencyError, requestId: string, logger: Logger): void {
  const now = Date.now();
  const state = dependencyLogState.get(error.dependency) ?? { last: 0, suppressed: 0 };
  if (now - state.last < dependencyLogIntervalMs) {
    state.suppressed += 1;
    dependencyLogState.set(error.dependency, state);
    return;
  }
  logger.warn(
    {
      requestId,
      code: error.code,
      status: error.status,
      dependency: error.dependency,
      detail: error.message,
      similarSuppressed: state.suppressed,
    },
    `${error.dependency} unavailable: requests that need it are refused (503) until it answers again`,
  );
  dependencyLogState.set(error.dependency, { last: now, suppressed: 0 });
}

/** What a failed request is answered with; never a 2xx (docs/architecture.md security invariant 1). */
export interface ErrorResponse {
  readonly status: number;
  readonly code: string;
  /** Shown to the client: the typed error's message when `expose`, a generic text otherwise. */
  readonly message: string;
}

/**
 * The one mapping from errors to responses, shared by the Koa error handler and the check
 * endpoints. A typed error keeps its status and, when `expose`, its message; anything else is an
 * opaque 500 with the request id, so an operator can find the log line and a client learns
 * nothing about the internals. Logs the error once, with the request id.
 */
export function errorResponseOf(error: unknown, requestId: string, logger: Logger): ErrorResponse {
  const typed = error instanceof GatehouseError ? error : null;
  const status = typed !== null && typed.status >= 400 ? typed.status : 500;
  const code = typed?.code ?? 'internal-error';
  const message =
    typed?.expose === true ? typed.message : status >= 500 ? 'internal error' : 'request refused';
  const logFields = { requestId, code, status, err: error };
  if (error instanceof DependencyError) {
    logDependencyFailure(error, requestId, logger);
  } else if (status >= 500) {
    logger.error(logFields, typed?.message ?? 'unexpected error while handling a request');
  } else {
    logger.info(logFields, typed?.message ?? 'request refused');
  }
  return { status, code, message };
}

/**
 * Answers a failed check on a raw response: every header a handler set before failing (identity
 * headers above all) is dropped first, so a failed check can never carry an identity upstream.
 */
export function writeErrorResponse(
  res: ServerResponse,
  error: unknown,
  requestId: string,
  logger: Logger,
): void {
  const { status, code, message } = errorResponseOf(error, requestId, logger);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = JSON.stringify({ error: code, message, requestId });
  res.writeHead(status, {
    'X-Request-ID': requestId,
    'Cache-Control': 'no-store',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
