/**
 * gatehouse behind a real nginx configured as ingress-nginx renders `auth-url`, `auth-signin`
 * and `auth-response-headers` (proxy-protocols.md §1). What the client gets back and what
 * reaches the application is observed, not assumed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawResponse } from '../fixtures/gatehouse/http-client.ts';
import {
  appHost,
  identityHeaders,
  signInUrl,
  startAuthStack,
  users,
} from './harness/auth-stack.ts';
import type { AuthStack } from './harness/auth-stack.ts';
import { sendThrough } from './harness/client.ts';
import type { HeaderList } from './harness/client.ts';
import { parseEcho, startEchoUpstream } from './harness/echo-upstream.ts';
import type { EchoUpstream } from './harness/echo-upstream.ts';
import { startNginx } from './harness/nginx.ts';
import type { RunningNginx } from './harness/nginx.ts';

let stack: AuthStack;
let upstream: EchoUpstream;
let nginx: RunningNginx | undefined;

beforeAll(async () => {
  stack = await startAuthStack();
  upstream = await startEchoUpstream();
  nginx = await startNginx({
    gatehouseUrl: stack.gatehouse.url(''),
    upstreamUrl: upstream.url,
    signInUrl,
    responseHeaders: identityHeaders,
  });
});
afterAll(async () => {
  await nginx?.stop();
  await upstream.close();
  await stack.close();
});

function running(): RunningNginx {
  if (nginx === undefined) throw new Error('nginx did not start');
  return nginx;
}

/** A client request to the app through nginx, with `Host: app.test:<port>`. */
function request(
  proxy: RunningNginx,
  path: string,
  headers: HeaderList = [],
  method = 'GET',
  body?: string,
): Promise<RawResponse> {
  return sendThrough(proxy.url, appHost, path, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

/** The headers the application received, from the echo body of a 200. */
function upstreamHeaders(response: RawResponse): Record<string, unknown> {
  expect(response.status, response.body).toBe(200);
  return parseEcho(response.body).headers;
}

/** The identity headers that reached the upstream, by name. */
function identityHeadersIn(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => name.startsWith('x-auth-request-')),
  );
}

/**
 * What an anonymous guest's request carries upstream: gatehouse sends every identity header,
 * empty when unknown, and nginx drops a `proxy_set_header` whose value is empty
 * (proxy-protocols.md §1.2), so only the roles (everyone is `guest`) remain.
 */
const anonymousGuestHeaders = { 'x-auth-request-roles': 'guest' };

describe('anonymous visitors', () => {
  it('are sent to auth-signin with rd built exactly as ingress-nginx does (scheme and host raw, URI escaped)', async () => {
    const response = await request(running(), '/a/b?x=1&y=2', [['Accept', 'text/html']]);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(
      `${signInUrl}?rd=http://${appHost}:${String(running().port)}%2Fa%2Fb%3Fx%3D1%26y%3D2`,
    );
  });

  it('reach a guest path, and the empty identity headers gatehouse sends are dropped by nginx', async () => {
    const before = upstream.received.length;
    const response = await request(running(), '/public/page?q=1');
    const headers = upstreamHeaders(response);
    expect(upstream.received.length).toBe(before + 1);
    expect(parseEcho(response.body).url).toBe('/public/page?q=1');
    expect(identityHeadersIn(headers)).toEqual(anonymousGuestHeaders);
  });
});

describe('signed-in users (bearer token)', () => {
  it('reach the app, and the upstream sees who they are', async () => {
    const headers = upstreamHeaders(
      await request(running(), '/orders/7', [['Authorization', await stack.bearer(users.alice)]]),
    );
    expect(headers['x-auth-request-user']).toBe('alice');
    expect(headers['x-auth-request-email']).toBe('alice@example.com');
    expect(headers['x-auth-request-groups']).toBe('staff,writers');
    expect(headers['x-auth-request-preferred-username']).toBe('alice');
    expect(String(headers['x-auth-request-roles']).split(',')).toEqual(
      expect.arrayContaining(['guest', 'authenticated', 'alice-only']),
    );
  });

  it('carry their identity onto guest paths too', async () => {
    const headers = upstreamHeaders(
      await request(running(), '/public/page', [['Authorization', await stack.bearer(users.bob)]]),
    );
    expect(headers['x-auth-request-user']).toBe('bob');
  });

  it('get nginx 403 where they lack the role, and the app never sees the request', async () => {
    const before = upstream.received.length;
    const response = await request(running(), '/admin/users', [
      ['Authorization', await stack.bearer(users.bob)],
      ['Accept', 'text/html'],
    ]);
    expect(response.status).toBe(403);
    // auth_request discards the auth body and answers with nginx's own page.
    expect(response.body).toContain('<center>nginx');
    expect(upstream.received.length).toBe(before);
  });

  it('let an operator into /admin', async () => {
    const headers = upstreamHeaders(
      await request(running(), '/admin/users', [
        ['Authorization', await stack.bearer(users.olivia)],
      ]),
    );
    expect(headers['x-auth-request-user']).toBe('olivia');
  });
});

