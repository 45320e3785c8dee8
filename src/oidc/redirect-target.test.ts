import { describe, expect, it } from 'vitest';
import { redirectOrDefault, validateRedirect, type RedirectPolicy } from './redirect-target.ts';

const policy: RedirectPolicy = {
  allowedDomains: ['.good.com', 'app.example.com'],
  publicUrl: 'https://auth.good.com',
};

describe('validateRedirect', () => {
  // Payloads from the oauth2-proxy (GHSA-qqxw-m5fj-f7gv, GHSA-4mf2-f3wh-gvf2, GHSA-5vf5-3j5p-j7vx,
  // CVE-2021-21291), Authelia (GHSA-36f2-fcrx-fp4j) and mod_auth_openidc (CVE-2021-32786,
  // CVE-2019-14857) advisories and their write-ups.
  const refused = [
    '//evil.com',
    '///evil.com',
    '/\\evil.com',
    '\\\\evil.com',
    '/%09/evil.com',
    '/%2F/evil.com',
    '/%2f%2fevil.com',
    '/%5Cevil.com',
    '%2F%2Fevil.com',
    '/\t/evil.com',
    ' https://app.good.com/',
    'https://app.good.com/ ',
    'https://app.good.com/\n',
    'https://app.good.com/%0d%0aSet-Cookie:x=1',
    'https://app.good.com/%00',
    'https://good.com@evil.com',
    'https://good.com:443@evil.com',
    'https://good.com%2F@evil.com',
    'https://good.com%40evil.com',
    'https://evil.com\\@good.com',
    'https://good.com\\.evil.com',
    'https://user:pass@app.good.com/',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'JAVASCRIPT:alert(1)',
    'java\tscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'ftp://app.good.com/',
    'HtTpX://app.good.com/',
    'https:evil.com',
    'https:/evil.com',
    'http:/\\evil.com',
    'https:\\\\evil.com',
    'https://good.com.evil.com',
    'https://evilgood.com',
    'https://evil。com',
    'https://app.good。com',
    'https://ａpp.good.com',
    'https://%61pp.good.com',
    'https://xn--pp-8ja.good.com.evil.com',
    'https://app.example.com.evil.com',
    'https://sub.app.example.com',
    'https://evil.com/https://app.good.com',
    'https://evil.com?rd=https://good.com',
    'https:///evil.com',
    'https://app.good.com:99999/',
    'evil.com',
    '',
    'https://app.good.com/\u2028',
    'https://app.good.com/\u200b',
    'https://.good.com/',
    'https://..good.com/',
    'https://evil..good.com/',
  ];
  it.each(refused)('refuses %j', (raw) => {
    expect(validateRedirect(raw, policy).ok).toBe(false);
  });

  const allowed: [string, string][] = [
    ['https://good.com', 'https://good.com/'],
    ['https://good.com/x?y=1#z', 'https://good.com/x?y=1#z'],
    ['https://app.good.com/', 'https://app.good.com/'],
    ['https://a.b.good.com:8443/path', 'https://a.b.good.com:8443/path'],
    ['HTTPS://APP.GOOD.COM/Path', 'https://app.good.com/Path'],
    ['https://app.example.com/', 'https://app.example.com/'],
    ['https://auth.good.com/oauth2/userinfo', 'https://auth.good.com/oauth2/userinfo'],
    ['https://app.good.com/search?q=a%20b', 'https://app.good.com/search?q=a%20b'],
    ['/app', 'https://auth.good.com/app'],
    ['/app/x?y=%2F', 'https://auth.good.com/app/x?y=%2F'],
    ['/', 'https://auth.good.com/'],
  ];
  it.each(allowed)('allows %j as %j', (raw, url) => {
    expect(validateRedirect(raw, policy)).toEqual({ ok: true, url });
  });

  it('names the reason of a refusal', () => {
    expect(validateRedirect('//evil.com', policy)).toEqual({
      ok: false,
      reason: 'protocol-relative',
    });
    expect(validateRedirect('https://good.com@evil.com', policy)).toEqual({
      ok: false,
      reason: 'userinfo',
    });
    expect(validateRedirect('https://evilgood.com', policy)).toEqual({
      ok: false,
      reason: 'domain-not-allowed',
    });
    expect(validateRedirect('javascript:alert(1)', policy)).toEqual({
      ok: false,
      reason: 'not-http',
    });
  });
});

describe('validateRedirect: scheme downgrade', () => {
  // An https deployment that sends the browser on to http hands the destination (and whatever
  // the URL carries) to anyone on the network path, and an SSL-stripping attacker can keep the
  // user on http from there (RFC 6797 §2.3.1.1). Refused unless the operator allows http targets.
  it('refuses an http target when the public URL is https', () => {
    expect(validateRedirect('http://app.good.com/', policy)).toEqual({
      ok: false,
      reason: 'insecure-scheme',
    });
    expect(validateRedirect('HTTP://auth.good.com/x', policy)).toEqual({
      ok: false,
      reason: 'insecure-scheme',
    });
  });

  it('allows it when http targets are allowed, or when gatehouse itself runs on http', () => {
    expect(validateRedirect('http://app.good.com/', { ...policy, allowHttp: true })).toEqual({
      ok: true,
      url: 'http://app.good.com/',
    });
    expect(
      validateRedirect('http://app.good.com/', { ...policy, publicUrl: 'http://auth.good.com' }),
    ).toEqual({ ok: true, url: 'http://app.good.com/' });
  });

  it('still refuses hosts that are not allowed before looking at the scheme', () => {
    expect(validateRedirect('http://evil.com/', { ...policy, allowHttp: true })).toEqual({
      ok: false,
      reason: 'domain-not-allowed',
    });
  });
});

describe('redirectOrDefault', () => {
  it('falls back to the default URL, or the public URL, and says why', () => {
    expect(redirectOrDefault(undefined, policy)).toEqual({ url: 'https://auth.good.com' });
    expect(
      redirectOrDefault('//evil.com', { ...policy, defaultUrl: 'https://app.good.com/' }),
    ).toEqual({ url: 'https://app.good.com/', refused: 'protocol-relative' });
    expect(redirectOrDefault('/ok', policy)).toEqual({ url: 'https://auth.good.com/ok' });
  });
});
