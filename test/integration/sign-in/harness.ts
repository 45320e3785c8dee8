import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import {
  startDevIdentityProvider,
  type DevClient,
  type DevIdentityProvider,
} from '../../../dev/identity-provider.ts';
import type { DevUser } from '../../../dev/demo-users.ts';
import { defaultDecideOptions } from '../../../src/authz/decide.ts';
import { buildAuthenticators } from '../../../src/composition/authenticators.ts';
import { buildCheckDependencies } from '../../../src/composition/check.ts';
import { buildIdentity } from '../../../src/composition/identity.ts';
import { buildMainHandler } from '../../../src/composition/listeners.ts';
import { buildProviders, buildRefresher } from '../../../src/composition/providers.ts';
import { createRuntime } from '../../../src/composition/runtime.ts';
import { buildSignInOptions } from '../../../src/composition/sign-in.ts';
import { loadConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/schema.ts';
import { ProxyTrust } from '../../../src/dialects/proxy-trust.ts';
import type { Metrics } from '../../../src/metrics/metrics.ts';
import type { ProviderOptions } from '../../../src/oidc/provider-options.ts';
import type { ProviderRegistry } from '../../../src/oidc/provider-registry.ts';
import type { SignInOptions } from '../../../src/oidc/sign-in-options.ts';
import type { PolicyResource } from '../../../src/policy/resources.ts';
import { buildSnapshot } from '../../../src/policy/snapshot.ts';
import { MemorySessionStore } from '../../../src/sessions/memory/memory-store.ts';
import {
  createRedisClient,
  waitForRedisReady,
} from '../../../src/sessions/redis/redis-connection.ts';
import { RedisSessionStore } from '../../../src/sessions/redis/redis-store.ts';
import { SessionCache } from '../../../src/sessions/session-cache.ts';
import type { SessionBackend } from '../../../src/sessions/session-backend.ts';
import { nginxAuthTarget } from '../../fixtures/gatehouse/checks.ts';
import { browserlessLogin } from '../../fixtures/oidc/browserless-login.ts';
import type { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';

/**
 * Test harness for the sign-in flow: a real dev OpenID Provider over HTTP on 127.0.0.1, and
 * gatehouse main handlers (the sign-in routes + a real check pipeline with a policy for
 * `app.test`) on their own ports, with a memory or Redis session store. They are built by the
 * composition root's own builders (src/composition/) from a configuration — the defaults plus
 * the test's settings — with the test's parts: its store, a fixed snapshot, a silent logger.
 */

export const APP_URL = 'https://app.test/';
export const PUBLIC_PAGE = 'https://app.test/public/page';
export const IDLE_MS = 60 * 60 * 1000;
export const ABSOLUTE_MS = 8 * 60 * 60 * 1000;

/** A listening server whose handler is attached later (the provider must know our URL first). */
export interface ReservedServer {
  readonly server: Server;
  readonly url: string;
  handle(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
}

export async function reserveServer(): Promise<ReservedServer> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler === undefined) {
      res.statusCode = 503;
      res.end();
    } else handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    handle: (next) => {
      handler = next;
    },
  };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}

export function devClient(
  server: ReservedServer | readonly ReservedServer[],
  overrides: Partial<DevClient> = {},
): DevClient {
  const servers = Array.isArray(server) ? server : [server as ReservedServer];
  return {
    clientId: 'gatehouse',
    clientSecret: 'gatehouse-secret',
    redirectUris: servers.map((s) => `${s.url}/oauth2/callback`),
    postLogoutRedirectUris: servers.map((s) => `${s.url}/oauth2/signed-out`),
    backchannelLogoutUri: `${servers[0]!.url}/oauth2/backchannel_logout`,
    ...overrides,
  };
}

export async function startProvider(
  clients: readonly DevClient[],
  options: { extraUsers?: readonly DevUser[]; accessTokenTtlSeconds?: number } = {},
): Promise<DevIdentityProvider> {
  return startDevIdentityProvider({
    clients,
    ...(options.extraUsers === undefined ? {} : { extraUsers: options.extraUsers }),
    ...(options.accessTokenTtlSeconds === undefined
      ? {}
      : { accessTokenTtlSeconds: options.accessTokenTtlSeconds }),
  });
}

export function providerOptions(
  idp: DevIdentityProvider,
  overrides: Partial<ProviderOptions> = {},
): ProviderOptions {
  return {
    name: 'dev',
    displayName: 'Dev provider',
    issuer: idp.issuer,
    clientId: 'gatehouse',
    clientSecret: 'gatehouse-secret',
    scopes: ['openid', 'email', 'profile'],
    authorizationParams: {},
    claims: { username: 'preferred_username', email: 'email', name: 'name', groups: 'groups' },
    endSession: false,
    ...overrides,
  };
}

