import { describe, expect, it } from 'vitest';
import type { Identity } from '../authn/identity.ts';
import type { Decision, Outcome } from '../authz/decision.ts';
import { BadRequestError } from '../http/errors.ts';
import type { IncomingCheck, RespondInputs } from './dialect.ts';
import { nginxDialect } from './nginx.ts';
import { ProxyTrust } from './proxy-trust.ts';

const trust = new ProxyTrust(['10.0.0.0/8']);
const ingressPod = '::ffff:10.2.0.15';
const browserAccept = 'text/html,application/xhtml+xml,*/*;q=0.8';

/** What ingress-nginx sends on an auth-url subrequest (proxy-protocols.md §1.2, observed). */
function check(headers: Record<string, string>, remoteAddress = ingressPod): IncomingCheck {
  return {
    method: 'GET',
    target: '/authz/nginx',
    headers: {
      host: 'gatehouse.auth.svc',
      'x-original-method': 'GET',
      'x-sent-from': 'nginx-ingress-controller',
      'x-real-ip': '198.51.100.23',
      'x-forwarded-for': '198.51.100.23',
      accept: browserAccept,
      ...headers,
    },
    remoteAddress,
  };
}

function parse(headers: Record<string, string>, remoteAddress?: string) {
  return nginxDialect.parse(check(headers, remoteAddress), trust, 'req-1');
}

function parseError(headers: Record<string, string>): BadRequestError {
  try {
    parse(headers);
  } catch (error) {
    if (error instanceof BadRequestError) return error;
    throw error;
  }
  throw new Error('expected a BadRequestError');
}

const alice: Identity = {
  subject: 'u-1',
  user: 'alice',
  email: 'alice@example.com',
  groups: ['shop-operators'],
  claims: {},
  provider: 'corp',
  method: 'session',
};

function decision(outcome: Outcome): Decision {
  return {
    outcome,
    reason: outcome === 'allow' ? 'role-granted' : 'authentication-required',
    rule: null,
    roles: ['guest', 'authenticated'],
    identity: outcome === 'unauthenticated' ? null : alice,
  };
}

const inputs: RespondInputs = {
  identityHeaders: [
    ['X-Auth-Request-User', 'alice'],
    ['X-Auth-Request-Email', 'alice@example.com'],
  ],
  identityHeaderNames: ['x-auth-request-user', 'x-auth-request-email', 'remote-user'],
  signInUrl: 'https://auth.example.com/oauth2/start?rd=https%3A%2F%2Fshop.example.com%2Fcart',
};

