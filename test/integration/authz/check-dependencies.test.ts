/**
 * The check pipeline built by hand from real parts (main-app handler over HTTP, the session
 * authenticator on a real Redis session store, the real token refresher, the nginx and ext_authz
 * dialects), for the dependencies the composition root (src/main.ts) passes and the in-process
 * gatehouse fixture cannot set on its own: the clock and the Bearer challenge.
 *
 * - Token pass-through never sends an expired access token. When the refresh fails (here: the
 *   provider is not available, which TokenRefresher answers like a network error, with the
 *   session as it was), the header goes out empty and counts as `missing`.
 * - An anonymous 401 tells the client how to authenticate (RFC 9110 §11.6.1): `Bearer realm=…`
 *   when bearer issuers are configured (RFC 6750 §3), `Basic` when the policy offers Basic
 *   (RFC 7617 §2), both when both apply.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.ts';
import { AuthenticatorChain } from '../../../src/authn/authenticator.ts';
import { SessionCookieAuthenticator } from '../../../src/authn/session-cookie.ts';
import { defaultDecideOptions } from '../../../src/authz/decide.ts';
import {
  extAuthzDialect,
  forwardAuthDialect,
  nginxDialect,
} from '../../../src/dialects/dialects.ts';
import { ProxyTrust } from '../../../src/dialects/proxy-trust.ts';
import { bearerChallengeFor, type CheckDependencies } from '../../../src/http/check-route.ts';
import { createMainHandler } from '../../../src/http/main-app.ts';
import { createHeaderProfiles } from '../../../src/identity/header-profiles.ts';
import { Metrics } from '../../../src/metrics/metrics.ts';
import { ProviderRegistry } from '../../../src/oidc/provider-registry.ts';
import { TokenRefresher } from '../../../src/oidc/token-refresh.ts';
import type { PolicyResource } from '../../../src/policy/resources.ts';
import { buildSnapshot } from '../../../src/policy/snapshot.ts';
import {
  createRedisClient,
  waitForRedisReady,
} from '../../../src/sessions/redis/redis-connection.ts';
import { RedisSessionStore } from '../../../src/sessions/redis/redis-store.ts';
import { issueTicket } from '../../../src/sessions/ticket.ts';
import { nginxAuthTarget } from '../../fixtures/gatehouse/checks.ts';
import { listenOnLoopback } from '../../fixtures/gatehouse/free-port.ts';
import { send, type RawResponse } from '../../fixtures/gatehouse/http-client.ts';
import { LogCapture } from '../../fixtures/gatehouse/log-capture.ts';

const keyPrefix = `gatehouse-test:check-dependencies:${randomUUID()}:`;
const HOUR = 60 * 60 * 1000;
const MARGIN_MS = 60_000;

const tokensHost = 'tokens.deps.test';
const basicHost = 'basic.deps.test';
const basicChallenge = 'Basic realm="gatehouse-test", charset="UTF-8"';

function policy(name: string, host: string, spec: Record<string, unknown>): PolicyResource {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ClusterAccessPolicy',
    metadata: { name, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: {
      hosts: [host],
      ...spec,
      rules: [
        {
          name: 'app',
          match: [{ path: { type: 'PathPrefix', value: '/' } }],
          roles: ['authenticated'],
        },
      ],
    },
  } as unknown as PolicyResource;
}

/** A clock the test moves: the store, the refresher and the check all read it. */
let offset = 0;
const now = (): number => Date.now() + offset;

interface Instance {
  readonly url: string;
  readonly metrics: Metrics;
  readonly logs: LogCapture;
  close(): Promise<void>;
}

let store: RedisSessionStore;
let registry: ProviderRegistry;
const instances: Instance[] = [];

async function startInstance(extra: Partial<CheckDependencies>): Promise<Instance> {
  const metrics = new Metrics({ collectProcessMetrics: false });
  const logs = new LogCapture();
  const logger = pino({ level: 'info' }, logs.stream);
  const refresher = new TokenRefresher({
    store,
    providers: registry,
    refreshMarginMs: MARGIN_MS,
    now,
    logger,
    metrics,
  });
  const sessions = new SessionCookieAuthenticator({
    store,
    cookieName: '_gatehouse',
    metrics,
    refresher,
  });
  const snapshot = buildSnapshot([
    policy('tokens', tokensHost, {
      upstreamTokens: {
        accessToken: { header: 'Authorization' },
        idToken: { header: 'X-Id-Token' },
      },
    }),
    policy('basic', basicHost, { authentication: { basic: true } }),
  ]);
  const check: CheckDependencies = {
    authenticator: new AuthenticatorChain([sessions]),
    snapshot: () => snapshot,
    decideOptions: defaultDecideOptions,
    headerProfiles: createHeaderProfiles({ defaultProfile: 'x-auth-request' }),
    proxyTrust: new ProxyTrust(['127.0.0.1/32']),
    rejectForgedIdentityHeaders: true,
    signInUrl: (request) =>
      `https://auth.deps.test/oauth2/start?rd=${encodeURIComponent(request.originalUrl)}`,
    forbiddenContact: 'Ask the test.',
    metrics,
    audit: new AuditLog(logger),
    logger,
    tokensOf: (identity) => sessions.tokensOf(identity),
    ...extra,
  };
  const server: Server = createServer(
    createMainHandler({
      check,
      dialects: { nginx: nginxDialect, forwardAuth: forwardAuthDialect, extAuthz: extAuthzDialect },
      routesPrefix: '/oauth2',
      logger,
    }),
  );
  const instance: Instance = {
    url: await listenOnLoopback(server),
    metrics,
    logs,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error === undefined) resolve();
          else reject(error);
        });
      }),
  };
  instances.push(instance);
  return instance;
}

