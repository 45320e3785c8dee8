/**
 * Envoy ext_authz (HTTP service) contract, tested without an Envoy binary: each check is sent
 * exactly as Envoy sends it (proxy-protocols.md §4; ext_authz_http_impl.cc): the original
 * method, `path_prefix` + the original `:path` with its query, the original `Host`,
 * `Content-Length: 0`, and of the client's headers only `Authorization` plus what
 * `allowed_headers` lists. Envoy allows on exactly 200; any other non-5xx goes to the client
 * with its headers and body; 5xx or no answer becomes `status_on_error` (403).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAccept } from '../fixtures/gatehouse/checks.ts';
import { send } from '../fixtures/gatehouse/http-client.ts';
import type { RawResponse } from '../fixtures/gatehouse/http-client.ts';
import { startTestGatehouse } from '../fixtures/gatehouse/start.ts';
import { appHost, signInUrl, startAuthStack, users } from './harness/auth-stack.ts';
import type { AuthStack } from './harness/auth-stack.ts';
import type { HeaderList } from './harness/client.ts';

/** gatehouse's route, set as Envoy's `http_service.path_prefix`. */
const pathPrefix = '/authz/ext-authz';
/** A typical `allowed_headers` (Envoy Gateway `headersToExtAuth`): cookie, accept, XFP. */
const allowedHeaders = new Set(['cookie', 'accept', 'x-forwarded-proto', 'x-requested-with']);
/** Envoy always forwards these (besides Host, method and path). */
const alwaysForwarded = new Set(['authorization']);

let stack: AuthStack;
beforeAll(async () => {
  stack = await startAuthStack();
});
afterAll(async () => {
  await stack.close();
});

interface ClientRequest {
  readonly method?: string;
  readonly path: string;
  readonly host?: string;
  /** Everything the client sent; the check carries only what Envoy forwards. */
  readonly headers?: HeaderList;
  readonly prefix?: string;
}

/** The check request Envoy makes for a client request, sent to `baseUrl`. */
function envoyCheck(
  client: ClientRequest,
  baseUrl = stack.gatehouse.url(''),
): Promise<RawResponse> {
  const forwarded = (client.headers ?? []).filter(([name]) => {
    const lower = name.toLowerCase();
    return alwaysForwarded.has(lower) || allowedHeaders.has(lower);
  });
  return send(baseUrl, {
    method: client.method ?? 'GET',
    path: `${client.prefix ?? pathPrefix}${client.path}`,
    headers: [['Host', client.host ?? appHost], ['Content-Length', '0'], ...forwarded],
  });
}

async function bearer(user: (typeof users)[keyof typeof users]): Promise<HeaderList> {
  return [['Authorization', await stack.bearer(user)]];
}

function removalList(response: RawResponse): string[] {
  const value = response.headers['x-envoy-auth-headers-to-remove'];
  expect(typeof value).toBe('string');
  return String(value).split(',');
}

describe('allow: exactly 200', () => {
  it('answers 200 with the identity, and asks Envoy to remove every identity header it did not set', async () => {
    const response = await envoyCheck({
      path: '/orders/7?view=full',
      headers: await bearer(users.alice),
    });
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-request-user']).toBe('alice');
    expect(response.headers['x-auth-request-email']).toBe('alice@example.com');
    expect(response.headers['x-auth-request-groups']).toBe('staff,writers');

    const remove = removalList(response);
    // Envoy splits the value on ',': no spaces, lower-case names, no duplicates.
    for (const name of remove) expect(name).toMatch(/^[a-z0-9_-]+$/);
    // Underscore spellings too: Envoy keeps them by default, and WSGI/CGI read them as dashes.
    expect(remove).toEqual(expect.arrayContaining(['x_auth_request_user', 'remote_user']));
    expect(new Set(remove).size).toBe(remove.length);
    // Headers of the other profiles, which a client could send and this answer does not set.
    expect(remove).toEqual(
      expect.arrayContaining(['remote-user', 'remote-groups', 'sec-username']),
    );
    // Never a header the answer sets: Envoy would remove the value it just copied.
    for (const name of Object.keys(response.headers)) expect(remove).not.toContain(name);
  });

  it('answers 200 for an anonymous guest, with the identity headers present and empty', async () => {
    const response = await envoyCheck({ path: '/public/page' });
    expect(response.status).toBe(200);
    // Empty values overwrite a client's copy on the upstream request (allowed_upstream_headers).
    expect(response.headers['x-auth-request-user']).toBe('');
    expect(response.headers['x-auth-request-email']).toBe('');
    expect(response.headers['x-auth-request-roles']).toBe('guest');
    expect(removalList(response)).toContain('remote-user');
  });

  it('takes the path after the prefix even when the prefix is configured with a trailing slash', async () => {
    // Envoy Gateway's `http.path: /authz/ext-authz/` yields `/authz/ext-authz//public/page`.
    const response = await envoyCheck({ path: '/public/page', prefix: `${pathPrefix}/` });
    expect(response.status).toBe(200);
  });

  it('judges the original method, which Envoy keeps', async () => {
    // /catalogue is open to guests for GET and HEAD only.
    expect((await envoyCheck({ path: '/catalogue' })).status).toBe(200);
    expect((await envoyCheck({ path: '/catalogue', method: 'HEAD' })).status).toBe(200);
    expect((await envoyCheck({ path: '/catalogue', method: 'POST' })).status).toBe(401);
    const signedIn = await envoyCheck({
      path: '/catalogue',
      method: 'POST',
      headers: await bearer(users.bob),
    });
    expect(signedIn.status).toBe(200);
  });
});

