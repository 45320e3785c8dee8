import { idleExpiryAt, type SessionTiming } from './session-timing.ts';
import type { IdentityDetails } from '../authz/identity.ts';
import { isRecord } from '../is-record.ts';
import type { AuthenticationFacts } from '../authz/step-up.ts';

/**
 * The session record. It is stored sealed (session-cipher.ts) under `key`, the SHA-256 of the
 * ticket id; every time is epoch milliseconds judged with the store's injected clock.
 */

/** What a session keeps of the person (authz/identity.ts); its subject and source live beside it. */
export type SessionIdentity = IdentityDetails;

export interface SessionTokens {
  readonly accessToken?: string;
  readonly refreshToken?: string;
  readonly idToken?: string;
  readonly accessTokenExpiresAt?: number;
}

export interface Session {
  /** Storage key: `sessionKeyOf(ticket.id)`. Safe to log. */
  readonly key: string;
  /** The configured provider name that authenticated the user. */
  readonly provider: string;
  /** The provider's `sub`. */
  readonly subject: string;
  /** `userKeyOf(provider, subject)`: the per-user index that logout-everywhere uses. */
  readonly userKey: string;
  readonly identity: SessionIdentity;
  readonly tokens: SessionTokens;
  /** The provider's session id (`sid` claim) for OIDC Back-Channel Logout 1.0 §2.4. */
  readonly oidcSid?: string;
  readonly createdAt: number;
  readonly lastRefreshedAt?: number;
  /** Hard end of the session, however active it is. */
  readonly absoluteExpiresAt: number;
  /** End of the session if unused; slides forward on access (at most once a minute). */
  readonly idleExpiresAt: number;
  /**
   * While the session's user impersonates someone (oidc/impersonation.ts): who. The session stays
   * the real user's (tokens, provider, logout all unchanged); checks answer for the target.
   */
  readonly impersonation?: SessionImpersonation;
  /**
   * How the user signed in: the ID token's `auth_time` (epoch seconds), `acr` and `amr` (OpenID
   * Connect Core §2), for rules asking for a step-up (authz/step-up.ts). Absent in sessions
   * sealed before gatehouse kept it, and when the provider said nothing: such a session meets no
   * step-up requirement and signs in again when one applies.
   */
  readonly authentication?: AuthenticationFacts;
}

/** The identity a session acts as while impersonating; kept sealed with the session record. */
export interface SessionImpersonation {
  readonly user: string;
  readonly email?: string;
  /** Epoch milliseconds. */
  readonly startedAt: number;
}

/** What a login hands to `SessionStore.create`; the store fills in keys and times. */
export interface NewSession {
  readonly provider: string;
  readonly subject: string;
  readonly identity: SessionIdentity;
  readonly tokens: SessionTokens;
  readonly oidcSid?: string;
  /** The ID token's `auth_time`, `acr` and `amr` (Session.authentication). */
  readonly authentication?: AuthenticationFacts;
  /** Ends the session earlier than the store's absolute lifetime (e.g. the IdP's session end). */
  readonly absoluteExpiresAt?: number;
  /**
   * The sign-in request's `User-Agent` header. The store keeps only its summary ("Firefox on
   * Linux", user-agent-summary.ts) in the session's listing (session-directory.ts); the header
   * itself is neither sealed in the record nor stored.
   */
  readonly userAgent?: string;
}

/** The per-user key. NUL cannot occur in a provider name, so distinct pairs never collide. */
export function userKeyOf(provider: string, subject: string): string {
  return `${provider}\u0000${subject}`;
}

/**
 * What is sealed: everything but `key` (it is the record's AAD and its address) and
 * `idleExpiresAt` (it slides without re-encrypting, so it is kept beside the sealed record).
 */
export type SessionRecord = Omit<Session, 'key' | 'idleExpiresAt'>;

export function toSessionRecord(session: Session): SessionRecord {
  const { key: _key, idleExpiresAt: _idle, ...record } = session;
  return record;
}

/**
 * Rebuilds a session from an opened record. The record is authenticated (only gatehouse could
 * have sealed it), so this guards against format drift between versions, not against attackers.
 */
export function fromSessionRecord(
  record: Record<string, unknown>,
  key: string,
  idleExpiresAt: number,
): Session | null {
  const { provider, subject, userKey, identity, tokens, createdAt, absoluteExpiresAt } = record;
  if (
    typeof provider !== 'string' ||
    typeof subject !== 'string' ||
    userKey !== userKeyOf(provider, subject) ||
    !isRecord(identity) ||
    typeof identity.user !== 'string' ||
    !Array.isArray(identity.groups) ||
    !isRecord(identity.claims) ||
    !isRecord(tokens) ||
    typeof createdAt !== 'number' ||
    typeof absoluteExpiresAt !== 'number'
  ) {
    return null;
  }
  return { ...(record as unknown as SessionRecord), key, idleExpiresAt };
}

/** The session a login creates at `now` under storage key `key`. */
export function buildSession(
  fields: NewSession,
  key: string,
  now: number,
  timing: SessionTiming,
): Session {
  const absoluteExpiresAt = Math.min(
    now + timing.absoluteLifetimeMs,
    fields.absoluteExpiresAt ?? Number.POSITIVE_INFINITY,
  );
  const { absoluteExpiresAt: _requested, userAgent: _listedApart, ...rest } = fields;
  return {
    ...rest,
    key,
    userKey: userKeyOf(fields.provider, fields.subject),
    createdAt: now,
    absoluteExpiresAt,
    idleExpiresAt: idleExpiryAt(now, absoluteExpiresAt, timing),
  };
}
