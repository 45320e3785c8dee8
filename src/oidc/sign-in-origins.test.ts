import { describe, expect, it } from 'vitest';
import {
  atOrigin,
  buildSignInOrigins,
  cookieDomainFor,
  hostnameOfHostHeader,
  originOfDestination,
  originOfRequestHost,
  signInOriginElsewhere,
} from './sign-in-origins.ts';
import { signInPaths, type SessionCookieOptions } from './sign-in-options.ts';

const origins = buildSignInOrigins(
  'https://auth.example.com/',
  ['https://auth.example.org'],
  ['example.com', '.example.org'],
);

describe('cookieDomainFor', () => {
  it('picks the configured domain holding the host, on a dot boundary', () => {
    const domains = ['example.com', 'example.org'];
    expect(cookieDomainFor('app.example.org', domains)).toBe('example.org');
    expect(cookieDomainFor('example.com', domains)).toBe('example.com');
    expect(cookieDomainFor('APP.Example.COM', domains)).toBe('example.com');
    // oauth2-proxy's plain suffix test would hand badexample.com the example.com cookie, which
    // the browser then drops (RFC 6265 §5.1.3 domain-match).
    expect(cookieDomainFor('badexample.com', domains)).toBeUndefined();
    expect(cookieDomainFor('example.net', domains)).toBeUndefined();
  });

  it('picks the longest when several hold the host, whatever their order', () => {
    expect(cookieDomainFor('a.apps.example.com', ['example.com', 'apps.example.com'])).toBe(
      'apps.example.com',
    );
    expect(cookieDomainFor('a.apps.example.com', ['apps.example.com', 'example.com'])).toBe(
      'apps.example.com',
    );
  });

  it('ignores a leading dot in the configuration, as browsers do', () => {
    expect(cookieDomainFor('auth.example.org', ['.example.org'])).toBe('example.org');
  });
});

describe('hostnameOfHostHeader', () => {
  it('reads host[:port], lower-cased, without the port or a trailing dot', () => {
    expect(hostnameOfHostHeader('Auth.Example.org:8443')).toBe('auth.example.org');
    expect(hostnameOfHostHeader('auth.example.org.')).toBe('auth.example.org');
    expect(hostnameOfHostHeader('[::1]:8080')).toBe('[::1]');
  });

  it('refuses what is not a plain authority', () => {
    for (const header of [
      undefined,
      '',
      'evil.com/auth.example.org',
      'auth.example.org@evil.com',
      'evil.com\\auth.example.org',
      'auth.example.org evil.com',
      'auth.example.org?x',
      'auth.example.org:99999',
    ]) {
      expect(hostnameOfHostHeader(header), String(header)).toBeUndefined();
    }
  });
});

describe('the sign-in origin of a request', () => {
  it('is the configured origin its Host names, with that origin cookie domain', () => {
    expect(originOfRequestHost(origins, 'auth.example.org')).toEqual({
      publicUrl: 'https://auth.example.org',
      hostname: 'auth.example.org',
      cookieDomain: 'example.org',
    });
    expect(originOfRequestHost(origins, 'AUTH.example.com:443')).toEqual({
      publicUrl: 'https://auth.example.com',
      hostname: 'auth.example.com',
      cookieDomain: 'example.com',
    });
  });

  it('is none for a host inside a cookie domain that is not listed as a sign-in host', () => {
    expect(originOfRequestHost(origins, 'app.example.org')).toBeUndefined();
    expect(originOfRequestHost(origins, 'evil.test')).toBeUndefined();
  });
});

describe('where a sign-in for a destination runs', () => {
  it("is the sign-in host of the destination's cookie domain", () => {
    expect(originOfDestination(origins, 'https://app.example.org/x?y=1')?.hostname).toBe(
      'auth.example.org',
    );
    expect(originOfDestination(origins, 'https://example.com/')?.hostname).toBe('auth.example.com');
    expect(originOfDestination(origins, 'https://app.example.net/')).toBeUndefined();
    expect(originOfDestination(origins, '/relative')).toBeUndefined();
  });

  it('moves only when that host is another one', () => {
    const cookie: SessionCookieOptions = { name: '_gatehouse', secure: true, sameSite: 'lax' };
    const onCom = { publicUrl: 'https://auth.example.com', cookie, signInOrigins: origins };
    expect(signInOriginElsewhere(onCom, 'https://app.example.org/')?.publicUrl).toBe(
      'https://auth.example.org',
    );
    expect(signInOriginElsewhere(onCom, 'https://app.example.com/')).toBeUndefined();
    // A destination in no cookie domain signs in where it started (host-only as before).
    expect(signInOriginElsewhere(onCom, 'https://app.example.net/')).toBeUndefined();
    // Without several origins nothing moves.
    const single = { publicUrl: 'https://auth.example.com', cookie };
    expect(signInOriginElsewhere(single, 'https://app.example.org/')).toBeUndefined();
  });
});

describe('atOrigin', () => {
  it("builds the callback and the cookie on the origin's host, and keeps the binding cookie host-only", () => {
    const cookie: SessionCookieOptions = {
      name: '_gatehouse',
      domain: 'example.com',
      secure: true,
      sameSite: 'lax',
    };
    const base = { publicUrl: 'https://auth.example.com', routesPrefix: '/oauth2', cookie };
    const org = origins.all[1];
    if (org === undefined) throw new Error('two origins expected');
    const view = atOrigin(base, org);
    expect(view.cookie.domain).toBe('example.org');
    const paths = signInPaths(view);
    expect(paths.callbackUrl).toBe('https://auth.example.org/oauth2/callback');
    expect(paths.signedOutUrl).toBe('https://auth.example.org/oauth2/signed-out');
    expect(paths.loginCookie).toEqual({ name: '__Host-_gatehouse_login', path: '/', secure: true });
    // The base options are left as they were.
    expect(base.cookie.domain).toBe('example.com');
  });
});
