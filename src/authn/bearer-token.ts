import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import type { AuthRequest } from '../authz/auth-request.ts';
import { DependencyError } from '../errors.ts';
import type { Authenticator, AuthnResult } from './authenticator.ts';
import { parseBearerAuthorization } from './bearer-credentials.ts';
import { type ClaimNames, identityFromClaims, readClaim } from './claim-mapping.ts';
import { authenticationFactsOf, type AuthenticationFacts } from '../authz/step-up.ts';

/**
 * Claim names of an issuer (or of the sign-in provider with the same issuer URL), with the
 * claim of the organisation (`claims.organisation`; empty or undefined: none), which
 * `Organisation` role-mapping subjects match.
 */
type IssuerClaimNames = ClaimNames & { readonly organisation?: string | undefined };
import type { Identity } from '../authz/identity.ts';
import { IssuerKeySet } from './issuer-key-set.ts';
import { LruCache } from '../lru-cache.ts';
import { tokenRevocationKey } from '../sessions/token-revocations.ts';
import {
  bearerChallenge,
  rejectionForJoseError,
  type TokenRejection,
  TokenRejections,
} from './token-rejection.ts';

/** One trusted token issuer, as the configuration describes it. */
export interface BearerIssuer {
  /** Configured name; becomes `Identity.provider`. */
  readonly name: string;
  /** Exact `iss` value the tokens carry. */
  readonly issuer: string;
  /** A token must name at least one of these in `aud` (RFC 7519 §4.1.3). */
  readonly audiences: readonly string[];
  /** Explicit JWKS URL; omitted = OpenID Connect Discovery from `issuer`. */
  readonly jwksUri?: string | undefined;
  /** Explicit list of asymmetric JWS algorithms, e.g. `['RS256', 'ES256']`. */
  readonly algorithms: readonly string[];
  /** Tolerance for `exp` / `nbf` against our clock, in seconds. */
  readonly clockSkewSeconds: number;
  readonly claims: IssuerClaimNames;
  /**
   * Keep e-mail addresses without `email_verified: true` (OpenID Connect Core §5.1); default
   * false. Machine-token issuers rarely send the claim: turning this on lets whoever can put an
   * address into a token of this issuer hold the roles mapped to that address and its domain.
   */
  readonly allowUnverifiedEmail?: boolean | undefined;
}

/** A sign-in provider, as far as bearer tokens from the same issuer need it. */
export interface BearerProviderMapping {
  readonly name: string;
  readonly issuer: string;
  readonly claims: IssuerClaimNames;
}

export interface BearerTokenAuthenticatorOptions {
  readonly issuers: readonly BearerIssuer[];
  readonly cache: { readonly enabled: boolean; readonly maxEntries: number };
  /**
   * The sign-in providers (`providers[]`). A bearer issuer whose issuer URL is also a provider's
   * maps claims as the provider does (`providers[].claims`), so one person has one name: a Dex
   * user is `alice` (preferred_username) through a browser session and through a token alike,
   * instead of `alice` and an opaque `sub`. Omitted or empty: each issuer's own mapping.
   */
  readonly providers?: readonly BearerProviderMapping[] | undefined;
  readonly fetch?: typeof fetch;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  /** Timeout of one discovery or JWKS request (default 2000 ms). */
  readonly jwksTimeoutMs?: number;
  /**
   * jose `cooldownDuration`: minimum time after a successful JWKS fetch before a token with an
   * unknown `kid` may trigger another one (default 30 s). Bounds the fetches an attacker can
   * cause with made-up `kid`s, and is how soon a rotated-in key is picked up.
   */
  readonly jwksCooldownMs?: number;
  /** jose `cacheMaxAge`: JWKS older than this is refetched (default 10 min). */
  readonly jwksCacheMaxAgeMs?: number;
  /** After a failed discovery or JWKS fetch, fail at once for this long (default 5 s). */
  readonly jwksFailureCooldownMs?: number;
  readonly logger?: Logger;
  /**
   * The tokens revoked by `jti` (sessions/revoked-token-set.ts, issue #20), asked for every
   * token, cached or not, after its signature is verified. Omitted: no revocation list.
   */
  readonly revokedTokens?: RevokedTokenCheck | undefined;
}

/** The one question the authenticator asks the revocation list; must not do I/O. */
export interface RevokedTokenCheck {
  /** `key` is `tokenRevocationKey(issuer name, jti)`; throws `DependencyError` if unknowable. */
  isRevoked(key: string): boolean;
}

/**
 * Stable code and `WWW-Authenticate` value for a revoked token: RFC 6750 §3.1 `invalid_token`
 * ("revoked, malformed, or invalid for other reasons"), with a fixed description.
 */
export const REVOKED_TOKEN = 'revoked';
export const revokedTokenChallenge =
  'Bearer error="invalid_token", error_description="The access token has been revoked"';

