/**
 * Composition root: turns a validated, frozen configuration into running listeners. Every
 * dependency is built here and handed down explicitly; nothing below reads configuration or
 * globals. `startGatehouse` is what the CLI's `serve` runs and what integration tests start.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Authenticator } from './authn/authenticator.ts';
import { AuthenticatorChain } from './authn/authenticator.ts';
import { BearerTokenAuthenticator } from './authn/bearer-token.ts';
import { BasicAuthenticator, type BasicAuthEvent } from './authn/basic-auth.ts';
import { HtpasswdFile } from './authn/htpasswd.ts';
import type { BanEvent, LoginThrottle } from './authn/login-throttle.ts';
import { MemoryLoginThrottle } from './authn/login-throttle-memory.ts';
import { RedisLoginThrottle } from './authn/login-throttle-redis.ts';
import { TrustedHeaderAuthenticator } from './authn/trusted-headers.ts';
import { Impersonation } from './oidc/impersonation.ts';
import type { AuthRequest } from './authz/auth-request.ts';
import { SubjectSources, unqualifiedSubjectSources } from './authz/roles.ts';
import type { Config } from './config/schema.ts';
import {
  extAuthzDialect,
  forwardAuthDialect,
  createNginxDialect,
  ProxyTrust,
} from './dialects/dialects.ts';
import { bearerChallengeFor, type CheckDependencies } from './http/check-route.ts';
import { allowedProvidersForUrl } from './http/allowed-providers.ts';
import { createMainHandler } from './http/main-app.ts';
import { createOperationsApp, type ReadinessCheck } from './http/operations-app.ts';
import { AssertionSigner } from './identity/assertion.ts';
import { createHeaderProfiles } from './identity/header-profiles.ts';
import { jwksDocument } from './identity/signing-keys-jwks.ts';
import { loadSigningKeys, type SigningKeyRing } from './identity/signing-keys.ts';
import { Metrics } from './metrics/metrics.ts';
import { AuditLog } from './audit/audit-log.ts';
import type { PolicySource } from './policy/policy-source.ts';
import { FilePolicySource } from './policy/sources/files/file-source.ts';
import { createKubernetesPolicySource } from './policy/sources/kubernetes/kubernetes-source.ts';
import { SessionCookieAuthenticator } from './authn/session-cookie.ts';
import { ProviderRegistry } from './oidc/provider-registry.ts';
import { TokenRefresher } from './oidc/token-refresh.ts';
import { signInRoutes } from './http/sign-in/routes.ts';
import { MemorySessionStore } from './sessions/memory/memory-store.ts';
import { createRedisClient, waitForRedisReady } from './sessions/redis/redis-connection.ts';
import { RedisSessionStore } from './sessions/redis/redis-store.ts';
import { InstrumentedSessionStore } from './sessions/instrumented-store.ts';
import { SessionCache } from './sessions/session-cache.ts';
import type { SessionStore } from './sessions/session-store.ts';
import type { RedisClient } from './sessions/redis/redis-connection.ts';

export interface StartOptions {
  readonly logger: Logger;
  /** Injected for tests; default Date.now. */
  readonly now?: () => number;
  /** Injected for tests; default global fetch. */
  readonly fetch?: typeof fetch;
  /** Collect Node process metrics (off in tests that start several instances). */
  readonly processMetrics?: boolean;
}

export interface Gatehouse {
  /** `http://host:port` of the main listener as bound (port 0 resolves here). */
  readonly mainUrl: string;
  readonly operationsUrl: string;
  readonly metrics: Metrics;
  readonly policy: PolicySource;
  /** Fails readiness, waits `server.shutdownDelay`, drains in-flight requests, closes everything. */
  shutdown(reason?: string): Promise<void>;
}