describe('deny: what Envoy passes to the client', () => {
  it('redirects a browser with 302 and an absolute Location Envoy passes through', async () => {
    const response = await envoyCheck({
      path: '/a/b?x=1&y=2',
      headers: [['Accept', browserAccept]],
    });
    expect(response.status).toBe(302);
    // No trusted X-Forwarded-Proto: gatehouse assumes the ingress is https.
    expect(response.headers.location).toBe(
      `${signInUrl}?rd=${encodeURIComponent(`https://${appHost}/a/b?x=1&y=2`)}`,
    );
    expect(response.headers['x-envoy-auth-headers-to-remove']).toBeUndefined();
  });

  it('redirects a browser form POST with 303', async () => {
    const response = await envoyCheck({
      path: '/orders',
      method: 'POST',
      headers: [['Accept', browserAccept]],
    });
    expect(response.status).toBe(303);
    expect(new URL(String(response.headers.location)).origin).toBe('https://auth.app.test');
  });

  it.each([
    ['an API client', [['Accept', 'application/json']]],
    [
      'an XHR from a page',
      [
        ['Accept', browserAccept],
        ['X-Requested-With', 'XMLHttpRequest'],
      ],
    ],
  ] as const)('answers %s 401 with a small body and no redirect', async (_who, headers) => {
    const response = await envoyCheck({ path: '/orders', headers });
    expect(response.status).toBe(401);
    expect(response.headers.location).toBeUndefined();
    expect(Buffer.byteLength(response.body)).toBeLessThan(256);
  });

  it('answers a user without the role 403, small for APIs and a bounded page for browsers', async () => {
    const api = await envoyCheck({ path: '/admin', headers: await bearer(users.bob) });
    expect(api.status).toBe(403);
    expect(api.body).toBe('missing-role\n');
    const browser = await envoyCheck({
      path: '/admin',
      headers: [...(await bearer(users.bob)), ['Accept', browserAccept]],
    });
    expect(browser.status).toBe(403);
    expect(browser.headers['content-type']).toMatch(/^text\/html/);
    // Envoy buffers the auth body to hand it to the client.
    expect(Buffer.byteLength(browser.body)).toBeLessThan(16 * 1024);
  });

  it('answers 401 to an invalid or expired token', async () => {
    const expired = await stack.issuer.sign({ ...users.alice, groups: [] }, { expiresIn: -3600 });
    const response = await envoyCheck({
      path: '/orders',
      headers: [['Authorization', `Bearer ${expired}`]],
    });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
  });
});

describe('anything wrong is never a 200', () => {
  it.each([
    ['an encoded dot-segment', '/public/%2e%2e/admin', appHost],
    ['an encoded slash', '/public%2f..%2fadmin', appHost],
    ['a host that is not a host name', '/public/page', 'app test'],
    ['a host no policy names', '/public/page', 'other.test'],
  ])('%s', async (_what, path, host) => {
    const response = await envoyCheck({ path, host, headers: await bearer(users.olivia) });
    expect(response.status).not.toBe(200);
    expect([400, 401, 403]).toContain(response.status);
  });

  it('answers 503, which Envoy turns into status_on_error, while no policy is loaded', async () => {
    const unready = await startTestGatehouse({ policies: 'kind: [this is not a policy\n' });
    try {
      const response = await envoyCheck({ path: '/public/page' }, unready.url(''));
      expect(response.status).toBe(503);
    } finally {
      await unready.close();
    }
  });
});
