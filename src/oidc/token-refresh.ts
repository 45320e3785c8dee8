import { SpanKind, type Tracer } from '@opentelemetry/api';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import { readClaim } from '../authn/claim-mapping.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { LOCK_BUSY, type Locks } from '../sessions/locks.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { Session } from '../sessions/session.ts';
import type { SessionTicket } from '../sessions/ticket.ts';
import { describeError } from './describe-error.ts';
import type { ProviderRegistry } from './provider-registry.ts';
import { sessionIdentityFromClaims } from './session-identity.ts';
import { LruCache } from '../lru-cache.ts';
import { AttributeNames, SpanNames, inChildSpan } from '../tracing/tracing.ts';

/**
 * Renews a session's access token with its refresh token (RFC 6749 §6) shortly before it expires.
 *
 * One refresh per session at a time, across replicas (docs/architecture.md "Sessions"): the refresh runs
 * under the store's lock `refresh:<key>`. Providers rotate refresh tokens (RFC 9700 §4.14.2), so
 * two concurrent refreshes with the same token would make the provider see a replay and revoke the
 * whole grant; requests that find the lock taken wait briefly and re-read the session instead.
 *
 * - an OAuth error response (HTTP 400 or 401 with an `error` code, RFC 6749 §5.2): the provider
 *   will not renew this grant (user signed out, revoked, rotated away, client no longer allowed)
 *   — the session ends too, and the request becomes anonymous. Whatever the code: RFC 6749 says
 *   `invalid_grant`, but Dex answers `invalid_request` for an unknown, reused or expired refresh
 *   token (dexidp/dex server/refreshhandlers.go), and keeping such a session alive would let it
 *   outlive the grant until the access token expires and then loop on refresh forever.
 * - any other failure (provider down, 5xx, 429, timeout, network error): the old tokens are kept
 *   until they expire, and this replica leaves the session alone for `retryAfterFailureMs` so an
 *   outage of the provider does not turn every request into a refresh attempt.
 */
export interface TokenRefresherOptions {
  readonly store: SessionStore & Locks;
  readonly providers: ProviderRegistry;
  /** Refresh when the access token expires within this many milliseconds. */
  readonly refreshMarginMs: number;
  /**
   * Re-validate a session with its provider when it was last validated (signed in or refreshed)
   * this long ago: a refresh token grant, or a userinfo request when there is no refresh token.
   * The answer replaces the session's groups and claims, and a refusal ends the session, so a
   * group removed at the provider or a disabled account takes effect within this interval
   * rather than when the session ends (up to `absoluteLifetime`). 0 or omitted: never.
   */
  readonly revalidateIntervalMs?: number | undefined;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The session ended by a refused refresh token is an audited revocation. */
  readonly audit?: AuditLog;
  /** How long the lock is held at most (default 10 s: longer than a token request may take). */
  readonly lockTtlMs?: number;
  /** How long a request waits for another's refresh before using what it has (default 2 s). */
  readonly waitMs?: number;
  /** Re-read interval while waiting (default 50 ms). */
  readonly pollMs?: number;
  readonly retryAfterFailureMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * The token and userinfo requests made during a traced check become its child spans
   * (`oidc refresh-token`, `oidc userinfo`; docs/monitoring.md "Tracing").
   */
  readonly tracer?: Tracer;
}

/** Most sessions remembered as "refresh failed recently"; oldest forgotten first. */
const MAX_FAILURES_REMEMBERED = 10_000;

/** Longest OAuth error code kept for the log (the provider's text, RFC 6749 §5.2 `error`). */
const MAX_ERROR_CODE_LENGTH = 64;

/**
 * The token endpoint's refusal of a refresh_token grant, or undefined for a passing failure.
 * RFC 6749 §5.2: an error response is HTTP 400 (401 when client authentication failed) with a
 * JSON `error`; any such answer is final for this grant, whatever the code. 5xx and 429 are the
 * provider's trouble, not the grant's (RFC 9110 §15.6, RFC 6585 §4), even with an `error` body.
 */
async function oauthRefusal(
  error: unknown,
): Promise<{ readonly status: number; readonly error: string } | undefined> {
  let status: number;
  let code: unknown;
  if (error instanceof client.ResponseBodyError) {
    status = error.status;
    code = error.error;
  } else if (error instanceof client.WWWAuthenticateChallengeError) {
    // A 401 with `WWW-Authenticate: Basic` (client authentication failed, RFC 6749 §5.2) is
    // raised before its body is read: the `error` is in the body or in the challenge.
    status = error.status;
    code = await errorCodeInBody(error.response);
    code ??= error.cause.find((challenge) => challenge.parameters.error !== undefined)?.parameters
      .error;
  } else {
    return undefined;
  }
  if (status !== 400 && status !== 401) return undefined;
  if (typeof code !== 'string' || code === '') return undefined;
  return { status, error: code.slice(0, MAX_ERROR_CODE_LENGTH) };
}