export function testPolicy(): PolicyResource[] {
  return [
    {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ClusterAccessPolicy',
      metadata: { name: 'app', creationTimestamp: '2025-01-01T00:00:00Z' },
      spec: {
        hosts: ['app.test'],
        rules: [
          {
            name: 'public',
            match: [{ path: { type: 'PathPrefix', value: '/public' } }],
            roles: ['guest'],
          },
          {
            name: 'app',
            match: [{ path: { type: 'PathPrefix', value: '/' } }],
            roles: ['authenticated'],
          },
        ],
      },
    } as unknown as PolicyResource,
  ];
}

export interface Clock {
  now: () => number;
  advance(ms: number): void;
}

export function testClock(): Clock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
}

export interface GatehouseOptions {
  readonly reserved: ReservedServer;
  /** `publicUrl`; default the reserved server's `http://127.0.0.1:<port>`. */
  readonly publicUrl?: string;
  readonly providers: readonly ProviderOptions[];
  /** The store the app uses (a SessionCache around Redis, or a memory store). */
  readonly store: SessionBackend;
  readonly clock?: Clock;
  readonly fetch?: typeof globalThis.fetch;
  readonly refreshMarginMs?: number;
  /** `sessions.revalidateInterval`: re-ask the provider this often (0 or omitted: never). */
  readonly revalidateIntervalMs?: number;
  /** `sessions.cookie`; default `_gatehouse`, Secure, SameSite=Lax, host-only. */
  readonly cookie?: Partial<Config['sessions']['cookie']>;
  readonly allowedRedirectDomains?: readonly string[];
  /** `pages` (branding, the 403 contact); default the schema's. */
  readonly pages?: Partial<Config['pages']>;
  /** Any other sign-in option (an https `publicUrl`, limits, a ProxyTrust…), applied last. */
  readonly signIn?: Partial<SignInOptions>;
  /** The policies of the check pipeline; default `testPolicy()`. */
  readonly policies?: readonly PolicyResource[];
}

export interface Gatehouse {
  readonly url: string;
  readonly store: SessionBackend;
  readonly metrics: Metrics;
  readonly registry: ProviderRegistry;
  readonly options: SignInOptions;
  close(): Promise<void>;
}

const silent = pino({ level: 'silent' });

/** The configuration of a test gatehouse: its providers are the tests' own ProviderOptions. */
type TestConfig = Omit<Config, 'providers'> & { readonly providers: readonly ProviderOptions[] };

const defaults = (() => {
  const loaded = loadConfig({ env: {} });
  if (!loaded.ok) throw new Error('the default configuration does not load');
  return loaded.config;
})();

function testConfig(options: GatehouseOptions): TestConfig {
  return {
    ...defaults,
    publicUrl: options.publicUrl ?? options.reserved.url,
    providers: options.providers,
    pages: { ...defaults.pages, ...options.pages },
    redirects: {
      ...defaults.redirects,
      allowedDomains: options.allowedRedirectDomains ?? ['.app.test', 'good.test'],
      defaultUrl: APP_URL,
    },
    sessions: {
      ...defaults.sessions,
      cookie: { ...defaults.sessions.cookie, ...options.cookie },
      idleTimeout: IDLE_MS,
      absoluteLifetime: ABSOLUTE_MS,
      loginStateTtl: 10 * 60 * 1000,
      refreshMargin: options.refreshMarginMs ?? 0,
      revalidateInterval: options.revalidateIntervalMs ?? 0,
    },
  };
}

