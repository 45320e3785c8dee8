/**
 * The token-revocation role of the session backend (session-backend.ts): bearer tokens an
 * operator revoked by `jti` (`gatehouse tokens revoke`, issue #20), kept until the token's own
 * expiry and announced to every replica.
 *
 * A JWT access token is valid until its `exp` by construction (RFC 9068 §2.2); revoking one
 * before that needs a list the resource server consults. Each replica holds the list in memory
 * (revoked-token-set.ts), loaded at start and updated from the revocation channel, so checking a
 * token costs one map lookup and no Redis round trip. Tokens without a `jti` cannot be revoked
 * this way (RFC 7519 §4.1.7 makes the claim optional; RFC 9068 requires it).
 */
export interface TokenRevocationStore {
  /**
   * Stores the revocation until `token.until` (the store forgets it then: the token has expired
   * by itself) and delivers it to every replica's `onTokenRevocation` listeners, this one
   * included. Rejects with `DependencyError` when the backing service is unreachable.
   */
  revokeToken(token: RevokedToken): Promise<void>;
  /** Every revocation not yet past its `until`, for a replica's start and for listing. */
  listRevokedTokens(): Promise<RevokedToken[]>;
  /** Subscribes to revocations from every replica; the unsubscribe function. Never throws. */
  onTokenRevocation(listener: TokenRevocationListener): () => void;
}

export type TokenRevocationListener = (tokens: readonly RevokedToken[]) => void;

export interface RevokedToken {
  /** The configured bearer issuer's `name` (`bearer.issuers[].name`), not its URL. */
  readonly issuer: string;
  /** The token's `jti` claim, exactly. */
  readonly jti: string;
  /** Epoch milliseconds after which the token is expired anyway and the entry is dropped. */
  readonly until: number;
}

/** The configured issuer names' form (config: a DNS label). */
const ISSUER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Bounded so a stored or published entry stays small; real `jti`s are UUIDs or shorter. */
export const MAX_JTI_LENGTH = 256;

/**
 * The entry if every field is well formed, else `null`: what arrives from the store or the
 * channel is checked before a replica trusts it, and what an operator types is checked before it
 * is stored.
 */
export function revokedTokenOf(value: unknown): RevokedToken | null {
  if (typeof value !== 'object' || value === null) return null;
  const { issuer, jti, until } = value as Record<string, unknown>;
  if (typeof issuer !== 'string' || !ISSUER_NAME.test(issuer)) return null;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) return null;
  if (typeof until !== 'number' || !Number.isSafeInteger(until) || until <= 0) return null;
  return { issuer, jti, until };
}

/** The key a replica's set holds for a token: NUL cannot occur in an issuer name. */
export function tokenRevocationKey(issuer: string, jti: string): string {
  return `${issuer}\u0000${jti}`;
}
