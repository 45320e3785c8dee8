import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Logger } from 'pino';
import { identitySource, type Identity, type IdentitySource } from '../authz/identity.ts';
import { LruCache } from '../lru-cache.ts';
import { GatehouseError } from '../errors.ts';
import { signingAlgorithm, type CurrentSigningKey } from './signing-keys.ts';
import { definedFields } from '../defined-fields.ts';

/**
 * The signed identity assertion sent to upstreams as `X-Gatehouse-Assertion` (docs/architecture.md,
 * "Identity headers"): a short-lived ES256 JWT whose audience is the request host, so an
 * upstream can check who the user is without trusting the network path, and a token captured
 * at one host is refused by every other (RFC 8725 §3.9).
 */

/** The longest assertion lifetime: a captured header is replayable until `exp`. */
export const maxAssertionTtlSeconds = 60;

/** Assertions are re-signed at least this long before `exp`, so none arrives nearly expired. */
const minRefreshMarginSeconds = 5;

export interface AssertionInput {
  readonly identity: Identity;
  /** The decision's roles (including `guest` / `authenticated`), in the order they are sent. */
  readonly roles: readonly string[];
  /** The request host (AuthRequest.host, normalised): the assertion's audience. */
  readonly host: string;
  /**
   * The session id hash (never the ticket) for `sid`; defaults to `identity.sessionId`, so an
   * upstream can tie its own session to ours and end it on logout.
   */
  readonly sessionKey?: string | undefined;
  /** When an administrator impersonates `identity`: the real user's subject (RFC 8693 §4.1 `act`). */
  readonly actor?: string | undefined;
}

/** The claims of an assertion, as an upstream reads them. */
export interface AssertionClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  /**
   * The user name gatehouse sends as `Remote-User` / `X-Auth-Request-User` (the provider's
   * mapped user-name claim), so an upstream that verifies the assertion can recover it: `sub` is
   * the provider's opaque subject. Named after OpenID Connect Core §5.1 `preferred_username`.
   */
  readonly preferred_username: string;
  /** `provider/<name>`, `issuer/<name>`, `preauth`, `basic` or `impersonation`. */
  readonly gatehouse_source: IdentitySource;
  readonly email?: string;
  readonly name?: string;
  /** The identity's organisation (a provider's `claims.organisation`, or `preauth-org`). */
  readonly org?: string;
  /**
   * For a pre-authenticated identity: the front's `preauth-provider` and `preauth-provider-id`
   * (the external provider that authenticated the user and its id there; geOrchestra keeps them
   * as `GeorchestraUser.oAuth2Provider` / `oAuth2Uid`).
   */
  readonly gatehouse_preauth_provider?: string;
  readonly gatehouse_preauth_provider_id?: string;
  readonly groups: readonly string[];
  readonly roles: readonly string[];
  readonly sid?: string;
  readonly act?: { readonly sub: string };
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

export interface AssertionSignerOptions {
  readonly keys: CurrentSigningKey;
  /** gatehouse's public URL, the `iss` claim upstreams pin. */
  readonly issuer: string;
  /** Lifetime in whole seconds, 1..60; default 60. */
  readonly ttlSeconds?: number;
  /** Upper bound on cached assertions (one per session × host); default 10 000. */
  readonly maxCachedAssertions?: number;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  /** The `jti` of each new assertion; random by default. */
  readonly randomId?: () => string;
  readonly logger?: Logger | undefined;
}

/** jose failed to sign: the request is refused (fail closed), never sent without an assertion. */
export class AssertionSigningError extends GatehouseError {
  constructor(options: { cause: unknown }) {
    super('assertion-signing-failed', 500, 'could not sign the identity assertion', {
      cause: options.cause,
      expose: false,
    });
  }
}

/**
 * Signs assertions and caches them per (identity, session, host, actor, roles, key) until
 * shortly before they expire, so the hot path signs once per user and host every
 * `ttl - refreshMargin` seconds rather than on every request.
 */
