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
import type { AuthRequest } from './authz/auth-request.ts';
import type { Config } from './config/schema.ts';
import {
  extAuthzDialect,
  forwardAuthDialect,
  nginxDialect,
  ProxyTrust,
} from './dialects/dialects.ts';
import type { CheckDependencies } from './http/check-route.ts';
import { createMainApp } from './http/main-app.ts';
import { createOperationsApp, type ReadinessCheck } from './http/operations-app.ts';
import { AssertionSigner } from './identity/assertion.ts';
import { createHeaderProfiles } from './identity/header-profiles.ts';
import { jwksDocument } from './identity/signing-keys-jwks.ts';
import { loadSigningKeys, type SigningKeyRing } from './identity/signing-keys.ts';
import { Metrics } from './metrics/metrics.ts';
import type { PolicySource } from './policy/policy-source.ts';
import { FilePolicySource } from './policy/sources/files/file-source.ts';

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
  const closers: (() => Promise<void>)[] = [];
  let accepting = true;

  const policy = createPolicySource(config, logger, now);
  policy.onReload((result) => {
    metrics.policyReloads.inc({ source: policy.name, result: result.ok ? 'success' : 'failure' });
    if (result.ok) {
      for (const [kind, count] of Object.entries(result.counts))
        metrics.policyObjects.set({ kind }, count);
      if (result.changed) metrics.policyLastReload.set({ source: policy.name }, now() / 1000);
    }
  });
  closers.push(() => policy.stop());

  const headerProfiles = createHeaderProfiles({
    defaultProfile: config.identityHeaders.profile,
    ...(Object.keys(config.identityHeaders.custom).length > 0
      ? { custom: { custom: config.identityHeaders.custom } }
      : {}),
  });

  const authenticators: Authenticator[] = [];
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

  const publicBase = config.publicUrl.replace(/\/+$/, '');
  const signInStart = `${publicBase}${config.routes.prefix}/start`;
  const check: CheckDependencies = {
    authenticator: new AuthenticatorChain(authenticators),
    snapshot: () => policy.current(),
    decideOptions: {
      superRole: config.authz.superRole === '' ? null : config.authz.superRole,
      noMatch: config.authz.noMatch,
    },
    headerProfiles,
    ...(assertion === undefined ? {} : { assertion }),
    proxyTrust: new ProxyTrust(config.trustedProxies),
    rejectForgedIdentityHeaders: config.identityHeaders.rejectClientCopies,
    signInUrl: (request: AuthRequest) =>
      `${signInStart}?rd=${encodeURIComponent(request.originalUrl)}`,
    forbiddenContact: config.pages.forbiddenContact,
    stylesheetHref: `${publicBase}${config.routes.prefix}/static/gatehouse.css`,
    metrics,
    logger: logger.child({ component: 'authz' }),
  };

  const readiness: ReadinessCheck[] = [{ name: 'policy', check: () => policy.ready() }];

  const mainApp = createMainApp({
    check,
    dialects: { nginx: nginxDialect, forwardAuth: forwardAuthDialect, extAuthz: extAuthzDialect },
    routesPrefix: config.routes.prefix,
    logger: logger.child({ component: 'http' }),
    ...(signingKeys === undefined ? {} : { jwks: () => jwksDocument(signingKeys) }),
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
  };
  // Koa's callback returns a promise Node ignores; Koa handles its errors itself.
  const mainHandler = mainApp.callback();
  const operationsHandler = operationsApp.callback();
  const mainServer = createServer(serverOptions, (req, res) => void mainHandler(req, res));
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

function createPolicySource(config: Config, logger: Logger, now: () => number): PolicySource {
  switch (config.policy.source) {
    case 'files':
      return new FilePolicySource({
        directory: config.policy.files.directory,
        watch: config.policy.files.watch,
        logger: logger.child({ component: 'policy' }),
        now,
      });
    case 'kubernetes':
      throw new Error('policy.source "kubernetes" is not available in this build yet; use "files"');
  }
  throw new Error(`unknown policy.source "${String(config.policy.source)}"`);
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
