/**
 * Client copies of identity headers never reach the upstream (docs/architecture.md security invariant 2).
 * A proxy overwrites the header names gatehouse returns, but `X_Auth_Request_User` passes
 * untouched and CGI/WSGI upstreams read it as `HTTP_X_AUTH_REQUEST_USER` (PEP 3333); Caddy
 * GHSA-7r4p-vjf4-gxv4 is that gap in the wild. So a request carrying a copy in any spelling is
 * refused, and every profile header is always returned so the proxy overwrites the plain copies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  extAuthzCheck,
  forwardAuthCheck,
  nginxCheck,
  type Headers,
} from '../../fixtures/gatehouse/checks.ts';
import type { RawResponse } from '../../fixtures/gatehouse/http-client.ts';
import { remoteProfileHost, shopHost } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';

const forgedSpellings = [
  'X-Auth-Request-User',
  'x_auth_request_user',
  'X-AUTH-REQUEST-USER',
  'X_Auth_Request_Email',
  'Remote-User',
  'Remote_User',
  'sec-username',
  'X-Gatehouse-Assertion',
  'X_GATEHOUSE_ASSERTION',
  'X-Auth-Request-Impersonator',
];

type DialectCheck = (
  gatehouse: TestGatehouse,
  host: string,
  extra: Headers,
) => Promise<RawResponse>;

const dialects: readonly (readonly [string, DialectCheck])[] = [
  ['nginx', (g, host, extra) => nginxCheck(g, `https://${host}/public/catalogue`, extra)],
  [
    'forward-auth',
    (g, host, extra) => forwardAuthCheck(g, { host, uri: '/public/catalogue' }, extra),
  ],
  ['ext-authz', (g, host, extra) => extAuthzCheck(g, host, '/public/catalogue', extra)],
];

let strict: TestGatehouse;
let lenient: TestGatehouse;

beforeAll(async () => {
  [strict, lenient] = await Promise.all([
    startTestGatehouse({ trustedProxies: ['127.0.0.1/32'] }),
    startTestGatehouse({
      trustedProxies: ['127.0.0.1/32'],
      env: { GATEHOUSE_IDENTITY_HEADERS__REJECT_CLIENT_COPIES: 'false' },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([strict.close(), lenient.close()]);
});

describe.each(dialects)('%s', (_dialect, check) => {
  it('allows the guest path when no identity header is sent', async () => {
    expect((await check(strict, shopHost, [])).status).toBe(200);
  });

  it.each(forgedSpellings)(
    'refuses a client copy spelled %s with 403 forged-identity-header',
    async (name) => {
      const response = await check(strict, shopHost, [[name, 'alice@example.com']]);
      expect(response.status).toBe(403);
      expect(response.body).toBe('forged-identity-header\n');
      expect(response.headers).not.toHaveProperty('x-auth-request-user');
    },
  );

  it('refuses an empty client copy too', async () => {
    const response = await check(strict, shopHost, [['X-Auth-Request-User', '']]);
    expect(response.status).toBe(403);
  });

  it('with rejectClientCopies off, answers every profile header with the server value, not the client copy', async () => {
    const response = await check(lenient, shopHost, [
      ['X-Auth-Request-User', 'mallory'],
      ['X-Auth-Request-Groups', 'shop-operators'],
      ['X-Auth-Request-Roles', 'admin'],
    ]);
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-request-user']).toBe('');
    expect(response.headers['x-auth-request-email']).toBe('');
    expect(response.headers['x-auth-request-groups']).toBe('');
    expect(response.headers['x-auth-request-preferred-username']).toBe('');
    expect(response.headers['x-auth-request-roles']).toBe('guest');
  });

  it('sends the remote profile on a host whose policy names it', async () => {
    const response = await check(strict, remoteProfileHost, []);
    expect(response.status).toBe(200);
    for (const name of ['remote-user', 'remote-email', 'remote-groups', 'remote-name']) {
      expect(response.headers[name], name).toBe('');
    }
    expect(response.headers['remote-roles']).toBe('guest');
    expect(response.headers).not.toHaveProperty('x-auth-request-user');
  });
});

describe('ext-authz removal list', () => {
  it('asks Envoy to remove the client copies of the profiles not sent', async () => {
    const shop = await extAuthzCheck(lenient, shopHost, '/public/catalogue', [
      ['Remote-User', 'mallory'],
    ]);
    const shopRemove = String(shop.headers['x-envoy-auth-headers-to-remove']).split(',');
    expect(shopRemove).toContain('remote-user');
    expect(shopRemove).not.toContain('x-auth-request-user');

    const remote = await extAuthzCheck(strict, remoteProfileHost, '/public/catalogue');
    const remoteRemove = String(remote.headers['x-envoy-auth-headers-to-remove']).split(',');
    expect(remoteRemove).toContain('x-auth-request-user');
    expect(remoteRemove).not.toContain('remote-user');
  });
});
