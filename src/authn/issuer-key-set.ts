import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from 'jose';
import type { Logger } from 'pino';
import { DependencyError } from '../errors.ts';
import { discoverJwksUri } from './jwks-discovery.ts';

export interface IssuerKeySetOptions {
  /** Configured issuer name, for logs and error messages. */
  readonly name: string;
  /** The exact `iss` value, also the base of discovery. */
  readonly issuer: string;
  /** Explicit JWKS URL; when omitted it is discovered from the issuer. */
  readonly jwksUri?: string | undefined;
  readonly fetch: typeof fetch;
  /** Epoch milliseconds; drives the failure memory. */
  readonly now: () => number;
  /** Abort a discovery or JWKS request after this long. */
  readonly timeoutMs: number;
  /** jose `cooldownDuration`: after a successful fetch, an unknown `kid` refetches only after this. */
  readonly refetchCooldownMs: number;
  /** jose `cacheMaxAge`: keys are refetched once they are this old. */
  readonly cacheMaxAgeMs: number;
  /** After a failed discovery or JWKS fetch, fail at once for this long instead of retrying. */
  readonly failureCooldownMs: number;
  readonly logger?: Logger | undefined;
}

/**
 * The verification keys of one issuer, fetched through jose's remote JWKS resolver.
 *
 * jose already deduplicates concurrent fetches, refetches at most once per cooldown for an
 * unknown `kid` and caches keys. What it does not do is remember a failure: with the endpoint
 * down, every request would wait for its own timeout. This class keeps the last failure for
 * `failureCooldownMs` and throws it again straight away (fail closed and fast), so a burst of
 * requests during an outage costs nothing; after the cooldown one request probes again.
 * Keys already cached keep verifying during an outage, because only fetches are gated.
 */
export class IssuerKeySet {
  readonly #options: IssuerKeySetOptions;
  #remote: RemoteJWKSet | undefined;
  #discovering: Promise<RemoteJWKSet> | undefined;
  #failure: { readonly until: number; readonly error: DependencyError } | undefined;

  constructor(options: IssuerKeySetOptions) {
    this.#options = options;
    if (options.jwksUri !== undefined) this.#remote = this.#createRemote(new URL(options.jwksUri));
  }

  /**
   * Key resolver for `jwtVerify`. Throws jose's `JWKSNoMatchingKey` / `JWKSMultipleMatchingKeys`
   * when the token's key is not (unambiguously) in the set, and `DependencyError` when the keys
   * cannot be obtained.
   */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const remote = await this.#remoteSet();
    try {
      // A success here may come from cached keys and proves nothing about the endpoint, so it
      // does not clear a remembered failure; the cooldown alone decides when to probe again.
      return await remote(header, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof DependencyError
      ) {
        throw error;
      }
      throw this.#fail('JWKS', error);
    }
  };

  async #remoteSet(): Promise<RemoteJWKSet> {
    if (this.#remote !== undefined) return this.#remote;
    this.#throwIfFailedRecently();
    this.#discovering ??= discoverJwksUri({
      issuer: this.#options.issuer,
      fetch: this.#options.fetch,
      timeoutMs: this.#options.timeoutMs,
    })
      .then((jwksUri) => (this.#remote = this.#createRemote(jwksUri)))
      .finally(() => {
        this.#discovering = undefined;
      });
    try {
      return await this.#discovering;
    } catch (error) {
      if (error instanceof DependencyError) throw error;
      throw this.#fail('discovery', error);
    }
  }

  #createRemote(jwksUri: URL): RemoteJWKSet {
    const fetchImpl = this.#options.fetch;
    return createRemoteJWKSet(jwksUri, {
      timeoutDuration: this.#options.timeoutMs,
      cooldownDuration: this.#options.refetchCooldownMs,
      cacheMaxAge: this.#options.cacheMaxAgeMs,
      [customFetch]: (url, init) => {
        this.#throwIfFailedRecently();
        return fetchImpl(url, init);
      },
    });
  }

  #throwIfFailedRecently(): void {
    const failure = this.#failure;
    if (failure === undefined) return;
    if (this.#options.now() < failure.until) throw failure.error;
    this.#failure = undefined;
  }

  /** Remembers a failure for the cooldown and returns the error to throw. */
  #fail(what: 'JWKS' | 'discovery', cause: unknown): DependencyError {
    // Concurrent requests share one fetch and so one failure: record and log it once.
    if (this.#failure !== undefined && this.#failure.error.cause === cause)
      return this.#failure.error;
    const detail = cause instanceof Error ? cause.message : String(cause);
    const error = new DependencyError(
      'jwks',
      `${what} for issuer ${this.#options.name} unavailable: ${detail}`,
      { cause },
    );
    this.#failure = { until: this.#options.now() + this.#options.failureCooldownMs, error };
    this.#options.logger?.warn(
      { issuer: this.#options.name, err: detail, retryInMs: this.#options.failureCooldownMs },
      `${what} fetch failed; failing fast until the retry`,
    );
    return error;
  }
}
