import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.ts';
import type { Config } from './schema.ts';

/**
 * `sessions.cookie.domains` and `signInUrls` (issue #20): what `gatehouse serve` refuses, each
 * problem naming the entry and the fix, and what it accepts.
 */

function load(yaml: string) {
  return loadConfig({
    env: {},
    cwd: '/etc/gh',
    file: 'gatehouse.yaml',
    readFile: () => yaml,
  });
}

function problemsOf(yaml: string): string[] {
  const result = load(yaml);
  if (result.ok) throw new Error('expected the configuration to be rejected');
  return result.problems.map((problem) => `${problem.path}: ${problem.message}`);
}

function loaded(yaml: string): Config {
  const result = load(yaml);
  if (!result.ok) throw new Error(result.problems.map((problem) => problem.message).join('\n'));
  return result.config;
}

/** A configuration with `publicUrl` on example.com and the given cookie settings. */
function withCookie(cookie: string, publicUrl = 'https://auth.example.com'): string {
  return `publicUrl: ${publicUrl}\nsessions: { cookie: ${cookie} }\n`;
}

describe('sessions.cookie.domains', () => {
  it('accepts one sign-in host per domain: publicUrl for its own, signInUrls for the others', () => {
    const config = loaded(
      withCookie(
        '{ domains: [example.com, .example.org], signInUrls: [https://auth.example.org] }',
      ),
    );
    expect(config.sessions.cookie.domains).toEqual(['example.com', '.example.org']);
    expect(config.sessions.cookie.signInUrls).toEqual(['https://auth.example.org']);
  });

  it('cannot be combined with the single domain', () => {
    expect(
      problemsOf(
        withCookie(
          '{ domain: example.com, domains: [example.com, example.org], signInUrls: [https://auth.example.org] }',
        ),
      ),
    ).toEqual([
      'sessions.cookie.domains: cannot be combined with sessions.cookie.domain: list every domain in domains and leave domain empty',
    ]);
  });

  it('refuses a domain a browser would not store a cookie for', () => {
    expect(
      problemsOf(
        withCookie(
          '{ domains: [example.com, co.uk, internal], signInUrls: [https://auth.example.co.uk] }',
        ),
      ),
    ).toEqual([
      'sessions.cookie.domains[1]: "co.uk" is a public suffix (Public Suffix List): browsers refuse the cookie, and if they did not, every site under it would receive it; use your own registrable domain',
      'sessions.cookie.domains[2]: "internal" is a single label: browsers drop such a cookie and sign-in loops; use a parent with at least two labels (demo.localhost for auth.demo.localhost and app.demo.localhost), or leave it empty',
      // co.uk was refused, so the host under it is in no configured domain.
      'sessions.cookie.signInUrls[0]: auth.example.co.uk lies in none of sessions.cookie.domains: a session cookie set there would hold for no configured domain',
    ]);
  });

  it('refuses a repeated domain and one inside another', () => {
    expect(
      problemsOf(
        withCookie(
          '{ domains: [apps.example.com, example.com, example.org], signInUrls: [https://auth.example.org] }',
        ),
      ),
    ).toEqual([
      'sessions.cookie.domains[0]: "apps.example.com" lies inside entry 1 (example.com): its hosts would receive both session cookies; keep only the parent',
    ]);
    expect(
      problemsOf(
        withCookie(
          '{ domains: [example.com, .example.com, example.org], signInUrls: [https://auth.example.org] }',
        ),
      ),
    ).toEqual(['sessions.cookie.domains[1]: "example.com" is already listed as entry 0']);
  });

  it('needs a sign-in host inside every domain, and publicUrl inside one', () => {
    expect(problemsOf(withCookie('{ domains: [example.com, example.org] }'))).toEqual([
      'sessions.cookie.domains[1]: "example.org" has no sign-in host: browsers take a cookie for example.org only from a host inside it (RFC 6265 §5.3), so add that host\'s URL (https://auth.example.org) to sessions.cookie.signInUrls',
    ]);
    expect(
      problemsOf(
        withCookie(
          '{ domains: [example.net, example.org], signInUrls: [https://auth.example.org] }',
        ),
      ),
    ).toEqual([
      "sessions.cookie.domains: must hold publicUrl's host auth.example.com: list it or a parent domain of it",
      'sessions.cookie.domains[0]: "example.net" has no sign-in host: browsers take a cookie for example.net only from a host inside it (RFC 6265 §5.3), so add that host\'s URL (https://auth.example.net) to sessions.cookie.signInUrls',
    ]);
  });
});

describe('sessions.cookie.signInUrls', () => {
  const domains = 'domains: [example.com, example.org, example.net]';

  it('refuses URLs that are no second sign-in host of a configured domain', () => {
    expect(
      problemsOf(
        withCookie(
          `{ ${domains}, signInUrls: [http://auth.example.org, https://login.example.com, https://elsewhere.io, https://auth.example.net/?x=1] }`,
        ),
      ),
    ).toEqual([
      'sessions.cookie.signInUrls[0]: must use https, like publicUrl: the login cookie and the redirect checks follow its scheme',
      'sessions.cookie.signInUrls[1]: is a second sign-in host in example.com, after publicUrl (auth.example.com): keep one per cookie domain',
      'sessions.cookie.signInUrls[2]: elsewhere.io lies in none of sessions.cookie.domains: a session cookie set there would hold for no configured domain',
      'sessions.cookie.signInUrls[3]: must be a base URL, without user, query or fragment',
      'sessions.cookie.domains[1]: "example.org" has no sign-in host: browsers take a cookie for example.org only from a host inside it (RFC 6265 §5.3), so add that host\'s URL (https://auth.example.org) to sessions.cookie.signInUrls',
      'sessions.cookie.domains[2]: "example.net" has no sign-in host: browsers take a cookie for example.net only from a host inside it (RFC 6265 §5.3), so add that host\'s URL (https://auth.example.net) to sessions.cookie.signInUrls',
    ]);
  });

  it('refuses the host of publicUrl again', () => {
    expect(
      problemsOf(
        withCookie(
          `{ domains: [example.com, example.org], signInUrls: [https://auth.example.com:8443, https://auth.example.org] }`,
        ),
      ),
    ).toEqual([
      'sessions.cookie.signInUrls[0]: names the host auth.example.com of publicUrl again',
    ]);
  });

  it('needs domains', () => {
    expect(problemsOf(withCookie('{ signInUrls: [https://auth.example.org] }'))).toEqual([
      "sessions.cookie.signInUrls: needs sessions.cookie.domains: a further sign-in host serves a cookie domain that does not hold publicUrl's host",
    ]);
  });

  it('keeps plain http to hosts browsers trust over http, as for publicUrl', () => {
    expect(
      loaded(
        withCookie(
          '{ domains: [one.localhost, two.localhost], signInUrls: ["http://auth.two.localhost:8080"] }',
          'http://auth.one.localhost:8080',
        ),
      ).sessions.cookie.signInUrls,
    ).toEqual(['http://auth.two.localhost:8080']);
  });

  it('forbids a __Host- cookie name with domains, as with domain', () => {
    expect(
      problemsOf(
        withCookie(
          '{ name: __Host-gh, domains: [example.com, example.org], signInUrls: [https://auth.example.org] }',
        ),
      ),
    ).toEqual([
      'sessions.cookie.name: a __Host- cookie requires sessions.cookie.secure: true and no sessions.cookie.domain or domains',
    ]);
  });
});
