/**
 * Every authenticator, in the order the chain asks them: trusted pre-authentication, bearer JWTs,
 * Basic against the watched htpasswd file, the session cookie; and impersonation, which decides
 * whom a session answers for.
 */
import type { Logger } from 'pino';
import { AuthenticatorChain, type Authenticator } from '../authn/authenticator.ts';
import { BasicAuthenticator, type BasicAuthEvent } from '../authn/basic-auth.ts';
import {
  BearerTokenAuthenticator,
  type BearerTokenAuthenticatorOptions,
} from '../authn/bearer-token.ts';
import { HtpasswdFile } from '../authn/htpasswd.ts';
import type { BanEvent, LoginThrottle } from '../authn/login-throttle.ts';
import { MemoryLoginThrottle } from '../authn/login-throttle-memory.ts';
import { RedisLoginThrottle } from '../authn/login-throttle-redis.ts';
import {
  SessionCookieAuthenticator,
  type SessionCookieAuthenticatorOptions,
} from '../authn/session-cookie.ts';
import { TrustedHeaderAuthenticator } from '../authn/trusted-headers.ts';
import type { DecideOptions } from '../authz/decide.ts';
import type { Config } from '../config/schema.ts';
import { ProxyTrust } from '../dialects/proxy-trust.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { Impersonation } from '../oidc/impersonation.ts';
import type { RedisClient } from '../sessions/redis/redis-connection.ts';
import { RevokedTokenSet } from '../sessions/revoked-token-set.ts';
import type { TokenRevocationStore } from '../sessions/token-revocations.ts';
import { clusterRolesOf, type CurrentSnapshot } from './policy.ts';
import type { Runtime } from './runtime.ts';
import { definedFields } from '../defined-fields.ts';

/** The settings the authenticators read (a `Config` is one). */
export type AuthenticatorSettings = Pick<
  Config,
  'preAuthentication' | 'bearer' | 'basicAuth' | 'impersonation'
> & {
  /** A bearer issuer that is also a sign-in provider names users the way sessions do. */
  readonly providers: NonNullable<BearerTokenAuthenticatorOptions['providers']>;
  readonly sessions: {
    readonly cookie: Pick<Config['sessions']['cookie'], 'name'>;
    readonly redis: Pick<Config['sessions']['redis'], 'keyPrefix'>;
  };
};

export interface AuthenticatorParts {
  /**
   * The session store the session cookie is looked up in; bearer tokens revoked by `jti` are
   * kept there too (sessions/token-revocations.ts).
   */
  readonly sessions: SessionCookieAuthenticatorOptions['store'] & TokenRevocationStore;
  /** Renews the tokens of a session close to expiry (providers.ts buildRefresher). */
  readonly refresher: SessionCookieAuthenticatorOptions['refresher'];
  /** The watched htpasswd file (`openHtpasswd`); undefined: no Basic authentication. */
  readonly htpasswd: HtpasswdFile | undefined;
  /** The sessions' Redis client, where the Basic-auth throttle counts; null: in memory. */
  readonly redis: RedisClient | null;
  /** The serving snapshot and how it decides: impersonation checks roles against them. */
  readonly snapshot: CurrentSnapshot;
  readonly decideOptions: DecideOptions;
}

export interface Authenticators {
  /** Every configured authenticator, asked in order. */
  readonly chain: AuthenticatorChain;
  readonly session: SessionCookieAuthenticator;
  readonly basic: BasicAuthenticator | undefined;
  readonly impersonation: Impersonation | undefined;
  /**
   * This replica's copy of the revoked bearer tokens, loading in the background (bearer tokens
   * get 503 until it is loaded); undefined without bearer issuers. Closed with the store.
   */
  readonly revokedTokens: RevokedTokenSet | undefined;
}

/**
 * Reads the htpasswd file when Basic authentication is on: a file with a non-bcrypt entry stops
 * the start, listing every bad line (htpasswd.ts). Then it is watched, so a removed user is
 * refused within seconds; a later bad edit keeps the last good file in force. Stop it at shutdown.
 */
export async function openHtpasswd(
  config: Pick<Config, 'basicAuth'>,
  runtime: Runtime,
): Promise<HtpasswdFile | undefined> {
  if (!config.basicAuth.enabled) return undefined;
  const { metrics, logger } = runtime;
  const path = config.basicAuth.htpasswdFile;
  // config/checks.ts refuses this already; the guard keeps the types honest.
  if (path === undefined)
    throw new Error('basicAuth.htpasswdFile is required when basicAuth is enabled');
  return HtpasswdFile.open({
    path,
    onReload: (result) => {
      metrics.htpasswdReloads.inc({ result: result.ok ? 'success' : 'failure' });
      if (!result.ok) {
        logger.warn(
          { component: 'basic-auth', err: result.error },
          'htpasswd reload failed; the last good file stays in force until the file is fixed',
        );
      } else if (result.changed) {
        logger.info({ component: 'basic-auth', users: result.users }, 'htpasswd reloaded');
      }
    },
  });
}