async function errorCodeInBody(response: Response): Promise<unknown> {
  try {
    const body: unknown = await response.json();
    return typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined;
  } catch {
    return undefined; // not JSON: the challenge may still carry the code
  }
}

export class TokenRefresher {
  readonly #options: TokenRefresherOptions;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Session keys whose refresh failed lately: this replica does not retry them until expiry. */
  readonly #failedUntil: LruCache<string, true>;

  constructor(options: TokenRefresherOptions) {
    this.#options = options;
    this.#failedUntil = new LruCache({ maxEntries: MAX_FAILURES_REMEMBERED, now: options.now });
    this.#sleep =
      options.sleep ??
      ((ms) =>
        new Promise((resolve) => {
          setTimeout(resolve, ms).unref();
        }));
  }

  /**
   * Whether the session should be renewed (access token close to expiry) or re-validated
   * (`revalidateIntervalMs` since it was last validated) now. Cheap: no I/O.
   */
  needsRefresh(session: Session): boolean {
    const at = this.#options.now();
    if (!this.#expiring(session, at) && !this.#revalidationDue(session, at)) return false;
    return this.#failedUntil.get(session.key) === undefined;
  }

  #expiring(session: Session, at: number): boolean {
    const { refreshMarginMs } = this.#options;
    const { refreshToken, accessTokenExpiresAt } = session.tokens;
    if (refreshMarginMs <= 0 || refreshToken === undefined || accessTokenExpiresAt === undefined) {
      return false;
    }
    return accessTokenExpiresAt - at < refreshMarginMs;
  }