function nginxCheck(instance: Instance, url: string, headers: [string, string][] = []) {
  return send(instance.url, {
    path: nginxAuthTarget(url),
    headers: [['X-Original-URL', url], ['X-Original-Method', 'GET'], ...headers],
  });
}

async function signedIn(accessTokenExpiresIn: number): Promise<string> {
  const ticket = issueTicket();
  await store.create(
    {
      provider: 'corp',
      subject: `user-${randomUUID()}`,
      identity: { user: 'alice', groups: [], claims: {} },
      tokens: {
        accessToken: 'access-token-0001',
        refreshToken: 'refresh-token-0001',
        idToken: 'id-token-0001',
        accessTokenExpiresAt: now() + accessTokenExpiresIn,
      },
    },
    ticket,
  );
  return `_gatehouse=${ticket.text}`;
}

async function tokenCount(instance: Instance, token: string, result: string): Promise<number> {
  const metric = await instance.metrics.registry
    .getSingleMetric('gatehouse_upstream_tokens_total')
    ?.get();
  return (
    metric?.values.find((v) => v.labels['token'] === token && v.labels['result'] === result)
      ?.value ?? 0
  );
}

beforeAll(async () => {
  const client = createRedisClient({
    mode: 'standalone',
    url: 'redis://127.0.0.1:6379',
    keyPrefix,
  });
  await waitForRedisReady(client, 5000);
  store = new RedisSessionStore({
    client,
    keyPrefix,
    idleTimeoutMs: 8 * HOUR,
    absoluteLifetimeMs: 8 * HOUR,
    now,
  });
  await store.revocationsReady();
  // No provider is available, so every refresh fails the way a network error does.
  registry = new ProviderRegistry({
    providers: [],
    fetch: globalThis.fetch,
    logger: pino({ level: 'silent' }),
    metrics: new Metrics({ collectProcessMetrics: false }),
  });
});

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.close()));
  registry.close();
  await store.close();
  const admin = new Redis('redis://127.0.0.1:6379');
  try {
    const keys = await admin.keys(`${keyPrefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  } finally {
    admin.disconnect();
  }
});

describe('token pass-through with an expired access token', () => {
  it('sends a live access token as a bearer credential and counts it sent', async () => {
    const gatehouse = await startInstance({ now });
    const response = await nginxCheck(gatehouse, `https://${tokensHost}/`, [
      ['Cookie', await signedIn(HOUR)],
    ]);
    expect(response.status).toBe(200);
    expect(response.headers['authorization']).toBe('Bearer access-token-0001');
    expect(await tokenCount(gatehouse, 'access', 'sent')).toBe(1);
  });

  it('sends the header empty, counts it missing and warns when the refresh failed', async () => {
    const gatehouse = await startInstance({ now });
    const cookie = await signedIn(HOUR);
    // The access token expired a minute ago by the injected clock (the wall clock says it is live).
    offset += HOUR + 60_000;
    try {
      const response = await nginxCheck(gatehouse, `https://${tokensHost}/`, [['Cookie', cookie]]);
      expect(response.status).toBe(200);
      expect(response.headers['authorization']).toBe('');
      // The ID token carries no expiry the session tracks: it is still sent.
      expect(response.headers['x-id-token']).toBe('id-token-0001');
      expect(await tokenCount(gatehouse, 'access', 'missing')).toBe(1);
      expect(await tokenCount(gatehouse, 'access', 'sent')).toBe(0);
      expect(
        gatehouse.logs.matching({ level: 40, token: 'access', reason: 'expired' }),
      ).toHaveLength(1);
      expect(gatehouse.logs.text()).not.toContain('access-token-0001');
    } finally {
      offset -= HOUR + 60_000;
    }
  });
});

describe('the challenge of an anonymous 401', () => {
  const bearer = bearerChallengeFor('https://auth.deps.test');

  it('names the public host as the Bearer realm (RFC 6750 §3)', () => {
    expect(bearer).toBe('Bearer realm="auth.deps.test"');
  });

  it('is Bearer when bearer issuers are configured', async () => {
    const gatehouse = await startInstance({ bearerChallenge: bearer });
    // Envoy ext_authz, as an API client asks: no redirect, a 401 with the challenge.
    const response: RawResponse = await send(gatehouse.url, {
      path: '/authz/ext-authz/api',
      headers: [
        ['Host', tokensHost],
        ['Accept', 'application/json'],
      ],
    });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(bearer);
  });

  it('is Basic for a policy that offers Basic, without bearer issuers', async () => {
    const gatehouse = await startInstance({ basicChallenge });
    const response = await nginxCheck(gatehouse, `https://${basicHost}/`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(basicChallenge);
  });

  it('carries both challenges, one field each, when both apply (RFC 9110 §11.6.1)', async () => {
    const gatehouse = await startInstance({ bearerChallenge: bearer, basicChallenge });
    const response = await nginxCheck(gatehouse, `https://${basicHost}/`);
    expect(response.status).toBe(401);
    // Node joins repeated fields with ", " when it parses them.
    expect(response.headers['www-authenticate']).toBe(`${bearer}, ${basicChallenge}`);
  });

  it('is absent when neither is configured', async () => {
    const gatehouse = await startInstance({});
    const response = await nginxCheck(gatehouse, `https://${tokensHost}/`);
    expect(response.status).toBe(401);
    expect(response.headers).not.toHaveProperty('www-authenticate');
  });
});
