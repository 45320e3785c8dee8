import { describe, expect, it } from 'vitest';
import type { Decision, Outcome } from '../authz/decision.ts';
import { BadRequestError } from '../errors.ts';
import type { IncomingCheck, RespondInputs } from './dialect.ts';
import { forwardAuthDialect } from './forward-auth.ts';
import { ProxyTrust } from './proxy-trust.ts';
import { thrown } from '../../test/fixtures/builders/thrown.ts';

const trust = new ProxyTrust(['10.0.0.0/8', 'fd00::/8']);
const traefikPod = '10.42.0.7';
const browserAccept = 'text/html,application/xhtml+xml,*/*;q=0.8';

/** What Traefik ForwardAuth sends (proxy-protocols.md §3): client headers plus X-Forwarded-*. */
function check(
  headers: Record<string, string | undefined>,
  remoteAddress = traefikPod,
): IncomingCheck {
  return {
    method: 'GET',
    target: '/authz/forward-auth',
    headers: {
      host: 'gatehouse.auth.svc:8080',
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'shop.example.com',
      'x-forwarded-uri': '/cart?item=1',
      'x-forwarded-for': '198.51.100.23',
      accept: browserAccept,
      ...headers,
    },
    remoteAddress,
  };
}

function parse(headers: Record<string, string | undefined> = {}, remoteAddress?: string) {
  return forwardAuthDialect.parse(check(headers, remoteAddress), trust, 'req-1');
}

const parseError = (headers: Record<string, string | undefined>, remoteAddress?: string) =>
  thrown(BadRequestError, () => parse(headers, remoteAddress));

function decision(outcome: Outcome): Decision {
  return {
    outcome,
    reason: outcome === 'allow' ? 'role-granted' : 'missing-role',
    rule: null,
    roles: ['guest'],
    identity: null,
  };
}

const inputs: RespondInputs = {
  identityHeaders: [
    ['Remote-User', 'alice'],
    ['Remote-Groups', 'shop-operators'],
  ],
  identityHeaderNames: ['remote-user', 'remote-groups'],
  signInUrl: 'https://auth.example.com/oauth2/start?rd=https%3A%2F%2Fshop.example.com%2Fcart',
};

describe('forward-auth dialect: parse', () => {
  it('reads the original request from X-Forwarded-* sent by a trusted proxy', () => {
    expect(parse({ 'x-forwarded-method': 'delete', cookie: 'a=b' })).toMatchObject({
      dialect: 'forward-auth',
      method: 'DELETE',
      scheme: 'https',
      host: 'shop.example.com',
      path: { ok: true, value: '/cart' },
      originalUrl: 'https://shop.example.com/cart?item=1',
      clientIp: '198.51.100.23',
      acceptsRedirect: true,
      credentials: { cookie: 'a=b' },
    });
  });

  it('works for an IPv4-mapped IPv6 peer and keeps non-default ports', () => {
    const request = parse(
      { 'x-forwarded-proto': 'HTTP', 'x-forwarded-host': 'Shop.Example.com:8080' },
      '::ffff:10.42.0.7',
    );
    expect(request.scheme).toBe('http');
    expect(request.host).toBe('shop.example.com:8080');
    expect(request.clientIp).toBe('198.51.100.23');
  });

  it('flags an ambiguous forwarded path instead of guessing', () => {
    expect(parse({ 'x-forwarded-uri': '/static/..%2fadmin' }).path.ok).toBe(false);
  });

  it('refuses a check from an untrusted peer, even with forged X-Forwarded-*, naming trustedProxies', () => {
    const error = parseError({ 'x-forwarded-host': 'shop.example.com' }, '203.0.113.66');
    expect(error.code).toBe('malformed-request');
    expect(error.message).toMatch(/203\.0\.113\.66.*trustedProxies/);
  });

  it.each([
    ['X-Forwarded-Host', { 'x-forwarded-host': undefined }, /X-Forwarded-Host is missing/],
    ['X-Forwarded-Uri', { 'x-forwarded-uri': undefined }, /X-Forwarded-Uri is missing/],
    ['X-Forwarded-Proto', { 'x-forwarded-proto': undefined }, /X-Forwarded-Proto is missing/],
    ['X-Forwarded-Method', { 'x-forwarded-method': undefined }, /X-Forwarded-Method is missing/],
    ['a uri without a leading slash', { 'x-forwarded-uri': 'cart' }, /starting with "\/"/],
    ['an absolute uri', { 'x-forwarded-uri': 'https://evil.example/' }, /starting with "\/"/],
    ['a CRLF uri', { 'x-forwarded-uri': '/a\r\nSet-Cookie: x=1' }, /control character/],
    ['an overlong uri', { 'x-forwarded-uri': `/${'a'.repeat(8192)}` }, /longer than 8192/],
    ['an ftp proto', { 'x-forwarded-proto': 'ftp' }, /"http" or "https"/],
    ['a chained proto', { 'x-forwarded-proto': 'https, http' }, /"http" or "https"/],
    ['a host list', { 'x-forwarded-host': 'shop.example.com, evil.example' }, /not a valid host/],
  ])('refuses a missing or malformed %s', (_label, headers, message) => {
    const error = parseError(headers);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });
});

describe('forward-auth dialect: respond', () => {
  it('allows with exactly 200 and the identity headers', () => {
    expect(forwardAuthDialect.respond(decision('allow'), parse(), inputs)).toEqual({
      status: 200,
      headers: inputs.identityHeaders,
    });
  });

  it('redirects a browser GET or HEAD with 302 to the absolute sign-in URL', () => {
    for (const method of ['GET', 'HEAD']) {
      const request = parse({ 'x-forwarded-method': method });
      expect(forwardAuthDialect.respond(decision('unauthenticated'), request, inputs)).toEqual({
        status: 302,
        headers: [['Location', inputs.signInUrl]],
      });
    }
  });

  it('redirects a browser POST with 303 so the form is not re-posted', () => {
    const request = parse({ 'x-forwarded-method': 'POST' });
    const response = forwardAuthDialect.respond(decision('unauthenticated'), request, inputs);
    expect(response.status).toBe(303);
    expect(response.headers).toEqual([['Location', inputs.signInUrl]]);
  });

  it('answers API and XHR clients 401 with the challenge and no redirect', () => {
    const challenge = 'Bearer error="invalid_token"';
    for (const headers of [
      { accept: 'application/json' },
      { 'x-requested-with': 'XMLHttpRequest' },
    ]) {
      const response = forwardAuthDialect.respond(decision('unauthenticated'), parse(headers), {
        ...inputs,
        challenge,
      });
      expect(response).toEqual({
        status: 401,
        headers: [['WWW-Authenticate', challenge]],
        page: 'unauthenticated',
      });
    }
  });

  it('answers forbidden with 403, for browsers too', () => {
    expect(forwardAuthDialect.respond(decision('forbidden'), parse(), inputs)).toEqual({
      status: 403,
      headers: [],
      page: 'forbidden',
    });
  });
});