describe('forged identity headers never reach the upstream', () => {
  it('refuses a client copy of X-Auth-Request-User with 403 (gatehouse sees it on the subrequest)', async () => {
    const before = upstream.received.length;
    for (const authorization of [
      [],
      [['Authorization', await stack.bearer(users.alice)]],
    ] as const) {
      const response = await request(running(), '/public/page', [
        ...authorization,
        ['X-Auth-Request-User', 'mallory'],
      ]);
      expect(response.status).toBe(403);
      expect(response.body).not.toContain('mallory');
    }
    expect(upstream.received.length).toBe(before);
    expect(stack.gatehouse.logs.matching({ reason: 'forged-identity-header' }).length).toBe(2);
  });

  it('drops the underscore spelling X_Auth_Request_User before anyone sees it (nginx underscores_in_headers off)', async () => {
    const response = await request(running(), '/orders', [
      ['Authorization', await stack.bearer(users.alice)],
      ['X_Auth_Request_User', 'mallory'],
      ['X_AUTH_REQUEST_EMAIL', 'mallory@evil.test'],
    ]);
    const headers = upstreamHeaders(response);
    expect(headers['x-auth-request-user']).toBe('alice');
    expect(response.body).not.toContain('mallory');
  });
});

describe('paths and methods', () => {
  it('denies an ambiguous path with nginx 403 although nginx itself would route it to /admin', async () => {
    const before = upstream.received.length;
    const response = await request(running(), '/public/%2e%2e/admin', [
      ['Authorization', await stack.bearer(users.alice)],
    ]);
    expect(response.status).toBe(403);
    expect(response.body).toContain('<center>nginx');
    expect(upstream.received.length).toBe(before);
    expect(stack.gatehouse.logs.matching({ reason: 'ambiguous-path' }).length).toBeGreaterThan(0);
  });

  it('judges a POST as a POST although the auth subrequest is a GET (X-Original-Method)', async () => {
    // /catalogue is open to guests for GET and HEAD only.
    expect((await request(running(), '/catalogue')).status).toBe(200);
    const post = await request(running(), '/catalogue', [], 'POST', 'item=42');
    expect(post.status).toBe(302);
    expect(post.headers.location).toBe(
      `${signInUrl}?rd=http://${appHost}:${String(running().port)}%2Fcatalogue`,
    );
    expect(
      stack.gatehouse.logs.matching({
        dialect: 'nginx',
        method: 'POST',
        path: '/catalogue',
        reason: 'authentication-required',
      }).length,
    ).toBe(1);

    const body = JSON.stringify({ item: 42 });
    const signedIn = await request(
      running(),
      '/catalogue',
      [
        ['Authorization', await stack.bearer(users.alice)],
        ['Content-Type', 'application/json'],
      ],
      'POST',
      body,
    );
    expect(signedIn.status).toBe(200);
    // The auth subrequest went without the body (proxy_pass_request_body off); the app gets it.
    expect(parseEcho(signedIn.body)).toMatchObject({ method: 'POST', bodyLength: body.length });
  });
});

describe('with rejectClientCopies off, auth-response-headers alone strip client copies', () => {
  let lenient: AuthStack;
  let lenientNginx: RunningNginx | undefined;
  beforeAll(async () => {
    lenient = await startAuthStack({ rejectClientCopies: false });
    lenientNginx = await startNginx({
      gatehouseUrl: lenient.gatehouse.url(''),
      upstreamUrl: upstream.url,
      signInUrl,
      responseHeaders: identityHeaders,
    });
  });
  afterAll(async () => {
    await lenientNginx?.stop();
    await lenient.close();
  });

  function lenientRunning(): RunningNginx {
    if (lenientNginx === undefined) throw new Error('nginx did not start');
    return lenientNginx;
  }

  it("replaces a forged value with the signed-in user's", async () => {
    const response = await request(lenientRunning(), '/orders', [
      ['Authorization', await lenient.bearer(users.alice)],
      ['X-Auth-Request-User', 'mallory'],
    ]);
    expect(upstreamHeaders(response)['x-auth-request-user']).toBe('alice');
    expect(response.body).not.toContain('mallory');
  });

  it('removes a forged value for an anonymous guest (gatehouse sends it empty)', async () => {
    const response = await request(lenientRunning(), '/public/page', [
      ['X-Auth-Request-User', 'mallory'],
      ['X-Auth-Request-Roles', 'admin'],
    ]);
    expect(identityHeadersIn(upstreamHeaders(response))).toEqual(anonymousGuestHeaders);
    expect(response.body).not.toContain('mallory');
  });
});

describe('auth-method GET (as Authelia documents it)', () => {
  let withMethod: RunningNginx | undefined;
  beforeAll(async () => {
    withMethod = await startNginx({
      gatehouseUrl: stack.gatehouse.url(''),
      upstreamUrl: upstream.url,
      signInUrl,
      responseHeaders: identityHeaders,
      authMethod: 'GET',
    });
  });
  afterAll(async () => {
    await withMethod?.stop();
  });

  it('still judges the client method, not the subrequest method', async () => {
    if (withMethod === undefined) throw new Error('nginx did not start');
    expect((await request(withMethod, '/catalogue')).status).toBe(200);
    expect((await request(withMethod, '/catalogue', [], 'DELETE')).status).toBe(302);
  });
});

// Last: it stops this file's gatehouse.
describe('fail closed', () => {
  it('answers 500, never 2xx, when gatehouse is unreachable', async () => {
    await stack.gatehouse.close();
    const before = upstream.received.length;
    for (const path of ['/public/page', '/orders']) {
      const response = await request(running(), path, [
        ['Authorization', await stack.bearer(users.olivia)],
      ]);
      expect(response.status).toBe(500);
    }
    expect(upstream.received.length).toBe(before);
    expect(await running().logs()).toMatch(/connect\(\) failed|Connection refused/);
  });
});
