/**
 * Each proxy dialect end to end over real HTTP: the status codes and headers each proxy relies
 * on (docs/architecture.md "Endpoints"; proxy-protocols.md), and that malformed input is a 4xx, never a 2xx.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiAccept,
  browserAccept,
  extAuthzCheck,
  forwardAuthCheck,
  nginxCheck,
} from '../../fixtures/gatehouse/checks.ts';
import { send, sendRaw } from '../../fixtures/gatehouse/http-client.ts';
import { shopHost } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse, testPublicUrl } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';

const xAuthRequestHeaders = [
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-auth-request-roles',
];
const otherProfilesHeaders = [
  'remote-user',
  'remote-email',
  'remote-groups',
  'remote-name',
  'remote-roles',
  'sec-username',
  'sec-email',
  'sec-firstname',
  'sec-lastname',
  'sec-org',
  'sec-roles',
  'x-gatehouse-assertion',
];

function signInUrl(originalUrl: string): string {
  return `${testPublicUrl}/oauth2/start?rd=${encodeURIComponent(originalUrl)}`;
}

/** Every identity header of the default profile is present, empty for an anonymous caller. */
function expectAnonymousIdentityHeaders(headers: Record<string, unknown>): void {
  for (const name of xAuthRequestHeaders) {
    expect(headers, name).toHaveProperty(name);
    expect(headers[name], name).toBe(name === 'x-auth-request-roles' ? 'guest' : '');
  }
}

let untrusted: TestGatehouse;
let trusted: TestGatehouse;