export async function startGatehouse(options: GatehouseOptions): Promise<Gatehouse> {
  const { reserved, store } = options;
  const config = testConfig(options);
  const runtime = createRuntime({
    logger: silent,
    processMetrics: false,
    ...(options.clock === undefined ? {} : { now: options.clock.now }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const registry = buildProviders(config, runtime);
  await registry.start();
  const fixed = buildSnapshot([...(options.policies ?? testPolicy())]);
  const snapshot = () => fixed;
  // Without a configuration's `authz`, every identity source counts (roles.ts SubjectSources.every).
  const decideOptions = defaultDecideOptions;
  const signIn: SignInOptions = {
    ...buildSignInOptions(
      config,
      {
        store,
        providers: registry,
        // No per-client sign-in rate limit unless a test brings a ProxyTrust (`signIn`).
        proxyTrust: undefined,
        snapshot,
        decideOptions,
        impersonation: undefined,
      },
      runtime,
    ),
    ...options.signIn,
  };
  const refresher = buildRefresher(
    {
      refreshMargin: signIn.refreshMarginMs,
      revalidateInterval: config.sessions.revalidateInterval,
    },
    { store, providers: registry },
    runtime,
  );
  const authenticators = buildAuthenticators(
    config,
    { sessions: store, refresher, htpasswd: undefined, redis: null, snapshot, decideOptions },
    runtime,
  );
  const identity = await buildIdentity(config, runtime);
  const check = buildCheckDependencies(
    config,
    {
      authenticators,
      identity,
      snapshot,
      decideOptions,
      proxyTrust: new ProxyTrust(['127.0.0.1/32']),
    },
    runtime,
  );
  reserved.handle(buildMainHandler(config, { check, signIn, signingKeys: undefined }, runtime));
  return {
    url: reserved.url,
    store,
    metrics: runtime.metrics,
    registry,
    options: signIn,
    close: async () => {
      registry.close();
      await closeServer(reserved.server);
    },
  };
}

export function memoryStore(clock?: Clock): MemorySessionStore {
  return new MemorySessionStore({
    idleTimeoutMs: IDLE_MS,
    absoluteLifetimeMs: ABSOLUTE_MS,
    ...(clock === undefined ? {} : { now: clock.now }),
  });
}

/** A RedisSessionStore under a unique prefix, behind a SessionCache (as a replica runs it). */
export async function redisStore(
  keyPrefix: string,
  cacheTtlMs: number,
  clock?: Clock,
): Promise<SessionCache> {
  const client = createRedisClient({
    mode: 'standalone',
    url: 'redis://127.0.0.1:6379',
    keyPrefix,
  });
  await waitForRedisReady(client, 5000);
  const redis = new RedisSessionStore({
    client,
    keyPrefix,
    idleTimeoutMs: IDLE_MS,
    absoluteLifetimeMs: ABSOLUTE_MS,
    ...(clock === undefined ? {} : { now: clock.now }),
  });
  await redis.revocationsReady();
  return new SessionCache({
    store: redis,
    ttlMs: cacheTtlMs,
    ...(clock === undefined ? {} : { now: clock.now }),
  });
}

/** Deletes every key under the prefix. */
export async function flushPrefix(keyPrefix: string): Promise<void> {
  const admin = new Redis('redis://127.0.0.1:6379');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

/** Every gatehouse response of a flow, for "at most one Set-Cookie" and size assertions. */
export type ResponseLog = Response[];

export async function gatehouseFetch(
  jar: CookieJar,
  url: string,
  init: RequestInit = {},
  log?: ResponseLog,
): Promise<Response> {
  const response = await jar.fetch(url, init);
  log?.push(response);
  return response;
}

export interface SignedIn {
  /** Where the callback sent the browser. */
  readonly location: string;
  readonly callback: Response;
}

/** Starts at gatehouse, signs in at the provider, follows the callback; returns where it led. */
export async function signIn(
  gatehouse: Gatehouse,
  jar: CookieJar,
  username: string,
  options: { rd?: string; log?: ResponseLog; provider?: string } = {},
): Promise<SignedIn> {
  const authorizationUrl = await startSignIn(gatehouse, jar, options);
  const callbackUrl = await browserlessLogin({
    authorizationUrl,
    username,
    password: username,
    jar,
    redirectUri: `${gatehouse.url}/oauth2/callback`,
  });
  const callback = await gatehouseFetch(jar, callbackUrl.href, {}, options.log);
  return { location: callback.headers.get('location') ?? '', callback };
}

/** `/oauth2/start`: the provider's authorization URL it redirects to. */
export async function startSignIn(
  gatehouse: Gatehouse,
  jar: CookieJar,
  options: { rd?: string; log?: ResponseLog; provider?: string } = {},
): Promise<string> {
  const params = new URLSearchParams();
  if (options.rd !== undefined) params.set('rd', options.rd);
  if (options.provider !== undefined) params.set('provider', options.provider);
  const start = await gatehouseFetch(
    jar,
    `${gatehouse.url}/oauth2/start?${params.toString()}`,
    {},
    options.log,
  );
  if (start.status !== 302)
    throw new Error(`start answered ${start.status}: ${await start.text()}`);
  return start.headers.get('location')!;
}

/** What ingress-nginx's auth subrequest would ask for the browser holding `jar`. */
export async function check(
  gatehouse: Gatehouse,
  cookie: string | undefined,
  url = APP_URL,
): Promise<Response> {
  const headers: Record<string, string> = { 'x-original-url': url, 'x-original-method': 'GET' };
  if (cookie !== undefined) headers['cookie'] = cookie;
  return fetch(`${gatehouse.url}${nginxAuthTarget(url)}`, { headers });
}

/** Signs out through the confirmation form; returns the POST's response. */
export async function signOut(
  gatehouse: Gatehouse,
  jar: CookieJar,
  log?: ResponseLog,
): Promise<Response> {
  const page = await gatehouseFetch(jar, `${gatehouse.url}/oauth2/sign_out`, {}, log);
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]*)"/.exec(html)?.[1] ?? '';
  const rd = /name="rd" value="([^"]*)"/.exec(html)?.[1] ?? '';
  return gatehouseFetch(
    jar,
    `${gatehouse.url}/oauth2/sign_out`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gatehouse.url },
      body: new URLSearchParams({ csrf, rd: rd.replaceAll('&amp;', '&') }).toString(),
    },
    log,
  );
}

/** The URL of a fetch call's first argument. */
export function urlOf(input: string | URL | Request): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}
