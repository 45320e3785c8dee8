import type { AuthRequest, DialectName } from '../authz/auth-request.ts';
import type { Decision } from '../authz/decision.ts';
import type { Identity } from '../authz/identity.ts';
import { BadRequestError } from '../errors.ts';
import type { ProxyTrust } from './proxy-trust.ts';

/**
 * One check request as the Koa layer received it, stripped of Koa: the adapters are pure
 * functions over plain objects so that the transport stays at the edge and tests need no server.
 */
export interface IncomingCheck {
  /** Method of the request to gatehouse (Envoy keeps the original method; nginx/Traefik send GET). */
  readonly method: string;
  /** Request target on gatehouse, e.g. `/authz/ext-authz/admin?x=1`. */
  readonly target: string;
  /** Lower-case header names; repeated headers joined with `, ` (Node's `IncomingMessage.headers`). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Socket peer address, as Node reports it (IPv4 peers of a dual-stack socket look like `::ffff:10.0.0.1`). */
  readonly remoteAddress: string;
}

export type ResponsePage = 'forbidden' | 'unauthenticated' | 'bad-request';

/** What the proxy must receive: the Koa layer copies it verbatim and renders `page` as the body. */
export interface CheckResponse {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly page?: ResponsePage;
}

export interface RespondInputs {
  /** Identity headers rendered by `identity/` for the chosen profile; sent on allow only. */
  readonly identityHeaders: readonly (readonly [string, string])[];
  /**
   * Every header name gatehouse sets upstream or that only a trusted front may send (Envoy's
   * `x-envoy-auth-headers-to-remove`); the same array for a whole policy snapshot, so adapters
   * may cache by its identity.
   */
  readonly identityHeaderNames: readonly string[];
  /** Absolute URL of `/oauth2/start?rd=<original URL>`. */
  readonly signInUrl: string;
  /** `WWW-Authenticate` value, when a credential was presented and rejected (RFC 6750 §3). */
  readonly challenge?: string;
  /**
   * `WWW-Authenticate` values of an anonymous 401, one field each (RFC 9110 §11.6.1 allows
   * several challenges): the schemes the client may use (Bearer, Basic).
   */
  readonly challenges?: readonly string[];
}

export interface Dialect {
  readonly name: DialectName;
  /** Translates the proxy's check request; throws `BadRequestError` (`malformed-request`) on bad input. */
  parse(check: IncomingCheck, trust: ProxyTrust, requestId: string): AuthRequest;
  /** Translates a decision into the status and headers this proxy understands. */
  respond(decision: Decision, request: AuthRequest, inputs: RespondInputs): CheckResponse;
  /**
   * For an endpoint whose contract is not gatehouse's policy alone (oauth2-proxy's `/oauth2/auth`
   * judges the credential and the auth URL's `allowed_*` lists, and the policy only when the
   * routed host is known): decides in place of decide(). `policy` runs decide() for this request
   * and identity. Absent: the decision is decide()'s.
   */
  readonly judge?: (
    request: AuthRequest,
    identity: Identity | null,
    policy: () => Decision,
  ) => Decision;
}

/** The single error every adapter throws for input it cannot understand: a 400, never a guess. */
export function malformedRequest(message: string): BadRequestError {
  return new BadRequestError(message);
}
