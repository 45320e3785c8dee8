/**
 * ingress-nginx `auth-cache-key` (proxy-protocols.md §1.1): nginx caches gatehouse's 200 and
 * 401 answers (`proxy_cache_valid 200 202 401 5m`) under host + auth location + the key. The
 * key is the whole of what separates one cached decision from another, so these tests check
 * that a decision is never served to someone it was not made for, and that caching happens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawResponse } from '../fixtures/gatehouse/http-client.ts';
import { scrape } from '../fixtures/gatehouse/metrics-text.ts';
import {
  appHost,
  identityHeaders,
  signInUrl,
  startAuthStack,
  users,
} from './harness/auth-stack.ts';
import type { AuthStack, TestUser } from './harness/auth-stack.ts';
import { sendThrough } from './harness/client.ts';
import type { HeaderList } from './harness/client.ts';
import { parseEcho, startEchoUpstream } from './harness/echo-upstream.ts';
import type { EchoUpstream } from './harness/echo-upstream.ts';
import { startNginx } from './harness/nginx.ts';
import type { RunningNginx } from './harness/nginx.ts';

let stack: AuthStack;
let upstream: EchoUpstream;
const keys = {
  /** The key the brief names: session cookie and Authorization header. */
  credential: '$cookie__gatehouse$http_authorization',
  /** Adds the request URI, but not the method. */
  uriAndCredential: '$request_uri$cookie__gatehouse$http_authorization',
  /** Everything gatehouse decides on that varies within one location. */
  complete: '$request_method$request_uri$cookie__gatehouse$http_authorization',
} as const;
/** One nginx (and so one empty cache) per key and per group of tests. */
const proxies = new Map<string, RunningNginx>();

function proxy(name: string): RunningNginx {
  const found = proxies.get(name);
  if (found === undefined) throw new Error(`no nginx named ${name}`);
  return found;
}

beforeAll(async () => {
  stack = await startAuthStack();
  upstream = await startEchoUpstream();
  const common = {
    gatehouseUrl: stack.gatehouse.url(''),
    upstreamUrl: upstream.url,
    signInUrl,
    responseHeaders: identityHeaders,
  };
  const instances = [
    ['credential', keys.credential],
    ['credential-hazards', keys.credential],
    ['uri-hazards', keys.uriAndCredential],
    ['complete', keys.complete],
  ] as const;
  await Promise.all(
    instances.map(async ([name, authCacheKey]) => {
      proxies.set(name, await startNginx({ ...common, authCacheKey }));
    }),
  );
});
afterAll(async () => {
  await Promise.all([...proxies.values()].map((running) => running.stop()));
  await upstream.close();
  await stack.close();
});

function request(
  name: string,
  path: string,
  headers: HeaderList = [],
  method = 'GET',
): Promise<RawResponse> {
  return sendThrough(proxy(name).url, appHost, path, { headers, method });
}

/** Checks gatehouse answered on the nginx endpoint, whatever the outcome. */
async function gatehouseChecks(): Promise<number> {
  const text = await scrape(stack.gatehouse.opsUrl('/metrics'));
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('gatehouse_decisions_total{') && line.includes('dialect="nginx"')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

async function bearer(user: TestUser): Promise<HeaderList> {
  return [['Authorization', await stack.bearer(user)]];
}

describe(`auth-cache-key ${keys.credential}`, () => {
  it('serves a cached allow to the same user without asking gatehouse again, and never to another user', async () => {
    const alice = await bearer(users.alice);
    const bob = await bearer(users.bob);

    const checks = await gatehouseChecks();
    const first = await request('credential', '/alice/notes', alice);
    expect(first.status).toBe(200);
    expect(parseEcho(first.body).headers['x-auth-request-user']).toBe('alice');
    expect(await gatehouseChecks()).toBe(checks + 1);

    // Cached: answered by nginx alone, with the cached identity headers.
    const second = await request('credential', '/alice/notes', alice);
    expect(second.status).toBe(200);
    expect(parseEcho(second.body).headers['x-auth-request-user']).toBe('alice');
    expect(await gatehouseChecks()).toBe(checks + 1);

    // Another token is another key: bob is asked about, and refused, every time (nginx does
    // not cache 403: proxy_cache_valid 200 202 401).
    for (let attempt = 0; attempt < 2; attempt++) {
      expect((await request('credential', '/alice/notes', bob)).status).toBe(403);
    }
    expect(await gatehouseChecks()).toBe(checks + 3);
  });

  it("sends an anonymous visitor to sign in after a user's allow was cached", async () => {
    expect((await request('credential', '/orders', await bearer(users.alice))).status).toBe(200);
    for (let attempt = 0; attempt < 2; attempt++) {
      const anonymous = await request('credential', '/orders');
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.location).toBe(
        `${signInUrl}?rd=http://${appHost}:${String(proxy('credential').port)}%2Forders`,
      );
    }
  });
});

// ingress-nginx documents the keyspace as "per server and location", while gatehouse decides
// per path and method. These tests pin down what an incomplete key does, which is why the
// operator guide must ask for $request_method$request_uri in auth-cache-key.
describe('hazards of a key without the request method and URI', () => {
  it(`with ${keys.credential}, a user's allow on one path is reused on a path she may not see`, async () => {
    const alice = await bearer(users.alice);
    expect((await request('credential-hazards', '/alice', alice)).status).toBe(200);
    expect((await request('credential-hazards', '/bob', alice)).status).toBe(200);
  });

  it(`with ${keys.credential}, an anonymous allow on a guest path opens every path to anonymous visitors`, async () => {
    expect((await request('credential-hazards', '/public/page')).status).toBe(200);
    const checks = await gatehouseChecks();
    const response = await request('credential-hazards', '/orders');
    expect(response.status).toBe(200);
    expect(await gatehouseChecks()).toBe(checks);
  });

  it(`with ${keys.uriAndCredential}, a cached GET allow is reused for a POST to the same URI`, async () => {
    expect((await request('uri-hazards', '/catalogue')).status).toBe(200);
    expect((await request('uri-hazards', '/catalogue', [], 'POST')).status).toBe(200);
  });
});

describe(`auth-cache-key ${keys.complete}`, () => {
  it('does not reuse an allow across paths, methods or users', async () => {
    const alice = await bearer(users.alice);
    expect((await request('complete', '/alice', alice)).status).toBe(200);
    expect((await request('complete', '/bob', alice)).status).toBe(403);
    expect((await request('complete', '/alice', await bearer(users.bob))).status).toBe(403);

    expect((await request('complete', '/public/page')).status).toBe(200);
    expect((await request('complete', '/orders')).status).toBe(302);
    expect((await request('complete', '/catalogue')).status).toBe(200);
    expect((await request('complete', '/catalogue', [], 'POST')).status).toBe(302);
  });

  it('still caches repeated identical checks', async () => {
    const alice = await bearer(users.alice);
    expect((await request('complete', '/orders/1', alice)).status).toBe(200);
    const checks = await gatehouseChecks();
    expect((await request('complete', '/orders/1', alice)).status).toBe(200);
    expect(await gatehouseChecks()).toBe(checks);
  });
});