describe('nginx dialect: parse', () => {
  it('reads the original request from X-Original-URL and X-Original-Method', () => {
    const request = parse({
      'x-original-url': 'https://Shop.Example.com:443/a/./b/../cart?item=1&x=%2F',
      'x-original-method': 'post',
      cookie: '_gatehouse=v1.abc.def',
      authorization: 'Bearer eyJ',
    });
    expect(request).toMatchObject({
      dialect: 'nginx',
      method: 'POST',
      scheme: 'https',
      host: 'shop.example.com',
      path: { ok: true, value: '/a/cart' },
      originalUrl: 'https://shop.example.com/a/./b/../cart?item=1&x=%2F',
      clientIp: '198.51.100.23',
      requestId: 'req-1',
      acceptsRedirect: true,
      credentials: { cookie: '_gatehouse=v1.abc.def', authorization: 'Bearer eyJ' },
    });
  });

  it('keeps a non-default port, defaults the method to GET and the path to "/"', () => {
    const request = parse({ 'x-original-url': 'http://shop.example.com:8080?x=1' });
    expect(request.host).toBe('shop.example.com:8080');
    expect(request.path).toEqual({ ok: true, value: '/' });
    // A plain `auth_request` setup sends neither X-Original-Method nor the client's Accept.
    const withoutMethod = nginxDialect.parse(
      {
        method: 'GET',
        target: '/authz/nginx',
        headers: { 'x-original-url': 'http://shop.example.com/' },
        remoteAddress: ingressPod,
      },
      trust,
      'req-2',
    );
    expect(withoutMethod.method).toBe('GET');
    expect(withoutMethod.acceptsRedirect).toBe(false);
  });

  it('matches on the raw path, so encoded traversal is seen and flagged ambiguous', () => {
    // WHATWG URL would turn %2e%2e into ".." and resolve it, hiding the trick.
    const request = parse({ 'x-original-url': 'https://shop.example.com/public/%2e%2e/admin' });
    expect(request.path.ok).toBe(false);
    expect(parse({ 'x-original-url': 'https://shop.example.com/a%2fb' }).path.ok).toBe(false);
    expect(parse({ 'x-original-url': 'https://shop.example.com/a\\..\\admin' }).path.ok).toBe(
      false,
    );
  });

  it('flags a "#" in the path as ambiguous and percent-encodes raw UTF-8 bytes', () => {
    expect(parse({ 'x-original-url': 'https://shop.example.com/admin#/public' }).path.ok).toBe(
      false,
    );
    // Node hands header bytes over as latin1: "/café" in UTF-8 is "/cafÃ©".
    const raw = Buffer.from('https://shop.example.com/café', 'utf8').toString('latin1');
    const request = parse({ 'x-original-url': raw });
    expect(request.path).toEqual({ ok: true, value: '/caf%C3%A9' });
    expect(request.originalUrl).toBe('https://shop.example.com/caf%C3%A9');
  });

  it('ignores the client-controlled X-Forwarded-Host/-Uri/-Method', () => {
    const request = parse({
      'x-original-url': 'https://shop.example.com/cart',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-uri': '/public',
      'x-forwarded-method': 'OPTIONS',
    });
    expect(request.host).toBe('shop.example.com');
    expect(request.path).toEqual({ ok: true, value: '/cart' });
    expect(request.method).toBe('GET');
  });

  it('believes X-Real-IP / X-Forwarded-For only from a trusted peer', () => {
    const url = { 'x-original-url': 'https://shop.example.com/' };
    expect(parse(url, '::ffff:10.2.0.15').clientIp).toBe('198.51.100.23');
    expect(parse(url, '203.0.113.50').clientIp).toBe('203.0.113.50');
    expect(parse({ ...url, 'x-forwarded-for': 'junk' }, '10.2.0.15').clientIp).toBe(
      '198.51.100.23',
    );
  });

  it.each([
    ['missing', {}, /X-Original-URL is missing/],
    ['relative', { 'x-original-url': '/cart' }, /absolute http/],
    ['ftp', { 'x-original-url': 'ftp://shop.example.com/cart' }, /absolute http/],
    ['scheme-relative', { 'x-original-url': '//shop.example.com/cart' }, /absolute http/],
    [
      'overlong',
      { 'x-original-url': `https://shop.example.com/${'a'.repeat(8192)}` },
      /longer than 8192/,
    ],
    [
      'CRLF',
      { 'x-original-url': 'https://shop.example.com/a\r\nX-Injected: 1' },
      /control character/,
    ],
    ['NUL', { 'x-original-url': 'https://shop.example.com/a\u0000b' }, /control character/],
    ['space', { 'x-original-url': 'https://shop.example.com/a b' }, /space/],
    [
      'userinfo',
      { 'x-original-url': 'https://shop.example.com@evil.example/' },
      /user information/,
    ],
    [
      'backslash host',
      { 'x-original-url': 'https://evil.example\\@shop.example.com/' },
      /user information/,
    ],
    ['bad host', { 'x-original-url': 'https://shop_example!.com/' }, /invalid host/],
    ['numeric host trick', { 'x-original-url': 'http://0x7f.1/' }, /ambiguous host/],
    ['empty host', { 'x-original-url': 'https:///cart' }, /absolute http|invalid host/],
    [
      'bad method',
      { 'x-original-url': 'https://shop.example.com/', 'x-original-method': 'GE T' },
      /method token/,
    ],
  ])('refuses a %s X-Original-URL with malformed_request', (_label, headers, message) => {
    const error = parseError(headers);
    expect(error.code).toBe('malformed_request');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });
});

describe('nginx dialect: respond', () => {
  const request = parse({ 'x-original-url': 'https://shop.example.com/cart' });

  it('allows with exactly 200 and the identity headers', () => {
    expect(nginxDialect.respond(decision('allow'), request, inputs)).toEqual({
      status: 200,
      headers: inputs.identityHeaders,
    });
  });

  it('answers unauthenticated with 401 + Location, never a redirect, for browsers too', () => {
    const response = nginxDialect.respond(decision('unauthenticated'), request, inputs);
    expect(response.status).toBe(401);
    expect(response.headers).toEqual([['Location', inputs.signInUrl]]);
    expect(response.page).toBe('unauthenticated');
  });

  it('adds WWW-Authenticate when a credential was rejected', () => {
    const challenge = 'Bearer error="invalid_token", error_description="expired"';
    const response = nginxDialect.respond(decision('unauthenticated'), request, {
      ...inputs,
      challenge,
    });
    expect(response.status).toBe(401);
    expect(response.headers).toContainEqual(['WWW-Authenticate', challenge]);
  });

  it('answers forbidden with 403 and no identity headers', () => {
    expect(nginxDialect.respond(decision('forbidden'), request, inputs)).toEqual({
      status: 403,
      headers: [],
      page: 'forbidden',
    });
  });
});