/** A verified token as the cache keeps it: the identity, and where the revocation list has it. */
interface VerifiedToken {
  readonly identity: Identity;
  /** `tokenRevocationKey(issuer name, jti)`, built once; undefined for a token without `jti`. */
  readonly revocationKey: string | undefined;
}

/**
 * Only asymmetric signatures. A shared-secret algorithm (HS*) would let anyone holding the
 * issuer's *public* key mint tokens if the key were ever used as an HMAC secret (algorithm
 * confusion, CVE-2015-9235 / CVE-2016-10555), and `none` is no signature at all; RFC 8725 §3.1
 * asks for an explicit list of what each issuer uses.
 */
export const bearerAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** `Ed25519` is jose's name for EdDSA over that curve; accepted where configured as such. */
const asymmetricAlgorithms: ReadonlySet<string> = new Set([...bearerAlgorithms, 'Ed25519']);

/** Claims without which a token cannot identify anyone or be bounded in time (RFC 9068 §2.2). */
const requiredClaims = ['exp', 'iss', 'aud', 'sub'];

interface ConfiguredIssuer {
  readonly config: BearerIssuer;
  readonly keys: IssuerKeySet;
  /** The issuer's claims, or those of the sign-in provider with the same issuer URL. */
  readonly claims: IssuerClaimNames;
}

/**
 * Issuer URLs compared as OpenID Connect Discovery §4.3 compares them (exactly), except for a
 * trailing slash, which operators write in one setting and not the other.
 */
function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

export class BearerTokenAuthenticator implements Authenticator {
  readonly name = 'bearer';
  readonly #issuers: ReadonlyMap<string, ConfiguredIssuer>;
  readonly #cache: LruCache<string, VerifiedToken> | undefined;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #revoked: RevokedTokenCheck | undefined;

  constructor(options: BearerTokenAuthenticatorOptions) {
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#revoked = options.revokedTokens;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    const issuers = new Map<string, ConfiguredIssuer>();
    for (const config of options.issuers) {
      validateIssuer(config);
      if (issuers.has(config.issuer)) {
        throw new Error(`bearer issuer ${config.issuer} is configured twice`);
      }
      const provider = options.providers?.find((each) => sameIssuer(each.issuer, config.issuer));
      issuers.set(config.issuer, {
        config,
        claims: provider?.claims ?? config.claims,
        keys: new IssuerKeySet({
          name: config.name,
          issuer: config.issuer,
          jwksUri: config.jwksUri,
          fetch: fetchImpl,
          now: this.#now,
          timeoutMs: options.jwksTimeoutMs ?? 2000,
          refetchCooldownMs: options.jwksCooldownMs ?? 30_000,
          cacheMaxAgeMs: options.jwksCacheMaxAgeMs ?? 600_000,
          failureCooldownMs: options.jwksFailureCooldownMs ?? 5000,
          logger: options.logger,
        }),
      });
    }
    this.#issuers = issuers;
    this.#cache = options.cache.enabled
      ? new LruCache({ maxEntries: options.cache.maxEntries, now: this.#now })
      : undefined;
  }

  authenticate(request: AuthRequest): AuthnResult | Promise<AuthnResult> {
    const credential = parseBearerAuthorization(request.credentials.authorization);
    if (credential.kind === 'absent') return credential;
    if (credential.kind === 'malformed') return this.#reject(TokenRejections.Malformed);

    // Keyed by a digest so the cache never holds bearer tokens themselves.
    const cacheKey = createHash('sha256').update(credential.token).digest('base64url');
    const cached = this.#cache?.get(cacheKey);
    if (cached !== undefined) {
      // A token revoked after it was cached is refused from the next request on: the list is
      // asked on every hit (one map lookup), the cache entry is not trusted to know.
      if (this.#isRevoked(cached)) return this.#rejectRevoked(cached.identity.provider);
      return { kind: 'identified', identity: cached.identity };
    }
    return this.#verifyAndCache(credential.token, cacheKey);
  }

  /** A token not in the cache: verified (JWKS may be fetched), then cached until its `exp`. */
  async #verifyAndCache(token: string, cacheKey: string): Promise<AuthnResult> {
    const outcome = await this.#verify(token);
    if (outcome.kind !== 'verified') return outcome;
    const { verified } = outcome;
    if (this.#isRevoked(verified)) return this.#rejectRevoked(verified.identity.provider);
    if (verified.identity.expiresAt !== undefined) {
      // Served until `exp` and never beyond, whatever the clock skew allowed at verification.
      this.#cache?.set(cacheKey, verified, verified.identity.expiresAt * 1000);
    }
    return { kind: 'identified', identity: verified.identity };
  }

  #isRevoked(token: VerifiedToken): boolean {
    return (
      token.revocationKey !== undefined &&
      this.#revoked !== undefined &&
      this.#revoked.isRevoked(token.revocationKey)
    );
  }

  #rejectRevoked(issuer: string | undefined): AuthnResult {
    this.#logger?.debug(
      { authenticator: 'bearer', code: REVOKED_TOKEN, issuer },
      'bearer token rejected',
    );
    return { kind: 'rejected', code: REVOKED_TOKEN, challenge: revokedTokenChallenge };
  }

