/**
 * Typed errors every layer may throw, modelled on oidc-provider's: a stable `code`, the HTTP
 * `status`, and `expose` saying whether the message may be shown to the client. The check edge
 * (http/check-route.ts) and the Koa app answer them through one mapping (http/error-response.ts);
 * anything else becomes an opaque 500, never a 2xx.
 *
 * The codes are part of the public interface (the JSON error body and the `code` log field) and
 * are spelled like the decision reasons of authz/reasons.ts: `malformed-request` is both the
 * reason a malformed check is counted under and the code of the error that refused it.
 */
import { Reasons } from './authz/reasons.ts';

export type ErrorCode =
  | typeof Reasons.MalformedRequest
  | 'invalid-request'
  | 'not-ready'
  | 'payload-too-large'
  | 'dependency-unavailable'
  | 'assertion-signing-failed'
  | 'internal-error';

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;

  constructor(
    code: ErrorCode,
    status: number,
    message: string,
    options?: { cause?: unknown; expose?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.expose = options?.expose ?? status < 500;
  }
}

/** The proxy's check cannot be tied to the request it routed: 400, never a guess. */
export class BadRequestError extends GatehouseError {
  constructor(message: string) {
    super(Reasons.MalformedRequest, 400, message);
  }
}

/** A dependency (Redis, JWKS, identity provider) failed; the request is refused, never allowed. */
export class DependencyError extends GatehouseError {
  readonly dependency: string;
  constructor(dependency: string, message: string, options?: { cause?: unknown }) {
    super('dependency-unavailable', 503, message, { ...options, expose: false });
    this.dependency = dependency;
  }
}
