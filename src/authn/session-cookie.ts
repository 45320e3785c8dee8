import type { AuthRequest } from '../authz/auth-request.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { cookieValues } from '../cookies.ts';
import { identityOfSession } from './session-identity.ts';
import type { RevocationBus } from '../sessions/revocation-bus.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { Session, SessionTokens } from '../sessions/session.ts';
import { parseTicket, type SessionTicket } from '../sessions/ticket.ts';
import type { Authenticator, AuthnResult } from './authenticator.ts';
import type { Identity } from '../authz/identity.ts';

const absent: AuthnResult = Object.freeze({ kind: 'absent' });

/** The ticket of the first cookie value that is one (the full path skips the others too). */
function firstTicket(values: readonly string[]): SessionTicket | null {
  for (const value of values) {
    const ticket = parseTicket(value);
    if (ticket !== null) return ticket;
  }
  return null;
}

/** Renews tokens close to expiry (oidc/token-refresh.ts `TokenRefresher`). */
export interface SessionRefresher {
  /** Cheap, no I/O: whether `refreshSession` should run before answering. */
  needsRefresh(session: Session): boolean;
  /** The refreshed (or unchanged) session, or null when the session ended. */
  refreshSession(ticket: SessionTicket, session: Session): Promise<Session | null>;
}

export interface SessionCookieAuthenticatorOptions {
  readonly store: SessionStore & RevocationBus;
  /** The session cookie's name (`sessions.cookie.name`). */
  readonly cookieName: string;
  readonly metrics: Metrics;
  /** Renews access tokens close to expiry before answering; omitted: never refreshes. */
  readonly refresher?: SessionRefresher | undefined;
  /**
   * The identity a session answers for (oidc/impersonation.ts `Impersonation.effectiveIdentity`:
   * the impersonated user while an impersonation runs). Omitted: always the session's own user.
   */
  readonly effectiveIdentity?: ((session: Session) => Identity) | undefined;
  /**
   * Told when a running impersonation lost its right (the actor's role was removed, the target
   * became a super holder) and was therefore ended in the store: for the audit trail and metrics.
   */
  readonly onImpersonationEnded?: ((session: Session) => void) | undefined;
}

/**
 * Authenticates browser requests by the session cookie that sign-in set (docs/architecture.md "Sessions").
 *
 * A cookie that is malformed, unknown, expired or revoked makes the request anonymous (`absent`),
 * not `rejected`: a stale cookie left in a browser must not lock its owner out of pages open to
 * guests, and the sign-in redirect replaces it anyway. Such cookies are counted
 * (`authentications{method="session",result="stale"}`). A store failure is thrown as the store's
 * `DependencyError`, never read as "no session" (fail closed, invariant 1).
 *
 * Browsers may send several cookies of the same name (another Domain or Path); the first live one
 * wins. Pass the per-replica `SessionCache` as the store to keep the hot path off Redis.
 */
export class SessionCookieAuthenticator implements Authenticator {
  readonly name = 'session';
  readonly #options: SessionCookieAuthenticatorOptions;
  /**
   * The (refreshed) tokens behind each identity this authenticator returned, for token
   * pass-through. Kept beside the identity rather than in it, so that an identity can be logged
   * or cached without ever carrying a token (docs/architecture.md invariant 6); a WeakMap, so an entry lives
   * exactly as long as the request that holds the identity.
   */
  readonly #tokens = new WeakMap<Identity, SessionTokens>();
  /**
   * The identity built for each session record. The per-replica cache hands out the same
   * (immutable) record for a few seconds, so the identity — and the roles decide() caches per
   * identity — is built once per record rather than on every check.
   */
  readonly #identities = new WeakMap<Session, Identity>();

  constructor(options: SessionCookieAuthenticatorOptions) {
    this.#options = options;
  }