  async #verify(
    token: string,
  ): Promise<AuthnResult | { readonly kind: 'verified'; readonly verified: VerifiedToken }> {
    // Unverified decoding only to choose the issuer and refuse bad algorithms before any key
    // lookup (RFC 8725 §3.1, §3.8); nothing decoded here is trusted until jwtVerify succeeds.
    let alg: unknown;
    let iss: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      return this.#reject(TokenRejections.Malformed);
    }
    if (typeof iss !== 'string') return this.#reject(TokenRejections.MissingClaim);
    const issuer = this.#issuers.get(iss);
    if (issuer === undefined) return this.#reject(TokenRejections.UnknownIssuer);
    const { config } = issuer;
    if (typeof alg !== 'string' || !config.algorithms.includes(alg)) {
      return this.#reject(TokenRejections.AlgorithmNotAllowed, config.name);
    }

    let payload: Readonly<Record<string, unknown>>;
    try {
      ({ payload } = await jwtVerify(token, issuer.keys.getKey, {
        issuer: config.issuer,
        audience: [...config.audiences],
        algorithms: [...config.algorithms],
        clockTolerance: config.clockSkewSeconds,
        requiredClaims,
        currentDate: new Date(this.#now()),
      }));
    } catch (error) {
      if (error instanceof DependencyError) throw error;
      const code = rejectionForJoseError(error);
      if (code === undefined) throw error;
      return this.#reject(code, config.name);
    }

    const { sub, exp, aud, jti } = payload;
    if (typeof sub !== 'string' || sub === '') {
      return this.#reject(TokenRejections.MissingClaim, config.name);
    }
    // RFC 7519 §4.1.3: one string or an array of strings; jwtVerify matched one of the issuer's.
    // Kept on the identity so a policy can narrow them per host (authz/decide.ts).
    const audiences = Object.freeze(
      (Array.isArray(aud) ? (aud as unknown[]) : [aud]).filter(
        (value): value is string => typeof value === 'string',
      ),
    );
    const identity = identityFromClaims({
      claims: payload,
      subject: sub,
      names: issuer.claims,
      provider: config.name,
      method: 'bearer',
      allowUnverifiedEmail: config.allowUnverifiedEmail,
      // jwtVerify checked `exp` is present and numeric.
      ...(typeof exp === 'number' ? { expiresAt: exp } : {}),
    });
    const organisationClaim = issuer.claims.organisation;
    const organisation =
      organisationClaim === undefined || organisationClaim === ''
        ? undefined
        : readClaim(payload, organisationClaim);
    return {
      kind: 'verified',
      verified: {
        identity: Object.freeze({
          ...identity,
          ...(typeof organisation === 'string' && organisation !== '' ? { organisation } : {}),
          audiences,
          // RFC 9470 §1: `auth_time`, `acr` and `amr` in an access token say how the user signed
          // in; a rule's step-up requirement reads them (authz/step-up.ts).
          ...definedAuthentication(payload),
        }),
        revocationKey:
          typeof jti === 'string' && jti !== '' ? tokenRevocationKey(config.name, jti) : undefined,
      },
    };
  }

  #reject(code: TokenRejection, issuer?: string): AuthnResult {
    this.#logger?.debug({ authenticator: 'bearer', code, issuer }, 'bearer token rejected');
    return { kind: 'rejected', code, challenge: bearerChallenge(code) };
  }
}

function definedAuthentication(payload: Readonly<Record<string, unknown>>): {
  authentication?: AuthenticationFacts;
} {
  const authentication = authenticationFactsOf(payload);
  return authentication === undefined ? {} : { authentication };
}

function validateIssuer(config: BearerIssuer): void {
  if (config.audiences.length === 0) {
    throw new Error(`bearer issuer ${config.name}: at least one audience is required`);
  }
  if (config.algorithms.length === 0) {
    throw new Error(`bearer issuer ${config.name}: at least one algorithm is required`);
  }
  for (const alg of config.algorithms) {
    if (!asymmetricAlgorithms.has(alg)) {
      throw new Error(
        `bearer issuer ${config.name}: algorithm ${alg} is not allowed (asymmetric signatures only)`,
      );
    }
  }
  if (!Number.isFinite(config.clockSkewSeconds) || config.clockSkewSeconds < 0) {
    throw new Error(`bearer issuer ${config.name}: clockSkewSeconds must be a non-negative number`);
  }
}
