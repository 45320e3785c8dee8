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
import { AuthenticatorChain } from '../../../src/authn/authenticator.ts';
import { SessionCookieAuthenticator } from '../../../src/authn/session-cookie.ts';
import { defaultDecideOptions } from '../../../src/authz/decide.ts';
import { ProxyTrust } from '../../../src/dialects/proxy-trust.ts';
import {
  extAuthzDialect,
  forwardAuthDialect,
  nginxDialect,
} from '../../../src/dialects/dialects.ts';
import { allowedProvidersForUrl } from '../../../src/http/allowed-providers.ts';
import { createMainHandler } from '../../../src/http/main-app.ts';
import { signInRoutes } from '../../../src/http/sign-in/routes.ts';
import { createHeaderProfiles } from '../../../src/identity/header-profiles.ts';
import { Metrics } from '../../../src/metrics/metrics.ts';
import { AuditLog } from '../../../src/audit/audit-log.ts';
import type { ProviderOptions } from '../../../src/oidc/provider-options.ts';
import { ProviderRegistry } from '../../../src/oidc/provider-registry.ts';
import type { SessionCookieOptions, SignInOptions } from '../../../src/oidc/sign-in-options.ts';
import { TokenRefresher } from '../../../src/oidc/token-refresh.ts';
import type { PolicyResource } from '../../../src/policy/resources.ts';
import { buildSnapshot } from '../../../src/policy/snapshot.ts';
import { MemorySessionStore } from '../../../src/sessions/memory/memory-store.ts';
import {
  createRedisClient,
  waitForRedisReady,
} from '../../../src/sessions/redis/redis-connection.ts';
import { RedisSessionStore } from '../../../src/sessions/redis/redis-store.ts';
import { SessionCache } from '../../../src/sessions/session-cache.ts';
import type { SessionStore } from '../../../src/sessions/session-store.ts';
import { nginxAuthTarget } from '../../fixtures/gatehouse/checks.ts';
import { browserlessLogin } from '../../fixtures/oidc/browserless-login.ts';
import type { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';

/**
 * Test harness for the sign-in flow: a real dev OpenID Provider over HTTP on 127.0.0.1, and
 * gatehouse main apps (createMainApp + the sign-in routes + a real check pipeline with a policy
 * for `app.test`) on their own ports, with a memory or Redis session store.
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
  readonly providers: readonly ProviderOptions[];
  /** The store the app uses (a SessionCache around Redis, or a memory store). */
  readonly store: SessionStore;
  readonly clock?: Clock;
  readonly fetch?: typeof globalThis.fetch;
  readonly refreshMarginMs?: number;
  /** `sessions.revalidateInterval`: re-ask the provider this often (0 or omitted: never). */
  readonly revalidateIntervalMs?: number;
  readonly cookie?: Partial<SessionCookieOptions>;
  readonly allowedRedirectDomains?: readonly string[];
  /** Any other sign-in option (an https `publicUrl`, limits, a ProxyTrust…), applied last. */
  readonly signIn?: Partial<SignInOptions>;
  /** The policies of the check pipeline; default `testPolicy()`. */
  readonly policies?: readonly PolicyResource[];
}

export interface Gatehouse {
  readonly url: string;
  readonly store: SessionStore;
  readonly metrics: Metrics;
  readonly registry: ProviderRegistry;
  readonly options: SignInOptions;
  close(): Promise<void>;
}

const silent = pino({ level: 'silent' });

export async function startGatehouse(options: GatehouseOptions): Promise<Gatehouse> {
  const { reserved, store } = options;
  const now = options.clock?.now ?? Date.now;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const metrics = new Metrics({ collectProcessMetrics: false });
  const registry = new ProviderRegistry({
    providers: options.providers,
    fetch: fetchImpl,
    logger: silent,
    metrics,
  });
  await registry.start();
  const snapshot = buildSnapshot([...(options.policies ?? testPolicy())]);
  const signIn: SignInOptions = {
    publicUrl: reserved.url,
    routesPrefix: '/oauth2',
    audit: new AuditLog(silent),
    cookie: { name: '_gatehouse', secure: true, sameSite: 'lax', ...options.cookie },
    idleTimeoutMs: IDLE_MS,
    absoluteLifetimeMs: ABSOLUTE_MS,
    loginStateTtlMs: 10 * 60 * 1000,
    refreshMarginMs: options.refreshMarginMs ?? 0,
    allowedRedirectDomains: options.allowedRedirectDomains ?? ['.app.test', 'good.test'],
    defaultRedirectUrl: APP_URL,
    store,
    providers: registry,
    now,
    fetch: fetchImpl,
    logger: silent,
    metrics,
    rolesOf: (identity) => snapshot.roles.rolesOf(identity, ''),
    // As main.ts wires it: the providers the destination's policy allows.
    allowedProviders: (rd) => allowedProvidersForUrl(rd, snapshot, defaultDecideOptions),
    ...options.signIn,
  };
  const revalidateIntervalMs = options.revalidateIntervalMs ?? 0;
  const refresher =
    signIn.refreshMarginMs > 0 || revalidateIntervalMs > 0
      ? new TokenRefresher({
          store,
          providers: registry,
          refreshMarginMs: signIn.refreshMarginMs,
          revalidateIntervalMs,
          now,
          logger: silent,
          metrics,
        })
      : undefined;
  const handler = createMainHandler({
    check: {
      audit: new AuditLog(silent),
      authenticator: new AuthenticatorChain([
        new SessionCookieAuthenticator({
          store,
          cookieName: signIn.cookie.name,
          metrics,
          refresher,
        }),
      ]),
      snapshot: () => snapshot,
      decideOptions: defaultDecideOptions,
      headerProfiles: createHeaderProfiles({ defaultProfile: 'x-auth-request' }),
      proxyTrust: new ProxyTrust(['127.0.0.1/32']),
      rejectForgedIdentityHeaders: true,
      signInUrl: (request) =>
        `${reserved.url}/oauth2/start?${new URLSearchParams({ rd: request.originalUrl }).toString()}`,
      forbiddenContact: 'Ask the test.',
      providerDisplayName: (name) =>
        options.providers.find((provider) => provider.name === name)?.displayName || undefined,
      metrics,
      logger: silent,
    },
    dialects: { nginx: nginxDialect, forwardAuth: forwardAuthDialect, extAuthz: extAuthzDialect },
    routesPrefix: '/oauth2',
    logger: silent,
    mountSignInRoutes: signInRoutes(signIn),
  });
  reserved.handle(handler);
  return {
    url: reserved.url,
    store,
    metrics,
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
