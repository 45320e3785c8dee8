/**
 * gatehouse behind a real Caddy `forward_auth` (proxy-protocols.md §5). Caddy answers the
 * client with whatever non-2xx gatehouse returns, so gatehouse itself redirects browsers
 * (302, absolute Location) and answers API clients 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawResponse } from '../fixtures/gatehouse/http-client.ts';
import { browserAccept } from '../fixtures/gatehouse/checks.ts';
import {
  appHost,
  identityHeaders,
  signInUrl,
  startAuthStack,
  users,
} from './harness/auth-stack.ts';
import type { AuthStack } from './harness/auth-stack.ts';
import { startCaddy } from './harness/caddy.ts';
import type { RunningCaddy } from './harness/caddy.ts';
import { sendThrough } from './harness/client.ts';
import type { ClientRequest, HeaderList } from './harness/client.ts';
import { parseEcho, startEchoUpstream } from './harness/echo-upstream.ts';
import type { EchoUpstream } from './harness/echo-upstream.ts';

let stack: AuthStack;
let upstream: EchoUpstream;
let caddy: RunningCaddy | undefined;

beforeAll(async () => {
  // Caddy calls gatehouse from 127.0.0.1, whose X-Forwarded-* gatehouse must believe.
  stack = await startAuthStack({ trustedProxies: ['127.0.0.1'] });
  upstream = await startEchoUpstream();
  caddy = await startCaddy({
    gatehouseUrl: stack.gatehouse.url(''),
    upstreamUrl: upstream.url,
    copyHeaders: identityHeaders,
  });
});
afterAll(async () => {
  await caddy?.stop();
  await upstream.close();
  await stack.close();
});

function running(): RunningCaddy {
  if (caddy === undefined) throw new Error('caddy did not start');
  return caddy;
}

function request(path: string, options: ClientRequest = {}): Promise<RawResponse> {
  return sendThrough(running().url, appHost, path, options);
}

function echoed(response: RawResponse): Record<string, unknown> {
  expect(response.status, response.body).toBe(200);
  return parseEcho(response.body).headers;
}

describe('anonymous visitors', () => {
  it("get gatehouse's 302 to sign in, with its absolute Location passed through unchanged", async () => {
    const response = await request('/a/b?x=1&y=2', { headers: [['Accept', browserAccept]] });
    expect(response.status).toBe(302);
    const original = `http://${appHost}:${String(running().port)}/a/b?x=1&y=2`;
    expect(response.headers.location).toBe(`${signInUrl}?rd=${encodeURIComponent(original)}`);
  });

  it('get 303 for a browser form POST, so the browser does not re-post to the provider', async () => {
    const response = await request('/orders', {
      method: 'POST',
      headers: [['Accept', browserAccept]],
      body: 'item=1',
    });
    expect(response.status).toBe(303);
    expect(response.headers.location).toMatch(/^https:\/\/auth\.app\.test\/oauth2\/start\?rd=/);
  });

  it('get 401 from an API client, with no redirect', async () => {
    const before = upstream.received.length;
    const response = await request('/orders', { headers: [['Accept', 'application/json']] });
    expect(response.status).toBe(401);
    expect(response.headers.location).toBeUndefined();
    expect(upstream.received.length).toBe(before);
  });

  it('reach a guest path', async () => {
    const headers = echoed(await request('/public/page'));
    expect(headers['x-auth-request-user'] ?? '').toBe('');
    expect(headers['x-auth-request-roles']).toBe('guest');
  });
});

describe('signed-in users (bearer token)', () => {
  it('reach the app with their identity copied onto the upstream request', async () => {
    const headers = echoed(
      await request('/orders/7', { headers: [['Authorization', await stack.bearer(users.alice)]] }),
    );
    expect(headers['x-auth-request-user']).toBe('alice');
    expect(headers['x-auth-request-email']).toBe('alice@example.com');
    expect(headers['x-auth-request-groups']).toBe('staff,writers');
    expect(String(headers['x-auth-request-roles']).split(',')).toEqual(
      expect.arrayContaining(['guest', 'authenticated', 'alice-only']),
    );
  });

  it("get gatehouse's 403 where they lack the role", async () => {
    const before = upstream.received.length;
    const response = await request('/admin', {
      headers: [['Authorization', await stack.bearer(users.bob)]],
    });
    expect(response.status).toBe(403);
    expect(response.body).toBe('missing-role\n');
    expect(upstream.received.length).toBe(before);
  });
});

describe('the decision boundary', () => {
  // Attack review finding 4: Caddy passes the raw path upstream, and a Koa upstream routed
  // `/admin/../public/x` under /admin while gatehouse had judged /public/x.
  it.each(['/admin/../public/x', '/public/../admin/x', '/admin/./x'])(
    'literal dot-segments (%s) never reach the upstream',
    async (path) => {
      const before = upstream.received.length;
      const response = await request(path);
      expect(response.status).toBe(403);
      expect(response.body).toBe('ambiguous-path\n');
      expect(upstream.received.length).toBe(before);
    },
  );

  // Finding 6: a Deny written for GET let HEAD through.
  it('judges HEAD under a Deny written for GET', async () => {
    const authorization = await stack.bearer(users.alice);
    for (const method of ['GET', 'HEAD']) {
      const response = await request('/export/all', {
        method,
        headers: [['Authorization', authorization]],
      });
      expect(response.status, method).toBe(403);
    }
  });
});

describe('forged identity headers', () => {
  it.each([
    ['X-Auth-Request-User', 'anonymous', false],
    ['X-Auth-Request-User', 'signed-in', true],
    ['X_Auth_Request_User', 'anonymous', false],
    ['x-auth-request-roles', 'signed-in', true],
  ] as const)(
    '%s from a %s client is refused and never reaches the upstream',
    async (name, _who, signedIn) => {
      const before = upstream.received.length;
      const response = await request('/public/page', {
        headers: [
          ...(signedIn ? ([['Authorization', await stack.bearer(users.bob)]] as const) : []),
          [name, 'mallory'],
        ],
      });
      expect(response.status).toBe(403);
      expect(response.body).not.toContain('mallory');
      expect(upstream.received.length).toBe(before);
    },
  );
});

describe('with rejectClientCopies off', () => {
  let lenient: AuthStack;
  let lenientCaddy: RunningCaddy | undefined;
  beforeAll(async () => {
    lenient = await startAuthStack({ trustedProxies: ['127.0.0.1'], rejectClientCopies: false });
    lenientCaddy = await startCaddy({
      gatehouseUrl: lenient.gatehouse.url(''),
      upstreamUrl: upstream.url,
      copyHeaders: identityHeaders,
    });
  });
  afterAll(async () => {
    await lenientCaddy?.stop();
    await lenient.close();
  });

  function lenientRequest(headers: HeaderList): Promise<RawResponse> {
    if (lenientCaddy === undefined) throw new Error('caddy did not start');
    return sendThrough(lenientCaddy.url, appHost, '/public/page', { headers });
  }

  it('copy_headers overwrites a forged value with the empty one gatehouse always sends', async () => {
    // Caddy before 2.11.2 left a client's copy in place when the auth answer omitted the
    // header (GHSA-7r4p-vjf4-gxv4); gatehouse never omits one, so even old Caddy overwrites it.
    const anonymous = echoed(await lenientRequest([['X-Auth-Request-User', 'mallory']]));
    expect(anonymous['x-auth-request-user']).toBe('');
    const signedIn = echoed(
      await lenientRequest([
        ['Authorization', await lenient.bearer(users.alice)],
        ['X-Auth-Request-User', 'mallory'],
      ]),
    );
    expect(signedIn['x-auth-request-user']).toBe('alice');
  });

  it('lets the underscore spelling through to the upstream, which is why rejecting copies is the default', async () => {
    // CGI/WSGI upstreams read X_Auth_Request_User as HTTP_X_AUTH_REQUEST_USER.
    const headers = echoed(await lenientRequest([['X_Auth_Request_User', 'mallory']]));
    expect(headers['x_auth_request_user']).toBe('mallory');
  });
});

describe('fail closed', () => {
  it('never lets a request through when gatehouse is unreachable', async () => {
    const stopped = await startAuthStack({ trustedProxies: ['127.0.0.1'] });
    const orphan = await startCaddy({
      gatehouseUrl: stopped.gatehouse.url(''),
      upstreamUrl: upstream.url,
      copyHeaders: identityHeaders,
    });
    try {
      await stopped.close();
      const before = upstream.received.length;
      const response = await sendThrough(orphan.url, appHost, '/public/page');
      // Caddy answers 502 when the forward_auth upstream is down (proxy-protocols.md §5).
      expect(response.status).toBe(502);
      expect(upstream.received.length).toBe(before);
    } finally {
      await orphan.stop();
    }
  });
});
