import { describe, expect, it } from 'vitest';
import type { Identity } from '../authz/identity.ts';
import type { Decision, Outcome } from '../authz/decision.ts';
import { BadRequestError } from '../errors.ts';
import type { IncomingCheck, RespondInputs } from './dialect.ts';
import { createNginxDialect, nginxDialect } from './nginx.ts';
import { ProxyTrust } from './proxy-trust.ts';
import { thrown } from '../../test/fixtures/builders/thrown.ts';

const trust = new ProxyTrust(['10.0.0.0/8']);
const ingressPod = '::ffff:10.2.0.15';
const browserAccept = 'text/html,application/xhtml+xml,*/*;q=0.8';

/** What ingress-nginx sends on an auth-url subrequest (proxy-protocols.md §1.2, observed). */
function check(headers: Record<string, string>, remoteAddress = ingressPod): IncomingCheck {
  return {
    method: 'GET',
    target: routedTarget(headers['x-original-url']),
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

/** The documented auth-url, `/authz/nginx?host=$host`, for the host of the URL. */
function routedTarget(originalUrl: string | undefined): string {
  const host = /^https?:\/\/([a-z0-9.-]+)/i.exec(originalUrl ?? '')?.[1];
  return host === undefined ? '/authz/nginx' : `/authz/nginx?host=${host.toLowerCase()}`;
}

function parse(headers: Record<string, string>, remoteAddress?: string) {
  return nginxDialect.parse(check(headers, remoteAddress), trust, 'req-1');
}

const parseError = (headers: Record<string, string>): BadRequestError =>
  thrown(BadRequestError, () => parse(headers));

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
      'x-original-url': 'https://Shop.Example.com:443/a//%63art?item=1&x=%2F',
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
      originalUrl: 'https://shop.example.com/a//%63art?item=1&x=%2F',
      clientIp: '198.51.100.23',
      requestId: 'req-1',
      acceptsRedirect: true,
      credentials: { cookie: '_gatehouse=v1.abc.def', authorization: 'Bearer eyJ' },
    });
  });

  it('keeps a non-default port', () => {
    const request = parse({ 'x-original-url': 'http://shop.example.com:8080/?x=1' });
    expect(request.host).toBe('shop.example.com:8080');
    expect(request.path).toEqual({ ok: true, value: '/' });
  });

  // Finding 3 of the attack review: nginx subrequests are always GET, so a plain auth_request
  // setup without X-Original-Method had every method-scoped rule judged as GET.
  it('refuses a check without X-Original-Method (400 naming the header), never judging it as GET', () => {
    const error = parseError({
      'x-original-method': '',
      'x-original-url': 'http://shop.example.com/',
    });
    expect(error.status).toBe(400);
    expect(error.message).toMatch(
      /X-Original-Method is missing.*proxy_set_header X-Original-Method \$request_method/,
    );
    const headers = { ...check({ 'x-original-url': 'http://shop.example.com/' }).headers };
    delete headers['x-original-method'];
    expect(() =>
      nginxDialect.parse(
        {
          method: 'GET',
          target: '/authz/nginx?host=shop.example.com',
          headers,
          remoteAddress: ingressPod,
        },
        trust,
        'req-2',
      ),
    ).toThrow(/X-Original-Method is missing/);
  });

  // Finding 1: `Host: app.example.com?` with an absolute-form request line made nginx send
  // `X-Original-URL: http://app.example.com?/admin`, which was judged as `/`.
  it.each([
    ['"?" after the host', 'http://shop.example.com?/admin'],
    ['"#" after the host', 'http://shop.example.com#/admin'],
    ['nothing after the host', 'http://shop.example.com'],
    ['"?" and a query after the host', 'http://shop.example.com?x=/admin'],
    ['a backslash after the host', 'http://shop.example.com\\admin'],
  ])('refuses %s (400 malformed-request), never repairing it to a path', (_what, url) => {
    const error = parseError({ 'x-original-url': url });
    expect(error.status).toBe(400);
    expect(error.code).toBe('malformed-request');
  });

  it.each([
    'shop.example.com%3f',
    'shop.example.com\\',
    'shop example.com',
    'sh"op.example.com',
    "shop.example.com'",
  ])('refuses an authority holding characters no host may hold: %s', (authority) => {
    expect(parseError({ 'x-original-url': `http://${authority}/admin` }).status).toBe(400);
  });

  // Finding 2: nginx routes an absolute-form request by the request-line host, while
  // X-Original-URL carries the client's Host header.
  describe('the routed host (?host=$host)', () => {
    const parseWith = (target: string, url = 'http://www.example.com/admin') =>
      nginxDialect.parse({ ...check({ 'x-original-url': url }), target }, trust, 'req-3');

    it('refuses a check whose X-Original-URL host differs from the routed host, naming both', () => {
      expect(() => parseWith('/authz/nginx?host=app.example.com')).toThrow(
        /X-Original-URL names host "www.example.com" but nginx routed the request to "app.example.com"/,
      );
    });

    it('compares without the port, which $host never carries', () => {
      const request = parseWith(
        '/authz/nginx?host=www.example.com',
        'http://www.example.com:8080/a',
      );
      expect(request.host).toBe('www.example.com:8080');
    });

    it('refuses a check without the routed host by default, with the fix in the message', () => {
      expect(() => parseWith('/authz/nginx')).toThrow(/add \?host=\$host to the auth URL/);
      expect(() => parseWith('/authz/nginx?other=1')).toThrow(/add \?host=\$host/);
    });

    it('accepts a check without it only when the setting is off', () => {
      const lenient = createNginxDialect({ requireRoutedHost: false });
      const request = lenient.parse(
        { ...check({ 'x-original-url': 'http://www.example.com/admin' }), target: '/authz/nginx' },
        trust,
        'req-4',
      );
      expect(request.host).toBe('www.example.com');
      // A routed host that is present is still checked.
      expect(() =>
        lenient.parse(
          {
            ...check({ 'x-original-url': 'http://www.example.com/' }),
            target: '/authz/nginx?host=app.example.com',
          },
          trust,
          'req-5',
        ),
      ).toThrow(/nginx routed the request to "app.example.com"/);
    });

    // `$host` is interpolated unescaped, and nginx lets `&`, `?`, `#` and `%` through in Host.
    it.each([
      ['twice (a Host of "a&host=b")', '/authz/nginx?host=www.example.com&host=app.example.com'],
      ['with a "?"', '/authz/nginx?host=www.example.com?'],
      ['with a "#"', '/authz/nginx?host=www.example.com#x'],
      ['percent-encoded', '/authz/nginx?host=www%2Eexample.com'],
      ['with a port', '/authz/nginx?host=www.example.com:80'],
      ['empty', '/authz/nginx?host='],
    ])('refuses a routed host given %s', (_what, target) => {
      expect(() => parseWith(target)).toThrow(BadRequestError);
    });
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
  ])('refuses a %s X-Original-URL with malformed-request', (_label, headers, message) => {
    const error = parseError(headers);
    expect(error.code).toBe('malformed-request');
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
