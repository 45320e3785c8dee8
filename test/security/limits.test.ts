/**
 * Input limits (gatehouse issue 9, item 4): every input a client controls is bounded, and the
 * answer past the bound is a 4xx, never a 500 and never unbounded work. The figures:
 *
 * | input                    | bound                                  | past it                   |
 * | ------------------------ | -------------------------------------- | ------------------------- |
 * | request header block     | `server.maxHeaderSize`, 16 KiB         | 431 (Node)                |
 * | header arrival           | `server.headersTimeout` (5 s default)  | 408 and the socket closed |
 * | `X-Original-URL` / path  | 8192 characters (nginx's buffer size)  | 400                       |
 * | `rd`                     | 4096 characters                        | refused: default URL      |
 * | bearer JWT               | 8 KiB                                  | 401 invalid_token         |
 * | same-named cookies       | 8 tried per request                    | the rest ignored          |
 * | policy manifest file     | 1 MiB (a ConfigMap's size)             | reload refused, problem   |
 * | pending logins (memory)  | `maxEntries`, oldest evicted           | oldest login expires      |
 * | pending logins (Redis)   | every key carries a TTL                | expires                   |
 */
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../dev/identity-provider.ts';
import { maxManifestBytes } from '../../src/policy/sources/files/load-policy-documents.ts';
import { MemorySessionStore } from '../../src/sessions/memory/memory-store.ts';
import { nginxCheck } from '../fixtures/gatehouse/checks.ts';
import { rawExchange, sendRaw } from '../fixtures/gatehouse/http-client.ts';
import { shopHost, shopPolicy } from '../fixtures/gatehouse/policies.ts';
import { startTestGatehouse, type TestGatehouse } from '../fixtures/gatehouse/start.ts';
import { startTokenIssuer, type TokenIssuer } from '../fixtures/gatehouse/token-issuer.ts';
import { browserlessLogin } from '../fixtures/oidc/browserless-login.ts';
import { CookieJar } from '../fixtures/oidc/cookie-jar.ts';
import {
  ABSOLUTE_MS,
  APP_URL,
  IDLE_MS,
  check,
  devClient,
  flushPrefix,
  gatehouseFetch,
  providerOptions,
  redisStore,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  startSignIn,
  type Gatehouse,
} from '../integration/sign-in/harness.ts';

// A full garbage collection on demand, to measure retained memory rather than allocation noise.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function retainedHeap(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

describe('request limits of a running gatehouse', () => {
  let issuer: TokenIssuer;
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    issuer = await startTokenIssuer({ audience: 'shop-api' });
    gatehouse = await startTestGatehouse({
      env: { GATEHOUSE_SERVER__HEADERS_TIMEOUT: '1s' },
      configYaml: `
bearer:
  issuers:
    - name: idp
      issuer: ${issuer.issuer}
      audiences: [shop-api]
      algorithms: [RS256]
`,
    });
  });
  afterAll(async () => {
    await gatehouse.close();
    await issuer.close();
  });

  it('answers a header block over 16 KiB (server.maxHeaderSize) with 431', async () => {
    const status = await sendRaw(
      gatehouse.url(''),
      `GET /authz/nginx?host=${shopHost} HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URL: https://${shopHost}/public/\r\n` +
        `X-Padding: ${'p'.repeat(17 * 1024)}`,
    );
    expect(status).toBe(431);
  });

  it('answers a Cookie header over 16 KiB (cookie bomb) with 431, not 500', async () => {
    const cookie = Array.from({ length: 600 }, (_, i) => `c${String(i)}=${'x'.repeat(24)}`).join(
      '; ',
    );
    const status = await sendRaw(
      gatehouse.url(''),
      `GET /authz/nginx?host=${shopHost} HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URL: https://${shopHost}/public/\r\nCookie: ${cookie}`,
    );
    expect(status).toBe(431);
  });

  it('refuses an X-Original-URL over 8192 characters with 400, and judges one of exactly 8192', async () => {
    const prefix = `https://${shopHost}/public/`;
    const atLimit = prefix + 'a'.repeat(8192 - prefix.length);
    expect((await nginxCheck(gatehouse, atLimit)).status).toBe(200);
    const response = await nginxCheck(gatehouse, `${atLimit}a`);
    expect(response.status).toBe(400);
    expect(response.body).toContain('longer than 8192');
  });

  it('refuses a bearer JWT over 8 KiB with 401 invalid_token before verifying it, and accepts a valid one just under', async () => {
    const under = await issuer.sign({ padding: 'p'.repeat(5500) });
    expect(under.length).toBeLessThan(8192);
    const accepted = await nginxCheck(gatehouse, `https://${shopHost}/private`, [
      ['Authorization', `Bearer ${under}`],
    ]);
    expect(accepted.status).toBe(200);
    const over = await issuer.sign({ padding: 'p'.repeat(7000) });
    expect(over.length).toBeGreaterThan(8192);
    const refused = await nginxCheck(gatehouse, `https://${shopHost}/private`, [
      ['Authorization', `Bearer ${over}`],
    ]);
    expect(refused.status).toBe(401);
    expect(String(refused.headers['www-authenticate'])).toMatch(/error="invalid_token"/);
  });

  it('cuts off a client sending its headers byte by byte (slowloris) once server.headersTimeout (1 s) passes', async () => {
    const head = `GET /authz/nginx?host=${shopHost} HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URL: https://${shopHost}/${'a'.repeat(100)}`;
    const exchange = await rawExchange(gatehouse.url(''), {
      // One chunk per byte: the head is ASCII, so splitting by code unit is exact.
      chunks: head.split(''),
      intervalMs: 50,
      timeoutMs: 8000,
    });
    expect(exchange.closedByServer).toBe(true);
    expect(exchange.closedAfterMs).toBeLessThan(3000);
    expect(exchange.statuses).toEqual([408]);
  });
});