  #revalidationDue(session: Session, at: number): boolean {
    const interval = this.#options.revalidateIntervalMs ?? 0;
    if (interval <= 0) return false;
    // Without a refresh token, userinfo needs a live access token (RFC 6750 §3.1 otherwise).
    if (session.tokens.refreshToken === undefined && session.tokens.accessToken === undefined) {
      return false;
    }
    return at - (session.lastRefreshedAt ?? session.createdAt) >= interval;
  }

  /**
   * The session with fresh tokens, the session as it was when refreshing failed for a passing
   * reason, or null when the session ended (refresh token refused, or deleted meanwhile).
   */
  async refreshSession(ticket: SessionTicket, session: Session): Promise<Session | null> {
    const { store } = this.#options;
    const seenAccessToken = session.tokens.accessToken;
    const seenValidation = session.lastRefreshedAt;
    const result = await store.withLock(
      `refresh:${session.key}`,
      this.#options.lockTtlMs ?? 10_000,
      async () => {
        // Another replica may have refreshed between our read and the lock.
        const current = await store.get(ticket, { bypassCache: true });
        if (current === null) return null;
        if (
          current.tokens.accessToken !== seenAccessToken ||
          current.lastRefreshedAt !== seenValidation ||
          !this.needsRefresh(current)
        ) {
          this.#count(current, 'reused');
          return current;
        }
        return this.#refresh(ticket, current);
      },
    );
    if (result !== LOCK_BUSY) return result;
    return this.#waitForOtherRefresh(ticket, session);
  }

  async #waitForOtherRefresh(ticket: SessionTicket, session: Session): Promise<Session | null> {
    const { store } = this.#options;
    const deadline = Date.now() + (this.#options.waitMs ?? 2000);
    const poll = this.#options.pollMs ?? 50;
    while (Date.now() < deadline) {
      await this.#sleep(poll);
      const current = await store.get(ticket, { bypassCache: true });
      if (current === null) return null;
      if (
        current.tokens.accessToken !== session.tokens.accessToken ||
        current.lastRefreshedAt !== session.lastRefreshedAt
      ) {
        this.#count(current, 'reused');
        return current;
      }
    }
    // The other refresh is slow: answer with the tokens we have; they are good until they expire.
    return session;
  }

  async #refresh(ticket: SessionTicket, session: Session): Promise<Session | null> {
    const { store, providers, logger, now } = this.#options;
    const provider = providers.get(session.provider);
    const refreshToken = session.tokens.refreshToken;
    if (provider === null) return session;
    if (refreshToken === undefined) return this.#revalidateWithUserinfo(ticket, session);
    let tokens: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      tokens = await inChildSpan(
        this.#options.tracer,
        SpanNames.refreshToken,
        { [AttributeNames.provider]: session.provider },
        () => client.refreshTokenGrant(provider.config, refreshToken),
        SpanKind.CLIENT,
      );
    } catch (error: unknown) {
      const refusal = await oauthRefusal(error);
      if (refusal !== undefined) {
        // RFC 6749 §5.2: the grant is gone at the provider; so is the session here.
        await this.#endSession(
          session,
          refusal,
          'refresh token refused by the provider: session ended',
        );
        return null;
      }
      this.#count(session, 'error');
      this.#rememberFailure(session.key);
      logger.warn(
        { provider: session.provider, sessionKey: session.key, err: describeError(error) },
        'token refresh failed; keeping the current tokens until they expire',
      );
      return session;
    }

    const at = now();
    const claims = tokens.claims();
    // OpenID Connect Core §12.2: a refreshed ID token must be about the same subject.
    if (claims !== undefined && claims.sub !== session.subject) {
      this.#count(session, 'error');
      this.#rememberFailure(session.key);
      logger.warn(
        { provider: session.provider, sessionKey: session.key },
        'refreshed ID token names another subject; tokens not used',
      );
      return session;
    }
    // Group changes at the provider show up at the next refresh; a refreshed ID token without the
    // groups claim (some providers send a minimal one) leaves the identity as it was.
    const names = provider.options.claims;
    const remap = claims !== undefined && readClaim(claims, names.groups) !== undefined;
    const refreshed: Session = {
      ...session,
      ...(remap
        ? {
            identity: sessionIdentityFromClaims(
              { ...session.identity.claims, ...claims },
              names,
              session.subject,
              { allowUnverifiedEmail: provider.options.allowUnverifiedEmail },
            ),
          }
        : {}),
      tokens: {
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token ?? refreshToken,
        ...((tokens.id_token ?? session.tokens.idToken) === undefined
          ? {}
          : { idToken: tokens.id_token ?? session.tokens.idToken }),
        ...(tokens.expires_in === undefined
          ? {}
          : { accessTokenExpiresAt: at + tokens.expires_in * 1000 }),
      },
      lastRefreshedAt: at,
    };
    if (!(await store.update(ticket, refreshed))) {
      // Signed out while we refreshed: the logout wins (store.update contract).
      this.#count(session, 'ended');
      return null;
    }
    this.#failedUntil.delete(session.key);
    this.#count(session, 'success');
    return refreshed;
  }

  async #endSession(
    session: Session,
    refusal: { readonly status: number; readonly error: string },
    message: string,
  ): Promise<void> {
    await this.#options.store.delete(session.key);
    this.#count(session, 'invalid-grant');
    this.#options.metrics.sessionRevocations.inc({ source: 'invalid-grant' });
    this.#options.audit?.record({
      event: 'revocation',
      source: 'invalid-grant',
      provider: session.provider,
      sessions: 1,
      by: 'session',
      sessionId: session.key,
    });
    this.#options.logger.info(
      {
        provider: session.provider,
        sessionKey: session.key,
        status: refusal.status,
        error: refusal.error,
      },
      message,
    );
  }

  /**
   * Re-validation of a session without a refresh token: the userinfo endpoint (OpenID Connect
   * Core §5.3) with the session's access token. A 401 (RFC 6750 §3.1 `invalid_token`: the token
   * was revoked, the account disabled) ends the session; its answer replaces groups and claims.
   * Any other failure keeps the session as it is, like a passing refresh failure.
   */
  async #revalidateWithUserinfo(ticket: SessionTicket, session: Session): Promise<Session | null> {
    const { store, providers, logger, now } = this.#options;
    const provider = providers.get(session.provider);
    const accessToken = session.tokens.accessToken;
    if (
      provider === null ||
      accessToken === undefined ||
      provider.config.serverMetadata().userinfo_endpoint === undefined
    ) {
      return session;
    }
    let userinfo: Awaited<ReturnType<typeof client.fetchUserInfo>>;
    try {
      userinfo = await inChildSpan(
        this.#options.tracer,
        SpanNames.userinfo,
        { [AttributeNames.provider]: session.provider },
        () => client.fetchUserInfo(provider.config, accessToken, session.subject),
        SpanKind.CLIENT,
      );
    } catch (error: unknown) {
      const status =
        error instanceof client.WWWAuthenticateChallengeError ||
        error instanceof client.ResponseBodyError
          ? error.status
          : undefined;
      if (status === 401) {
        await this.#endSession(
          session,
          { status, error: 'invalid_token' },
          'userinfo refused the access token: session ended',
        );
        return null;
      }
      this.#count(session, 'error');
      this.#rememberFailure(session.key);
      logger.warn(
        { provider: session.provider, sessionKey: session.key, err: describeError(error) },
        'session re-validation (userinfo) failed; keeping the session as it is',
      );
      return session;
    }
    const revalidated: Session = {
      ...session,
      identity: sessionIdentityFromClaims(
        { ...session.identity.claims, ...userinfo },
        provider.options.claims,
        session.subject,
        { allowUnverifiedEmail: provider.options.allowUnverifiedEmail },
      ),
      lastRefreshedAt: now(),
    };
    if (!(await store.update(ticket, revalidated))) {
      this.#count(session, 'ended');
      return null;
    }
    this.#failedUntil.delete(session.key);
    this.#count(session, 'success');
    return revalidated;
  }

  #rememberFailure(key: string): void {
    const retryAfterMs = this.#options.retryAfterFailureMs ?? 30_000;
    this.#failedUntil.set(key, true, this.#options.now() + retryAfterMs);
  }

  #count(session: Session, result: string): void {
    this.#options.metrics.tokenRefreshes.inc({ provider: session.provider, result });
  }
}