export function buildAuthenticators(
  config: AuthenticatorSettings,
  parts: AuthenticatorParts,
  runtime: Runtime,
): Authenticators {
  const { metrics, audit, logger, now } = runtime;
  const authenticators: Authenticator[] = [];

  // Pre-authentication first: on a site behind an SSO front, the front's word is the identity.
  if (config.preAuthentication.enabled) {
    const preauth = config.preAuthentication;
    // config/checks.ts refuses this already; the guard keeps the types honest.
    if (preauth.sharedSecret === undefined) {
      throw new Error(
        'preAuthentication.sharedSecret is required when preAuthentication is enabled',
      );
    }
    authenticators.push(
      new TrustedHeaderAuthenticator({
        trust: new ProxyTrust(preauth.trustedProxies),
        sharedSecretHeader: preauth.sharedSecretHeader,
        sharedSecret: preauth.sharedSecret,
        ...definedFields({
          remoteUserHeader: preauth.remoteUserHeader,
          groupsHeader: preauth.groupsHeader,
        }),
        onIgnored: (reason) => {
          metrics.preauthIgnored.inc({ reason });
        },
      }),
    );
  }

  const revokedTokens =
    config.bearer.issuers.length > 0 ? openRevokedTokens(parts.sessions, runtime) : undefined;
  if (config.bearer.issuers.length > 0) {
    authenticators.push(
      new BearerTokenAuthenticator({
        issuers: config.bearer.issuers.map((issuer) => ({
          ...issuer,
          clockSkewSeconds: Math.round(issuer.clockSkew / 1000),
        })),
        providers: config.providers,
        cache: config.bearer.cache,
        fetch: runtime.fetch,
        now,
        logger: logger.child({ component: 'bearer' }),
        revokedTokens,
      }),
    );
  }

  const htpasswd = parts.htpasswd;
  const basic =
    htpasswd === undefined
      ? undefined
      : new BasicAuthenticator({
          users: () => htpasswd.users(),
          throttle: createLoginThrottle(config, parts.redis, runtime),
          realm: config.basicAuth.realm,
          now,
          onEvent: basicAuthEventHandler(metrics, logger.child({ component: 'basic-auth' })),
        });
  if (basic !== undefined) authenticators.push(basic);

  const impersonation = config.impersonation.enabled
    ? new Impersonation({
        role: config.impersonation.role,
        superRole: parts.decideOptions.superRole,
        rolesOf: clusterRolesOf(parts.snapshot, parts.decideOptions),
        policy: parts.snapshot,
      })
    : undefined;

  const session = new SessionCookieAuthenticator({
    store: parts.sessions,
    cookieName: config.sessions.cookie.name,
    metrics,
    refresher: parts.refresher,
    ...(impersonation === undefined
      ? {}
      : { effectiveIdentity: (session) => impersonation.effectiveIdentity(session) }),
    onImpersonationEnded: (session) => {
      metrics.impersonations.inc({ action: 'stop', result: 'revoked' });
      audit.record({
        event: 'impersonation',
        requestId: '',
        action: 'stop',
        result: 'success',
        actor: session.identity.user,
        target: session.impersonation?.user ?? '',
        reason: 'right-lost',
      });
    },
  });
  authenticators.push(session);

  return {
    chain: new AuthenticatorChain(authenticators),
    session,
    basic,
    impersonation,
    revokedTokens,
  };
}

/**
 * The revoked bearer tokens (`gatehouse tokens revoke`, issue #20), subscribed to and loaded in
 * the background: the load is a few milliseconds of Redis, and until it ends bearer tokens are
 * refused with 503 rather than checked against a list this replica does not have yet.
 */
function openRevokedTokens(store: TokenRevocationStore, runtime: Runtime): RevokedTokenSet {
  const revoked = new RevokedTokenSet({
    store,
    now: runtime.now,
    logger: runtime.logger.child({ component: 'bearer' }),
  });
  runtime.metrics.measureRevokedTokens(() => revoked.size);
  void revoked.start();
  return revoked;
}

/**
 * Brute-force regulation of Basic authentication: in Redis beside the sessions, so every replica
 * counts the same failures; in memory only when sessions are (one local replica).
 */
function createLoginThrottle(
  config: Pick<AuthenticatorSettings, 'basicAuth' | 'sessions'>,
  redis: RedisClient | null,
  runtime: Runtime,
): LoginThrottle {
  const { maxRetries, findTime, banTime } = config.basicAuth.throttle;
  const throttleLogger = runtime.logger.child({ component: 'basic-auth' });
  const settings = {
    maxRetries,
    findTimeMs: findTime,
    banTimeMs: banTime,
    onBan: (event: BanEvent) => {
      runtime.metrics.basicAuthBans.inc({ scope: event.scope });
      throttleLogger.warn(
        {
          scope: event.scope,
          user: event.user,
          client: event.clientIp,
          banSeconds: event.banSeconds,
        },
        `basic auth: ${event.scope === 'user' ? 'user' : 'client address'} banned after ${maxRetries} failures`,
      );
    },
  };
  return redis === null
    ? new MemoryLoginThrottle({ ...settings, now: runtime.now })
    : new RedisLoginThrottle({
        ...settings,
        client: redis,
        keyPrefix: config.sessions.redis.keyPrefix,
      });
}

/** One metric per Basic-auth attempt; a log line for every failure and refused banned attempt. */
function basicAuthEventHandler(metrics: Metrics, logger: Logger): (event: BasicAuthEvent) => void {
  return (event) => {
    switch (event.kind) {
      case 'success':
        metrics.basicAuth.inc({ result: event.cached ? 'cached' : 'success' });
        logger.debug({ user: event.user, client: event.clientIp }, 'basic auth: accepted');
        return;
      case 'failure':
        metrics.basicAuth.inc({ result: event.reason });
        logger.info(
          { user: event.user, client: event.clientIp, reason: event.reason },
          'basic auth: refused',
        );
        return;
      case 'banned':
        metrics.basicAuth.inc({ result: 'banned' });
        logger.info(
          { user: event.user, client: event.clientIp, retryAfter: event.retryAfterSeconds },
          'basic auth: refused while banned',
        );
        return;
    }
  };
}