describe('policy manifest size', () => {
  it(`refuses a manifest file over ${String(maxManifestBytes)} bytes with a problem naming the limit; no policy is served`, async () => {
    const oversized = `${shopPolicy}\n# ${'x'.repeat(maxManifestBytes)}\n`;
    const gatehouse = await startTestGatehouse({ policies: oversized, logLevel: 'warn' });
    try {
      expect((await fetch(gatehouse.opsUrl('/readyz'))).status).toBe(503);
      expect((await nginxCheck(gatehouse, `https://${shopHost}/public/`)).status).toBe(503);
      expect(gatehouse.logs.text()).toContain(
        `larger than the ${String(maxManifestBytes)}-byte limit`,
      );
    } finally {
      await gatehouse.close();
    }
  });
});

describe('sign-in limits', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  /** Small enough that the flood below must evict. */
  const maxEntries = 500;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)]);
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: new MemorySessionStore({
        idleTimeoutMs: IDLE_MS,
        absoluteLifetimeMs: ABSOLUTE_MS,
        maxEntries,
      }),
    });
  });
  afterAll(async () => {
    await gatehouse.close();
    await idp.close();
  });

  it('refuses an rd over 4096 characters: the browser lands on the default URL; one under the limit is kept', async () => {
    const under = `https://shop.app.test/${'a'.repeat(4000)}`;
    expect((await signIn(gatehouse, new CookieJar(), 'alice', { rd: under })).location).toBe(under);
    const over = `https://shop.app.test/${'a'.repeat(4100)}`;
    expect((await signIn(gatehouse, new CookieJar(), 'alice', { rd: over })).location).toBe(
      APP_URL,
    );
  });

  it('treats a Cookie header just under 16 KiB of session-cookie look-alikes as anonymous, not an error', async () => {
    const lookAlikes = Array.from(
      { length: 150 },
      () => `_gatehouse=v1.${'A'.repeat(43)}.${'A'.repeat(43)}`,
    );
    const cookie = lookAlikes.join('; ');
    expect(cookie.length).toBeGreaterThan(13_500);
    expect((await check(gatehouse, cookie)).status).toBe(401);
  });

  it('2,000 concurrent sign-in starts: the memory store keeps at most maxEntries and evicts the oldest login; memory stays bounded', async () => {
    const first = new CookieJar();
    const callbackUrl = await browserlessLogin({
      authorizationUrl: await startSignIn(gatehouse, first),
      username: 'alice',
      password: 'alice',
      jar: first,
      redirectUri: `${gatehouse.url}/oauth2/callback`,
    });

    const heapBefore = retainedHeap();
    const total = 2000;
    const concurrency = 50;
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started < total) {
        started++;
        const response = await fetch(`${gatehouse.url}/oauth2/start`, { redirect: 'manual' });
        expect(response.status).toBe(302);
        await response.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    // Client and server share this process, so only what survives a full collection counts.
    const growthMiB = (retainedHeap() - heapBefore) / 2 ** 20;
    expect(growthMiB).toBeLessThan(16);

    // The first login's state was the oldest entry: evicted, so its callback is refused.
    const late = await gatehouseFetch(first, callbackUrl.href);
    expect(late.status).toBe(400);
    expect(await late.text()).toMatch(/expired or was already used/);
    // A login started now still works.
    expect((await signIn(gatehouse, new CookieJar(), 'alice')).location).toBe(APP_URL);
  });
});

describe('sign-in limits (Redis store)', () => {
  const prefix = `gatehouse-test:security-limits:${randomUUID()}:`;
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)]);
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 1000),
    });
  });
  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
    await flushPrefix(prefix);
  });

  it('every login state a flood of sign-in starts leaves in Redis expires (TTL at most the login-state lifetime)', async () => {
    const total = 300;
    await Promise.all(
      Array.from({ length: total }, async () => {
        const response = await fetch(`${gatehouse.url}/oauth2/start`, { redirect: 'manual' });
        expect(response.status).toBe(302);
      }),
    );
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*login:*`, 'COUNT', 500);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      expect(keys).toHaveLength(total);
      for (const key of keys) {
        const ttl = await redis.pttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(gatehouse.options.loginStateTtlMs);
      }
    } finally {
      redis.disconnect();
    }
  });
});
