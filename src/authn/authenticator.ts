import type { AuthRequest } from '../authz/auth-request.ts';
import type { TrustedSenderHeaders } from '../identity/forged-headers.ts';
import type { Identity } from '../authz/identity.ts';

/**
 * What one authenticator concluded about a request.
 * - `absent`: the request carries no credential this authenticator understands; try the next one.
 * - `identified`: the credential is valid.
 * - `rejected`: a credential was presented and is invalid; the request is unauthenticated and the
 *   caller learns why through `challenge` (RFC 6750 §3 / RFC 7235 `WWW-Authenticate`).
 * Dependency failures (JWKS or Redis unreachable) are thrown as `DependencyError`, never returned
 * as `absent`, so that an outage can never be mistaken for an anonymous request (fail closed).
 */
export type AuthnResult =
  | { readonly kind: 'absent' }
  | { readonly kind: 'identified'; readonly identity: Identity }
  | {
      readonly kind: 'rejected';
      /** Short machine code for logs and metrics, e.g. `expired`, `bad-signature`, `revoked`. */
      readonly code: string;
      /** Value for `WWW-Authenticate`, if this credential type has a challenge. */
      readonly challenge?: string;
    };

export interface Authenticator {
  /** Label used in logs and metrics: `bearer`, `session`, `header`, `basic`. */
  readonly name: string;
  /**
   * Credential headers only some clients may send (pre-authentication by an SSO front): the
   * check route refuses them from anyone else and has Envoy remove them before the upstream.
   */
  readonly trustedSenderHeaders?: readonly TrustedSenderHeaders[];
  /**
   * A result known at once (no credential of this kind, a cached verdict) is returned as it is,
   * not wrapped in a promise: every check runs the whole chain, and each await of an already
   * settled promise is a trip through the microtask queue (issue #17).
   */
  authenticate(request: AuthRequest): AuthnResult | Promise<AuthnResult>;
}

const absent: AuthnResult = Object.freeze({ kind: 'absent' });

/**
 * Runs authenticators in order; the first one that finds its credential decides. A rejected
 * credential is not retried with the next authenticator: a bad bearer token next to a good
 * cookie is still a bad request.
 */
export class AuthenticatorChain implements Authenticator {
  readonly name = 'chain';
  readonly #authenticators: readonly Authenticator[];
  readonly trustedSenderHeaders: readonly TrustedSenderHeaders[];

  constructor(authenticators: readonly Authenticator[]) {
    this.#authenticators = authenticators;
    this.trustedSenderHeaders = Object.freeze(
      authenticators.flatMap((authenticator) => authenticator.trustedSenderHeaders ?? []),
    );
  }

  authenticate(request: AuthRequest): AuthnResult | Promise<AuthnResult> {
    return this.#from(0, request);
  }

  /** The chain from authenticator `index` on, synchronous until one answers with a promise. */
  #from(index: number, request: AuthRequest): AuthnResult | Promise<AuthnResult> {
    const authenticators = this.#authenticators;
    for (let at = index; at < authenticators.length; at++) {
      const result = authenticators[at]?.authenticate(request);
      if (result === undefined) continue;
      if (result instanceof Promise) return this.#settle(result, at, request);
      if (result.kind !== 'absent') return result;
    }
    return absent;
  }

  async #settle(
    pending: Promise<AuthnResult>,
    index: number,
    request: AuthRequest,
  ): Promise<AuthnResult> {
    const result = await pending;
    return result.kind === 'absent' ? this.#from(index + 1, request) : result;
  }
}
