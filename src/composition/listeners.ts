/**
 * The two listeners — main (checks, sign-in, JWKS) and operations (`/metrics`, `/healthz`,
 * `/readyz`) — and the graceful shutdown that closes them and then every dependency.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.ts';
import { createNginxDialect, extAuthzDialect, forwardAuthDialect } from '../dialects/dialects.ts';
import type { CheckDependencies } from '../http/check-route.ts';
import { createMainHandler } from '../http/main-app.ts';
import { createOperationsApp, type ReadinessCheck } from '../http/operations-app.ts';
import { signInRoutes } from '../http/sign-in/routes.ts';
import { jwksDocument } from '../identity/signing-keys-jwks.ts';
import type { SigningKeyRing } from '../identity/signing-keys.ts';
import type { SignInOptions } from '../oidc/sign-in-options.ts';
import type { Closers } from './closers.ts';
import type { Runtime } from './runtime.ts';

/**
 * The main listener's handler: the check endpoints of the three dialects, the sign-in routes,
 * and the JWKS when the assertion is signed.
 */
export function buildMainHandler(
  config: Pick<Config, 'dialects' | 'routes'>,
  parts: {
    readonly check: CheckDependencies;
    readonly signIn: SignInOptions;
    readonly signingKeys: SigningKeyRing | undefined;
  },
  runtime: Runtime,
): RequestListener {
  const { signingKeys } = parts;
  return createMainHandler({
    check: parts.check,
    dialects: {
      nginx: createNginxDialect(config.dialects.nginx),
      forwardAuth: forwardAuthDialect,
      extAuthz: extAuthzDialect,
    },
    routesPrefix: config.routes.prefix,
    logger: runtime.logger.child({ component: 'http' }),
    ...(signingKeys === undefined ? {} : { jwks: () => jwksDocument(signingKeys) }),
    mountSignInRoutes: signInRoutes(parts.signIn),
  });
}

/**
 * `/readyz`: the policy is loaded and the session store reachable. Provider discovery is shown
 * (`checks.providers`, `gatehouse_dependency_up{dependency="providers"}`) but is NOT a condition:
 * one unreachable identity provider would keep every new pod not ready and stall every rollout,
 * while checks, bearer tokens and the other providers work. Discovery keeps retrying in the
 * background; until it succeeds, that provider's sign-ins get the "not available yet" page
 * (oidc/login.ts).
 */
export function readinessChecks(parts: {
  readonly policy: { ready(): boolean };
  readonly providers: { ready(): boolean };
  readonly sessions: { ping(): Promise<unknown> };
}): ReadinessCheck[] {
  return [
    { name: 'policy', check: () => parts.policy.ready() },
    { name: 'providers', check: () => parts.providers.ready(), informational: true },
    {
      name: 'sessions',
      check: async () => {
        await parts.sessions.ping();
        return true;
      },
    },
  ];
}

export interface Listeners {
  /** `http://host:port` of the main listener as bound (port 0 resolves here). */
  readonly mainUrl: string;
  readonly operationsUrl: string;
  /** Fails readiness, waits `server.shutdownDelay`, drains in-flight requests, closes everything. */
  readonly shutdown: (reason?: string) => Promise<void>;
}

export async function startListeners(
  config: Pick<Config, 'listeners' | 'server' | 'publicUrl'>,
  parts: {
    readonly mainHandler: RequestListener;
    readonly readiness: readonly ReadinessCheck[];
    /** Closed after the listeners, at shutdown. */
    readonly closers: Closers;
    /** The policy source's name, for the start-up log line. */
    readonly policySource: string;
  },
  runtime: Runtime,
): Promise<Listeners> {
  const { logger } = runtime;
  let accepting = true;
  const operationsApp = createOperationsApp({
    metrics: runtime.metrics,
    readiness: parts.readiness,
    accepting: () => accepting,
    logger: logger.child({ component: 'operations' }),
  });

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
  const mainServer = createServer(serverOptions, parts.mainHandler);
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
      policySource: parts.policySource,
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
      await parts.closers.closeAll(logger);
      logger.info('gatehouse stopped');
    })();
    return shuttingDown;
  };

  return { mainUrl, operationsUrl, shutdown };
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