beforeAll(async () => {
  [untrusted, trusted] = await Promise.all([
    startTestGatehouse(),
    startTestGatehouse({ trustedProxies: ['127.0.0.1/32'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([untrusted.close(), trusted.close()]);
});

describe('nginx (/authz/nginx)', () => {
  it('allows a guest path with exactly 200 and every identity header, empty for anonymous', async () => {
    const response = await nginxCheck(untrusted, `https://${shopHost}/public/catalogue`);
    expect(response.status).toBe(200);
    expectAnonymousIdentityHeaders(response.headers);
  });

  it('answers an anonymous request to a protected path 401 with the sign-in URL in Location, never 3xx', async () => {
    const original = `https://${shopHost}/orders?id=7&sort=desc`;
    for (const accept of [browserAccept, apiAccept]) {
      for (const method of ['GET', 'POST']) {
        const response = await nginxCheck(untrusted, original, [['Accept', accept]], method);
        expect(response.status, `${method} ${accept}`).toBe(401);
        expect(response.headers.location).toBe(signInUrl(original));
        expect(response.body).toBe('authentication-required\n');
      }
    }
  });

  it('keeps a non-default port in rd and drops the default one', async () => {
    const withPort = await nginxCheck(untrusted, `https://${shopHost}:8443/orders`);
    expect(withPort.headers.location).toBe(signInUrl(`https://${shopHost}:8443/orders`));
    const defaultPort = await nginxCheck(untrusted, `https://${shopHost}:443/orders`);
    expect(defaultPort.headers.location).toBe(signInUrl(`https://${shopHost}/orders`));
  });

  it('answers a Deny rule 403 with the reason as text', async () => {
    const response = await nginxCheck(untrusted, `https://${shopHost}/metrics`);
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toBe('deny-rule\n');
    expect(response.headers).not.toHaveProperty('x-auth-request-user');
  });

  it('answers a host no policy covers 403 no-matching-rule', async () => {
    const response = await nginxCheck(untrusted, 'https://unknown.test/');
    expect(response.status).toBe(403);
    expect(response.body).toBe('no-matching-rule\n');
  });

  it.each([
    ['missing', undefined],
    ['relative', '/admin'],
    ['scheme-relative', `//${shopHost}/public`],
    ['ftp', `ftp://${shopHost}/public`],
    ['with a space', `https://${shopHost}/public/a b`],
    ['with user information', `https://${shopHost}@evil.test/public`],
    ['with an invalid host', 'https://shop_$.test/public'],
    ['oversized (9000 characters)', `https://${shopHost}/public/${'a'.repeat(9000)}`],
  ])('refuses an X-Original-URL that is %s with 400', async (_what, url) => {
    const response = await nginxCheck(untrusted, url);
    expect(response.status).toBe(400);
    expect(response.headers).not.toHaveProperty('x-auth-request-user');
  });

  it('refuses an X-Original-URL with a bare CR or a control character (400)', async () => {
    for (const bad of ['\r', '\x01', '\x7f']) {
      const status = await sendRaw(
        untrusted.url(''),
        `GET /authz/nginx?host=${shopHost} HTTP/1.1\r\nHost: gatehouse\r\nX-Original-Method: GET\r\nX-Original-URL: https://${shopHost}/public/a${bad}b`,
      );
      expect(status, JSON.stringify(bad)).toBe(400);
    }
  });

  it('refuses a malformed X-Original-Method with 400', async () => {
    const response = await nginxCheck(untrusted, `https://${shopHost}/public`, [], 'GE T(');
    expect(response.status).toBe(400);
  });

  it('never answers 2xx to an X-Original-URL that is not an absolute http(s) URL', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Any value a header can carry (HTAB, printable ASCII, obs-text) that is not an http(s) URL.
        fc
          .stringMatching(/^[\t\x20-\x7e\x80-\xff]{1,40}$/)
          .filter((value) => !/^\s*https?:\/\//i.test(value)),
        async (value) => {
          const response = await nginxCheck(untrusted, value);
          expect(response.status).toBe(400);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('forward-auth (/authz/forward-auth)', () => {
  it('allows with exactly 200 and every identity header, empty for anonymous', async () => {
    const response = await forwardAuthCheck(trusted, { host: shopHost, uri: '/public/catalogue' });
    expect(response.status).toBe(200);
    expectAnonymousIdentityHeaders(response.headers);
  });

  it('redirects a browser GET with 302 to an absolute sign-in URL', async () => {
    const response = await forwardAuthCheck(trusted, { host: shopHost, uri: '/orders?id=7' }, [
      ['Accept', browserAccept],
    ]);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(signInUrl(`https://${shopHost}/orders?id=7`));
  });

  it('redirects a browser POST with 303 so the form is not re-posted to the provider', async () => {
    const response = await forwardAuthCheck(
      trusted,
      { method: 'POST', proto: 'http', host: shopHost, uri: '/cart' },
      [['Accept', browserAccept]],
    );
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(signInUrl(`http://${shopHost}/cart`));
  });

  it('answers an API client and an XHR 401 without a redirect', async () => {
    const api = await forwardAuthCheck(trusted, { host: shopHost, uri: '/orders' }, [
      ['Accept', apiAccept],
    ]);
    expect(api.status).toBe(401);
    expect(api.body).toBe('authentication-required\n');
    const xhr = await forwardAuthCheck(trusted, { host: shopHost, uri: '/orders' }, [
      ['Accept', browserAccept],
      ['X-Requested-With', 'XMLHttpRequest'],
    ]);
    expect(xhr.status).toBe(401);
  });

  it('answers 403 with the HTML page for a browser and the reason for an API client', async () => {
    const browser = await forwardAuthCheck(trusted, { host: shopHost, uri: '/metrics' }, [
      ['Accept', browserAccept],
    ]);
    expect(browser.status).toBe(403);
    expect(browser.headers['content-type']).toMatch(/^text\/html/);
    // gatehouse's own id, the one it answered with and logged the denial under.
    expect(browser.body).toContain(
      `<code id="request-id">${String(browser.headers['x-request-id'])}</code>`,
    );
    const api = await forwardAuthCheck(trusted, { host: shopHost, uri: '/metrics' }, [
      ['Accept', apiAccept],
    ]);
    expect(api.status).toBe(403);
    expect(api.body).toBe('deny-rule\n');
  });

  it('refuses checks from a peer that is not a trusted proxy with 400, whatever the headers say', async () => {
    const response = await forwardAuthCheck(untrusted, { host: shopHost, uri: '/public' });
    expect(response.status).toBe(400);
    expect(response.headers).not.toHaveProperty('x-auth-request-user');
  });

  it.each([
    ['X-Forwarded-Uri', 'x-forwarded-uri'],
    ['X-Forwarded-Host', 'x-forwarded-host'],
    ['X-Forwarded-Proto', 'x-forwarded-proto'],
    ['X-Forwarded-Method', 'x-forwarded-method'],
  ])('refuses a trusted check without %s with 400', async (_name, lower) => {
    const all: [string, string][] = [
      ['X-Forwarded-Method', 'GET'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Host', shopHost],
      ['X-Forwarded-Uri', '/public'],
    ];
    const response = await send(trusted.url(''), {
      path: '/authz/forward-auth',
      headers: all.filter(([name]) => name.toLowerCase() !== lower),
    });
    expect(response.status).toBe(400);
  });

  it.each([
    ['an ftp proto', { proto: 'ftp', host: shopHost, uri: '/public' }],
    ['a relative-less uri', { host: shopHost, uri: 'public' }],
    ['an absolute uri', { host: shopHost, uri: `https://${shopHost}/public` }],
    ['a host with a path', { host: `${shopHost}/x`, uri: '/public' }],
    ['a bad method', { method: 'G(E)T', host: shopHost, uri: '/public' }],
  ])('refuses %s with 400', async (_what, original) => {
    const response = await forwardAuthCheck(trusted, original);
    expect(response.status).toBe(400);
  });
});

describe('ext-authz (/authz/ext-authz/*)', () => {
  it('allows with exactly 200, the profile headers and x-envoy-auth-headers-to-remove for every other profile', async () => {
    const response = await extAuthzCheck(untrusted, shopHost, '/public/catalogue');
    expect(response.status).toBe(200);
    expectAnonymousIdentityHeaders(response.headers);
    const remove = String(response.headers['x-envoy-auth-headers-to-remove']).split(',');
    expect(remove).toEqual(expect.arrayContaining(otherProfilesHeaders));
    for (const name of xAuthRequestHeaders) expect(remove).not.toContain(name);
  });

  it('keeps the original method: HEAD on /static is a guest path, POST is not', async () => {
    expect((await extAuthzCheck(untrusted, shopHost, '/static/app.css', [], 'HEAD')).status).toBe(
      200,
    );
    const post = await extAuthzCheck(
      untrusted,
      shopHost,
      '/static/app.css',
      [['Accept', apiAccept]],
      'POST',
    );
    expect(post.status).toBe(401);
  });

  it('redirects a browser with 302 (303 after a POST) and answers an API client 401', async () => {
    const browser = await extAuthzCheck(untrusted, shopHost, '/orders?id=7', [
      ['Accept', browserAccept],
    ]);
    expect(browser.status).toBe(302);
    // Untrusted peer: no X-Forwarded-Proto is believed, and https is assumed.
    expect(browser.headers.location).toBe(signInUrl(`https://${shopHost}/orders?id=7`));
    const post = await extAuthzCheck(
      untrusted,
      shopHost,
      '/cart',
      [['Accept', browserAccept]],
      'POST',
    );
    expect(post.status).toBe(303);
    const api = await extAuthzCheck(untrusted, shopHost, '/orders', [['Accept', apiAccept]]);
    expect(api.status).toBe(401);
    expect(api.headers).not.toHaveProperty('location');
  });

  it('answers a Deny rule 403', async () => {
    const response = await extAuthzCheck(untrusted, shopHost, '/metrics');
    expect(response.status).toBe(403);
    expect(response.body).toBe('deny-rule\n');
  });

  it('refuses a path that does not follow the prefix with "/" (400)', async () => {
    const response = await send(untrusted.url(''), {
      path: '/authz/ext-authz?x=/public',
      headers: [['Host', shopHost]],
    });
    expect(response.status).toBe(400);
  });

  it('does not treat /authz/ext-authzpublic as an ext-authz check', async () => {
    const response = await send(untrusted.url(''), {
      path: '/authz/ext-authzpublic',
      headers: [['Host', shopHost]],
    });
    expect(response.status).toBe(404);
  });

  it.each([
    ['an invalid Host', 'shop_$.test'],
    ['a Host with user information', `evil.test@${shopHost}`],
    ['a Host with a bad port', `${shopHost}:99999`],
  ])('refuses %s with 400', async (_what, host) => {
    const response = await extAuthzCheck(untrusted, host, '/public');
    expect(response.status).toBe(400);
  });

  it('refuses an absolute-form request target and a request without Host (400)', async () => {
    expect(
      await sendRaw(
        untrusted.url(''),
        `GET https://${shopHost}/authz/ext-authz/public HTTP/1.1\r\nHost: ${shopHost}`,
      ),
    ).toBe(400);
    expect(await sendRaw(untrusted.url(''), 'GET /authz/ext-authz/public HTTP/1.1')).toBe(400);
  });
});