  authenticate(request: AuthRequest): AuthnResult | Promise<AuthnResult> {
    const values = cookieValues(request.credentials.cookie, this.#options.cookieName);
    if (values.length === 0) return absent;
    // The common case answered at once: the first well-formed cookie names a session the
    // per-replica cache holds for this very ticket, with no refresh due. Otherwise (a miss, a
    // refresh, a stale first cookie followed by a live one) the full path decides.
    const ticket = firstTicket(values);
    const cached = ticket === null ? undefined : this.#options.store.cached?.(ticket);
    if (
      ticket !== null &&
      cached !== undefined &&
      cached.impersonation === undefined &&
      this.#options.refresher?.needsRefresh(cached) !== true
    ) {
      return this.#identifiedBy(cached);
    }
    return this.#authenticate(values);
  }

  async #authenticate(values: readonly string[]): Promise<AuthnResult> {
    const found = await this.#findSessionIn(values);
    if (found === null) return absent;
    const { session, ticket } = found;
    const effective = this.#options.effectiveIdentity;
    if (session.impersonation !== undefined && effective !== undefined) {
      // Re-evaluated on every check, never served from the per-record cache: the record stays in
      // the replica cache for seconds, and a policy change (the actor's role removed) must end
      // the impersonation at the next request, not when the cached record expires.
      const identity = effective(session);
      if (identity.actor !== undefined) return { kind: 'identified', identity };
      // The impersonation lost its right: end it for good rather than suspend it, so restoring
      // the role later does not silently resume acting as the target.
      await this.#endImpersonation(ticket, session);
      return this.#identified(identityOfSession(session), session);
    }
    return this.#identifiedBy(session);
  }

  /** The identity of a session record, built once per record. */
  #identifiedBy(session: Session): AuthnResult {
    let identity = this.#identities.get(session);
    if (identity === undefined) {
      identity = (this.#options.effectiveIdentity ?? identityOfSession)(session);
      this.#identities.set(session, identity);
    }
    return this.#identified(identity, session);
  }

  #identified(identity: Identity, session: Session): AuthnResult {
    // An impersonated identity gets no tokens: they are the real user's, not the target's.
    if (identity.actor === undefined) this.#tokens.set(identity, session.tokens);
    return { kind: 'identified', identity };
  }

  async #endImpersonation(ticket: SessionTicket, session: Session): Promise<void> {
    const { impersonation: _ended, ...rest } = session;
    const { store } = this.#options;
    if (await store.update(ticket, rest)) {
      // Other replicas drop their cached copy (which still names the target) at once.
      await store.publishRevocation([session.key]);
      this.#options.onImpersonationEnded?.(session);
    }
  }

  /** The session tokens behind an identity this authenticator returned; undefined otherwise. */
  tokensOf(identity: Identity): SessionTokens | undefined {
    return this.#tokens.get(identity);
  }

  /**
   * The first live session named by the cookies in `cookieHeader`, with its ticket (for sign-out
   * and userinfo, which share this reading of the cookie), or null.
   */
  findSession(
    cookieHeader: string | undefined,
  ): Promise<{ readonly session: Session; readonly ticket: SessionTicket } | null> {
    return this.#findSessionIn(cookieValues(cookieHeader, this.#options.cookieName));
  }

  async #findSessionIn(
    values: readonly string[],
  ): Promise<{ readonly session: Session; readonly ticket: SessionTicket } | null> {
    if (values.length === 0) return null;
    for (const value of values) {
      const ticket = parseTicket(value);
      if (ticket === null) continue;
      const found = await this.#options.store.get(ticket);
      if (found === null) continue;
      const live = await this.#refreshed(ticket, found);
      if (live !== null) return { session: live, ticket };
    }
    this.#options.metrics.authentications.inc({ method: 'session', result: 'stale' });
    return null;
  }

  async #refreshed(ticket: SessionTicket, session: Session): Promise<Session | null> {
    const refresher = this.#options.refresher;
    if (refresher === undefined || !refresher.needsRefresh(session)) return session;
    return refresher.refreshSession(ticket, session);
  }
}
