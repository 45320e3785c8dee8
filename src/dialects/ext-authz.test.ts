import { describe, expect, it } from 'vitest';
import type { Decision, Outcome } from '../authz/decision.ts';
import { BadRequestError } from '../errors.ts';
import type { IncomingCheck, RespondInputs } from './dialect.ts';
import { extAuthzDialect } from './ext-authz.ts';
import { ProxyTrust } from './proxy-trust.ts';
import { thrown } from '../../test/fixtures/builders/thrown.ts';

const trust = new ProxyTrust(['10.0.0.0/8']);
const envoyPod = '10.244.1.9';
const browserAccept = 'text/html,application/xhtml+xml,*/*;q=0.8';

/** What Envoy sends with `path_prefix: /authz/ext-authz` and cookie/accept/x-forwarded-* allowed. */
function check(
  overrides: Partial<IncomingCheck> & { headers?: Record<string, string | undefined> } = {},
): IncomingCheck {
  return {
    method: overrides.method ?? 'GET',
    target: overrides.target ?? '/authz/ext-authz/admin/users?page=2',
    headers: {
      host: 'shop.example.com',
      'content-length': '0',
      accept: browserAccept,
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '198.51.100.23,10.244.0.1',
      ...overrides.headers,
    },
    remoteAddress: overrides.remoteAddress ?? envoyPod,
  };
}

function parse(overrides: Parameters<typeof check>[0] = {}) {
  return extAuthzDialect.parse(check(overrides), trust, 'req-1');
}

const parseError = (overrides: Parameters<typeof check>[0]) =>
  thrown(BadRequestError, () => parse(overrides));

function decision(outcome: Outcome): Decision {
  return { outcome, reason: 'role-granted', rule: null, roles: ['guest'], identity: null };
}

const allNames = [
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'remote-user',
  'X-Gatehouse-Assertion',
];
const inputs: RespondInputs = {
  identityHeaders: [
    ['X-Auth-Request-User', 'alice'],
    ['X-Auth-Request-Email', ''],
    ['X-Auth-Request-Groups', 'shop-operators'],
  ],
  identityHeaderNames: allNames,
  signInUrl: 'https://auth.example.com/oauth2/start?rd=https%3A%2F%2Fshop.example.com%2Fadmin',
};

describe('ext-authz dialect: parse', () => {
  it('takes method, path after the prefix and Host from the check request itself', () => {
    expect(parse({ method: 'patch' })).toMatchObject({
      dialect: 'ext-authz',
      method: 'PATCH',
      scheme: 'https',
      host: 'shop.example.com',
      path: { ok: true, value: '/admin/users' },
      originalUrl: 'https://shop.example.com/admin/users?page=2',
      clientIp: '198.51.100.23',
      acceptsRedirect: true,
    });
  });

  it('maps an empty remainder to "/" and merges the slash a trailing-slash prefix adds', () => {
    expect(parse({ target: '/authz/ext-authz' }).path).toEqual({ ok: true, value: '/' });
    expect(parse({ target: '/authz/ext-authz//admin' }).path).toEqual({
      ok: true,
      value: '/admin',
    });
  });

  it('believes X-Forwarded-Proto and X-Forwarded-For only from a trusted peer', () => {
    const trusted = parse({
      headers: { 'x-forwarded-proto': 'http', host: 'shop.example.com:80' },
    });
    expect(trusted.scheme).toBe('http');
    expect(trusted.host).toBe('shop.example.com');
    const untrusted = parse({
      remoteAddress: '203.0.113.7',
      headers: { 'x-forwarded-proto': 'http', 'x-forwarded-for': '1.2.3.4' },
    });
    expect(untrusted.scheme).toBe('https');
    expect(untrusted.clientIp).toBe('203.0.113.7');
    expect(parse({ remoteAddress: '::ffff:10.244.1.9' }).clientIp).toBe('198.51.100.23');
  });

  it('defaults the scheme to https when Envoy does not forward X-Forwarded-Proto', () => {
    expect(parse({ headers: { 'x-forwarded-proto': undefined } }).scheme).toBe('https');
  });

  it.each([
    ['a path not under the prefix', { target: '/authz/ext-authzadmin' }, /start with "\/"/],
    ['another route', { target: '/authz/nginx' }, /under \/authz\/ext-authz/],
    ['no Host', { headers: { host: undefined } }, /Host header .* missing/],
    ['a bad Host', { headers: { host: 'shop.example.com/evil' } }, /not a valid host/],
    ['a control character', { target: '/authz/ext-authz/a%0d%0a\r\n' }, /control character/],
    ['an overlong path', { target: `/authz/ext-authz/${'a'.repeat(8192)}` }, /longer than 8192/],
  ])('refuses %s with malformed-request', (_label, overrides, message) => {
    const error = parseError(overrides);
    expect(error.code).toBe('malformed-request');
    expect(error.message).toMatch(message);
  });
});

describe('ext-authz dialect: respond', () => {
  it('allows with exactly 200, the identity headers and every other identity header to remove', () => {
    const response = extAuthzDialect.respond(decision('allow'), parse(), inputs);
    expect(response.status).toBe(200);
    const removeList = response.headers.find(([name]) => name === 'x-envoy-auth-headers-to-remove');
    expect(response.headers.slice(0, inputs.identityHeaders.length)).toEqual(
      inputs.identityHeaders,
    );
    const removed = removeList?.[1].split(',') ?? [];
    // Other profiles' headers, and the underscore spelling of every identity header (which
    // Envoy keeps by default and WSGI/CGI upstreams read as the dash spelling).
    expect(removed).toEqual(
      expect.arrayContaining(['remote-user', 'x-gatehouse-assertion', 'x_auth_request_user']),
    );
    // Never a header the answer sets: Envoy would remove the value it just copied.
    for (const [name] of inputs.identityHeaders) expect(removed).not.toContain(name.toLowerCase());
  });

  it('removes only the underscore spellings when the response sets every identity header', () => {
    const response = extAuthzDialect.respond(decision('allow'), parse(), {
      ...inputs,
      identityHeaderNames: ['X-Auth-Request-User', 'x-auth-request-email', 'x-auth-request-groups'],
    });
    expect(response.headers).toEqual([
      ...inputs.identityHeaders,
      [
        'x-envoy-auth-headers-to-remove',
        'x_auth_request_user,x_auth_request_email,x_auth_request_groups',
      ],
    ]);
  });

  it('redirects a browser with 302 (303 after POST) and answers an API client 401', () => {
    expect(extAuthzDialect.respond(decision('unauthenticated'), parse(), inputs)).toEqual({
      status: 302,
      headers: [['Location', inputs.signInUrl]],
    });
    expect(
      extAuthzDialect.respond(decision('unauthenticated'), parse({ method: 'POST' }), inputs)
        .status,
    ).toBe(303);
    const api = parse({ headers: { accept: 'application/json' } });
    expect(
      extAuthzDialect.respond(decision('unauthenticated'), api, { ...inputs, challenge: 'Bearer' }),
    ).toEqual({ status: 401, headers: [['WWW-Authenticate', 'Bearer']], page: 'unauthenticated' });
  });

  it('answers forbidden with 403 and no identity headers', () => {
    expect(extAuthzDialect.respond(decision('forbidden'), parse(), inputs)).toEqual({
      status: 403,
      headers: [],
      page: 'forbidden',
    });
  });
});