export class AssertionSigner {
  readonly #keys: CurrentSigningKey;
  readonly #issuer: string;
  readonly #ttlSeconds: number;
  readonly #refreshMarginSeconds: number;
  readonly #now: () => number;
  readonly #randomId: () => string;
  readonly #logger: Logger | undefined;
  readonly #cache: LruCache<string, string>;
  /** One signing per cache key at a time: concurrent first requests share it. */
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(options: AssertionSignerOptions) {
    const ttl = options.ttlSeconds ?? maxAssertionTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > maxAssertionTtlSeconds) {
      throw new RangeError(
        `identity assertion TTL must be a whole number of seconds from 1 to ${maxAssertionTtlSeconds}; got ${ttl}`,
      );
    }
    this.#keys = options.keys;
    this.#issuer = options.issuer;
    this.#ttlSeconds = ttl;
    this.#refreshMarginSeconds = Math.max(Math.floor(ttl / 4), minRefreshMarginSeconds);
    this.#now = options.now ?? Date.now;
    this.#randomId = options.randomId ?? randomUUID;
    this.#logger = options.logger;
    this.#cache = new LruCache({
      maxEntries: options.maxCachedAssertions ?? 10_000,
      now: this.#now,
    });
  }

  /** Seconds before `exp` from which a cached assertion is no longer handed out. */
  get refreshMarginSeconds(): number {
    return this.#refreshMarginSeconds;
  }

  /** The cached assertion for `input`, without a promise; undefined when one must be signed. */
  cachedAssertion(input: AssertionInput): string | undefined {
    return this.#cache.get(this.#cacheKey(input));
  }

  /** The assertion for `input`: cached, or signed now. Throws only `AssertionSigningError`. */
  assertionFor(input: AssertionInput): Promise<string> {
    const key = this.#cacheKey(input);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return Promise.resolve(cached);
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    const signing = this.#sign(input, key).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, signing);
    return signing;
  }

  /**
   * Everything the token carries except the times and `jti`, plus the key id: equal keys mean an
   * equivalent token, so a changed group or email is never served from a stale assertion, and a
   * rotated key is used at once.
   */
  #cacheKey(input: AssertionInput): string {
    const { identity } = input;
    return JSON.stringify([
      this.#keys.current.kid,
      identity.provider,
      identity.method,
      identity.subject,
      identity.user,
      input.sessionKey ?? identity.sessionId ?? '',
      input.host,
      input.actor ?? '',
      input.roles,
      identity.email ?? null,
      identity.name ?? null,
      identity.groups,
      identity.expiresAt ?? null,
      identity.organisation ?? null,
      preauthProviderOf(identity),
    ]);
  }

  async #sign(input: AssertionInput, cacheKey: string): Promise<string> {
    const { identity } = input;
    const key = this.#keys.current;
    const iat = Math.floor(this.#now() / 1000);
    // Never vouch for an identity longer than it may be trusted (e.g. a bearer token's `exp`).
    const exp =
      identity.expiresAt === undefined
        ? iat + this.#ttlSeconds
        : Math.min(iat + this.#ttlSeconds, identity.expiresAt);
    const sid = input.sessionKey ?? identity.sessionId;
    const claims: Record<string, unknown> = {
      sub: identity.subject,
      preferred_username: identity.user,
      gatehouse_source: identitySource(identity),
      ...definedFields({ email: identity.email, name: identity.name, org: identity.organisation }),
      ...preauthProviderClaims(identity),
      groups: [...identity.groups],
      roles: [...input.roles],
      ...definedFields({ sid }),
      ...(input.actor === undefined ? {} : { act: { sub: input.actor } }),
    };
    let token: string;
    try {
      token = await new SignJWT(claims)
        .setProtectedHeader({ alg: signingAlgorithm, kid: key.kid, typ: 'JWT' })
        .setIssuer(this.#issuer)
        .setAudience(input.host)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(this.#randomId())
        .sign(key.privateKey);
    } catch (error) {
      this.#logger?.error(
        { err: error, kid: key.kid, host: input.host },
        'identity assertion signing failed',
      );
      throw new AssertionSigningError({ cause: error });
    }
    this.#cache.set(cacheKey, token, (exp - this.#refreshMarginSeconds) * 1000);
    return token;
  }
}

/** The claims trusted-headers.ts stores `preauth-provider` / `preauth-provider-id` under. */
function preauthProviderClaims(identity: Identity): Record<string, string> {
  if (identity.method !== 'header') return {};
  const provider = identity.claims['preauth-provider'];
  const providerId = identity.claims['preauth-provider-id'];
  return {
    ...(typeof provider === 'string' ? { gatehouse_preauth_provider: provider } : {}),
    ...(typeof providerId === 'string' ? { gatehouse_preauth_provider_id: providerId } : {}),
  };
}

function preauthProviderOf(identity: Identity): string | null {
  const claims = preauthProviderClaims(identity);
  return Object.keys(claims).length === 0 ? null : JSON.stringify(claims);
}