export async function startGatehouse(config: Config, options: StartOptions): Promise<Gatehouse> {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const metrics = new Metrics({ collectProcessMetrics: options.processMetrics ?? true });
  const audit = new AuditLog(logger);
  const closers: (() => Promise<void>)[] = [];
  let accepting = true;

  const policy = createPolicySource(config, logger, now, metrics);
  policy.onReload((result) => {
    metrics.policyReloads.inc({ source: policy.name, result: result.ok ? 'success' : 'failure' });
    if (result.ok) {
      for (const [kind, count] of Object.entries(result.counts))
        metrics.policyObjects.set({ kind }, count);
      if (result.changed) metrics.policyLastReload.set({ source: policy.name }, now() / 1000);
    }
  });
  closers.push(() => policy.stop());
  policy.onChange((snapshot, event) => {
    audit.record({
      event: 'policy-change',
      source: event.source,
      version: event.version,
      previousVersion: event.previousVersion,
      objects: snapshot.counts,
    });
  });

  const headerProfiles = createHeaderProfiles({
    defaultProfile: config.identityHeaders.profile,
    secRoles: config.identityHeaders.secRoles,
    ...(Object.keys(config.identityHeaders.custom).length > 0
      ? { custom: { custom: config.identityHeaders.custom } }
      : {}),
  });

  const authenticators: Authenticator[] = [];
  // Pre-authentication first: on a site behind an SSO front, the front's word is the identity.
  if (config.preAuthentication.enabled) {
    const preauth = config.preAuthentication;
    authenticators.push(
      new TrustedHeaderAuthenticator({
        trust: new ProxyTrust(preauth.trustedProxies),
        sharedSecretHeader: preauth.sharedSecretHeader,
        sharedSecret: preauth.sharedSecret,
        ...(preauth.remoteUserHeader === '' ? {} : { remoteUserHeader: preauth.remoteUserHeader }),
        ...(preauth.groupsHeader === '' ? {} : { groupsHeader: preauth.groupsHeader }),
        onIgnored: (reason) => {
          metrics.preauthIgnored.inc({ reason });
        },
      }),
    );
  }
  // Read before anything is opened: an htpasswd file with a non-bcrypt entry stops the start,
  // listing every bad line (htpasswd.ts). Then it is watched, so a removed user is refused
  // within seconds; a later bad edit keeps the last good file in force.
  const htpasswd = config.basicAuth.enabled
    ? await HtpasswdFile.open({
        path: config.basicAuth.htpasswdFile,
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
      })
    : undefined;
  if (htpasswd !== undefined) {
    closers.push(() => {
      htpasswd.stop();
      return Promise.resolve();
    });
  }
  if (config.bearer.issuers.length > 0) {
    authenticators.push(
      new BearerTokenAuthenticator({
        issuers: config.bearer.issuers.map((issuer) => ({
          name: issuer.name,
          issuer: issuer.issuer,
          audiences: issuer.audiences,
          ...(issuer.jwksUri === undefined ? {} : { jwksUri: issuer.jwksUri }),
          algorithms: issuer.algorithms,
          clockSkewSeconds: Math.round(issuer.clockSkew / 1000),
          claims: issuer.claims,
          allowUnverifiedEmail: issuer.allowUnverifiedEmail,
        })),
        // A bearer issuer that is also a sign-in provider names users the way sessions do.
        providers: config.providers.map((provider) => ({
          name: provider.name,
          issuer: provider.issuer,
          claims: provider.claims,
        })),
        cache: config.bearer.cache,
        fetch: fetchImpl,
        now,
        logger: logger.child({ component: 'bearer' }),
      }),
    );
  }

  const assertionConfig = config.identityHeaders.assertion;
  let signingKeys: SigningKeyRing | undefined;
  let assertion: AssertionSigner | undefined;
  if (assertionConfig.enabled) {
    const keyFile = (path: string) => ({ text: readFileSync(path, 'utf8'), source: path });
    signingKeys = await loadSigningKeys({
      current:
        assertionConfig.signingKeyFile === '' ? null : keyFile(assertionConfig.signingKeyFile),
      previous: assertionConfig.previousKeyFiles.map(keyFile),
      generate: assertionConfig.generateKey,
      now,
      logger: logger.child({ component: 'assertion' }),
    });
    assertion = new AssertionSigner({
      keys: signingKeys,
      issuer: config.publicUrl,
      ttlSeconds: Math.floor(assertionConfig.ttl / 1000),
      now,
      logger: logger.child({ component: 'assertion' }),
    });
  }

  // -- sessions and sign-in ---------------------------------------------------------------------
  const { store: backingStore, redis: sessionRedis } = await createSessionStore(
    config,
    logger,
    now,
  );
  closers.push(() => backingStore.close());
  const sessions = new SessionCache({
    store: new InstrumentedSessionStore(backingStore, metrics),
    onLookup: (hit) => {
      metrics.sessionCacheLookups.inc({ result: hit ? 'hit' : 'miss' });
    },
    ttlMs: config.sessions.cache.ttl,
    maxEntries: config.sessions.cache.maxEntries,
    now,
  });
  const providers = new ProviderRegistry({
    providers: config.providers.map((provider) => ({
      name: provider.name,
      displayName: provider.displayName,
      issuer: provider.issuer,
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
      scopes: provider.scopes,
      authorizationParams: provider.authorizationParams,
      claims: provider.claims,
      endSession: provider.endSession,
      enabled: provider.enabled,
      domains: provider.domains,
      allowUnverifiedEmail: provider.allowUnverifiedEmail,
    })),
    fetch: fetchImpl,
    logger: logger.child({ component: 'providers' }),
    metrics,
  });
  // Discovery retries in the background until every provider answers; /readyz waits for it.
  void providers.start();
  closers.push(() => {
    providers.close();
    return Promise.resolve();
  });
  const refresher =
    config.sessions.refreshMargin > 0 || config.sessions.revalidateInterval > 0
      ? new TokenRefresher({
          store: sessions,
          providers,
          refreshMarginMs: config.sessions.refreshMargin,
          revalidateIntervalMs: config.sessions.revalidateInterval,
          now,
          logger: logger.child({ component: 'refresh' }),
          metrics,
          audit,
        })
      : undefined;
  let basic: BasicAuthenticator | undefined;
  if (htpasswd !== undefined) {
    basic = new BasicAuthenticator({
      users: () => htpasswd.users(),
      throttle: createLoginThrottle(config, sessionRedis, now, metrics, logger),
      realm: config.basicAuth.realm,
      now,
      onEvent: basicAuthEventHandler(metrics, logger.child({ component: 'basic-auth' })),
    });
    authenticators.push(basic);
  }
  // Role-mapping subjects without `sources` match only these identity sources (roles.ts).
  const unqualifiedSources = SubjectSources.of(
    unqualifiedSubjectSources(
      config.authz.unqualifiedSubjectSources,
      config.providers.map((provider) => provider.name),
    ),
  );
  const impersonation = config.impersonation.enabled
    ? new Impersonation({
        role: config.impersonation.role,
        superRole: config.authz.superRole === '' ? null : config.authz.superRole,
        rolesOf: (identity) =>
          policy.current()?.roles.rolesOf(identity, '', unqualifiedSources) ?? ['guest'],
        policy: () => policy.current(),
      })
    : undefined;
  const sessionAuthenticator = new SessionCookieAuthenticator({
    store: sessions,
    cookieName: config.sessions.cookie.name,
    metrics,
    refresher,
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
  authenticators.push(sessionAuthenticator);

  const proxyTrust = new ProxyTrust(config.trustedProxies);
  const publicBase = config.publicUrl.replace(/\/+$/, '');
  const signInStart = `${publicBase}${config.routes.prefix}/start`;
  const check: CheckDependencies = {
    authenticator: new AuthenticatorChain(authenticators),
    snapshot: () => policy.current(),
    decideOptions: {
      superRole: config.authz.superRole === '' ? null : config.authz.superRole,
      noMatch: config.authz.noMatch,
      unqualifiedSources,
    },
    headerProfiles,
    ...(assertion === undefined ? {} : { assertion }),
    proxyTrust,
    // RFC 6750 §3: an anonymous 401 tells API clients how to authenticate.
    bearerChallenge:
      config.bearer.issuers.length > 0 ? bearerChallengeFor(config.publicUrl) : undefined,
    now,
    rejectForgedIdentityHeaders: config.identityHeaders.rejectClientCopies,
    signInUrl: (request: AuthRequest) =>
      `${signInStart}?rd=${encodeURIComponent(request.originalUrl)}`,
    forbiddenContact: config.pages.forbiddenContact,
    // Sign-in per organisation: the 403 page's offers name providers as the chooser does.
    providerDisplayName: (name) =>
      config.providers.find((provider) => provider.name === name)?.displayName || undefined,
    metrics,
    audit,
    logger: logger.child({ component: 'authz' }),
    basicChallenge: basic?.challenge,
    impersonatorHeader: impersonation !== undefined,
    tokensOf: (identity) => sessionAuthenticator.tokensOf(identity),
  };

  const readiness: ReadinessCheck[] = [
    { name: 'policy', check: () => policy.ready() },
    { name: 'providers', check: () => providers.ready() },
    {
      name: 'sessions',
      check: async () => {
        await sessions.ping();
        return true;
      },
    },
  ];

  const mainHandler = createMainHandler({
    check,
    dialects: {
      nginx: createNginxDialect(config.dialects.nginx),
      forwardAuth: forwardAuthDialect,
      extAuthz: extAuthzDialect,
    },
    routesPrefix: config.routes.prefix,
    logger: logger.child({ component: 'http' }),
    ...(signingKeys === undefined ? {} : { jwks: () => jwksDocument(signingKeys) }),
    mountSignInRoutes: signInRoutes({
      publicUrl: config.publicUrl,
      routesPrefix: config.routes.prefix,
      cookie: {
        name: config.sessions.cookie.name,
        ...(config.sessions.cookie.domain === '' ? {} : { domain: config.sessions.cookie.domain }),
        secure: config.sessions.cookie.secure,
        sameSite: config.sessions.cookie.sameSite,
      },
      idleTimeoutMs: config.sessions.idleTimeout,
      absoluteLifetimeMs: config.sessions.absoluteLifetime,
      loginStateTtlMs: config.sessions.loginStateTtl,
      refreshMarginMs: config.sessions.refreshMargin,
      allowedRedirectDomains: config.redirects.allowedDomains,
      defaultRedirectUrl: config.redirects.defaultUrl,
      allowHttpRedirects: config.redirects.allowHttp,
      signInLimits: {
        clientRateLimit: config.signIn.clientRateLimit,
        clientRateWindowMs: config.signIn.clientRateWindow,
        maxPending: config.signIn.maxPending,
      },
      proxyTrust,
      store: sessions,
      providers,
      now,
      fetch: fetchImpl,
      logger: logger.child({ component: 'sign-in' }),
      metrics,
      audit,
      forbiddenContact: config.pages.forbiddenContact,
      rolesOf: (identity) =>
        policy.current()?.roles.rolesOf(identity, '', unqualifiedSources) ?? ['guest'],
      impersonation,
      // Sign-in per organisation: /oauth2/start offers only the providers rd's policy allows.
      allowedProviders: (rd) => allowedProvidersForUrl(rd, policy.current(), check.decideOptions),
    }),
  });
  const operationsApp = createOperationsApp({
    metrics,
    readiness,
    accepting: () => accepting,
    logger: logger.child({ component: 'operations' }),
  });

  await policy.start();
  if (!policy.ready()) {
    logger.warn(
      { source: policy.name },
      'no valid policy loaded yet: /readyz stays false and checks answer 503 until the problems logged above are fixed',
    );
  }

  const serverOptions = {
    maxHeaderSize: config.server.maxHeaderSize,
    requestTimeout: config.server.requestTimeout,
    headersTimeout: config.server.headersTimeout,
    keepAliveTimeout: config.server.keepAliveTimeout,
    // Node checks the header and request timeouts only this often (default 30 s), so without it
    // a slowloris client outlives `headersTimeout` by up to half a minute.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, config.server.headersTimeout)),
  };
  // Koa's callback returns a promise Node ignores; Koa handles its errors itself.
  const operationsHandler = operationsApp.callback();
  const mainServer = createServer(serverOptions, mainHandler);
  const operationsServer = createServer(
    serverOptions,
    (req, res) => void operationsHandler(req, res),
  );
  const mainUrl = await listen(mainServer, config.listeners.main.host, config.listeners.main.port);
  const operationsUrl = await listen(
    operationsServer,
    config.listeners.operations.host,
    config.listeners.operations.port,
  );
  logger.info(
    {
      main: mainUrl,
      operations: operationsUrl,
      policySource: policy.name,
      publicUrl: config.publicUrl,
    },
    'gatehouse is listening',
  );

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown requested'): Promise<void> => {
    shuttingDown ??= (async () => {
      accepting = false;
      logger.info(
        { reason, delayMs: config.server.shutdownDelay },
        'shutting down: readiness now fails; closing listeners after the delay',
      );
      await sleep(config.server.shutdownDelay);
      await Promise.all([
        closeServer(mainServer, config.server.shutdownTimeout),
        closeServer(operationsServer, config.server.shutdownTimeout),
      ]);
      for (const close of closers.reverse()) {
        try {
          await close();
        } catch (error) {
          logger.warn({ err: error }, 'error while closing a dependency');
        }
      }
      logger.info('gatehouse stopped');
    })();
    return shuttingDown;
  };

  return { mainUrl, operationsUrl, metrics, policy, shutdown };
}

function createPolicySource(
  config: Config,
  logger: Logger,
  now: () => number,
  metrics: Metrics,
): PolicySource {
  switch (config.policy.source) {
    case 'files':
      return new FilePolicySource({
        directory: config.policy.files.directory,
        watch: config.policy.files.watch,
        logger: logger.child({ component: 'policy' }),
        now,
      });
    case 'kubernetes':
      return createKubernetesPolicySource(config.policy.kubernetes, {
        logger: logger.child({ component: 'policy', source: 'kubernetes' }),
        metrics,
        now,
      });
  }
  throw new Error(`unknown policy.source "${String(config.policy.source)}"`);
}

/** The session store, and its Redis client when there is one (the login throttle shares it). */
async function createSessionStore(
  config: Config,
  logger: Logger,
  now: () => number,
): Promise<{ readonly store: SessionStore; readonly redis: RedisClient | null }> {
  const timing = {
    idleTimeoutMs: config.sessions.idleTimeout,
    absoluteLifetimeMs: config.sessions.absoluteLifetime,
    now,
    logger: logger.child({ component: 'sessions' }),
  };
  if (config.sessions.store === 'memory') {
    // Pending login states are bounded by signIn.maxPending; the memory store must hold as many.
    const maxEntries = Math.max(10_000, config.signIn.maxPending);
    return { store: new MemorySessionStore({ ...timing, maxEntries }), redis: null };
  }
  const redis = config.sessions.redis;
  const client = createRedisClient(
    {
      mode: redis.mode,
      ...(redis.url === '' ? {} : { url: redis.url }),
      sentinels: redis.sentinels,
      sentinelName: redis.sentinelName,
      clusterNodes: redis.clusterNodes,
      ...(redis.username === '' ? {} : { username: redis.username }),
      ...(redis.password === '' ? {} : { password: redis.password }),
      tls: redis.tls,
      keyPrefix: redis.keyPrefix,
    },
    logger.child({ component: 'redis' }),
  );
  try {
    // The client fails commands fast instead of queueing them while disconnected, so the first
    // commands must wait for the connection; a Redis that stays away fails the start loudly.
    await waitForRedisReady(client, 10_000);
  } catch (error) {
    client.disconnect();
    throw new Error(
      `Redis is not reachable (sessions.redis, mode ${redis.mode}): ${error instanceof Error ? error.message : String(error)}. ` +
        'Check the address and credentials, or use sessions.store: memory for a single local replica.',
      { cause: error },
    );
  }
  return {
    store: new RedisSessionStore({ client, keyPrefix: redis.keyPrefix, ...timing }),
    redis: client,
  };
}

/**
 * Brute-force regulation of Basic authentication: in Redis beside the sessions, so every replica
 * counts the same failures; in memory only when sessions are (one local replica).
 */
function createLoginThrottle(
  config: Config,
  redis: RedisClient | null,
  now: () => number,
  metrics: Metrics,
  logger: Logger,
): LoginThrottle {
  const { maxRetries, findTime, banTime } = config.basicAuth.throttle;
  const throttleLogger = logger.child({ component: 'basic-auth' });
  const settings = {
    maxRetries,
    findTimeMs: findTime,
    banTimeMs: banTime,
    onBan: (event: BanEvent) => {
      metrics.basicAuthBans.inc({ scope: event.scope });
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
    ? new MemoryLoginThrottle({ ...settings, now })
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

function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shownHost}:${address.port}`);
    });
  });
}

/** Stops accepting, lets in-flight requests finish, cuts what is left after `timeoutMs`. */
function closeServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
    }, timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
