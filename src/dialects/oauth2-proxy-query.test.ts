import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../errors.ts';
import { meetsAllowedLists, parseOauth2ProxyQuery, restricts } from './oauth2-proxy-query.ts';
import { thrown } from '../../test/fixtures/builders/thrown.ts';

const refusal = (target: string): BadRequestError =>
  thrown(BadRequestError, () => parseOauth2ProxyQuery(target));

interface User {
  readonly groups: readonly string[];
  readonly email?: string;
}

const alice: User = { groups: ['shop-operators', 'staff'], email: 'alice@example.com' };

function allowedBy(query: string, user: User = alice): boolean {
  return meetsAllowedLists(user, parseOauth2ProxyQuery(`/oauth2/auth?${query}`).allowed);
}

describe('parseOauth2ProxyQuery: what oauth2-proxy reads, read the same way', () => {
  it('reads no restriction and no routed host from a bare /oauth2/auth', () => {
    const query = parseOauth2ProxyQuery('/oauth2/auth');
    expect(query).toEqual({ allowed: {}, routedHost: false });
    expect(restricts(query.allowed)).toBe(false);
  });

  it('splits each list on "," and drops empty entries, as extractAllowedEntities does', () => {
    const { allowed } = parseOauth2ProxyQuery(
      '/oauth2/auth?allowed_groups=admins,,ops,&allowed_emails=a@x.test&allowed_email_domains=.x.test',
    );
    expect([...(allowed.groups ?? [])]).toEqual(['admins', 'ops']);
    expect([...(allowed.emails ?? [])]).toEqual(['a@x.test']);
    expect(allowed.emailDomains).toEqual(['.x.test']);
    expect(restricts(allowed)).toBe(true);
  });

  it('percent-decodes values before splitting, "+" being a space (Go url.QueryUnescape)', () => {
    const { allowed } = parseOauth2ProxyQuery(
      '/oauth2/auth?allowed_groups=team+blue%2Cadmins&allowed_emails=bob%40x.test',
    );
    expect([...(allowed.groups ?? [])]).toEqual(['team blue', 'admins']);
    expect([...(allowed.emails ?? [])]).toEqual(['bob@x.test']);
  });

  it('notes a routed host without reading it (the nginx dialect checks its value)', () => {
    expect(parseOauth2ProxyQuery('/oauth2/auth?host=shop.test&allowed_groups=a')).toMatchObject({
      routedHost: true,
    });
    expect(parseOauth2ProxyQuery('/oauth2/auth?allowed_groups=a').routedHost).toBe(false);
  });
});

describe('parseOauth2ProxyQuery: what would open an application under oauth2-proxy is refused', () => {
  it.each([
    ['an empty list', '?allowed_groups=', /allowed_groups is empty.*no restriction at all/],
    ['a list of commas', '?allowed_emails=,,', /allowed_emails is empty/],
    ['a name without "="', '?allowed_groups', /allowed_groups is empty/],
    ['a repeated list', '?allowed_groups=a&allowed_groups=b', /more than once.*allowed_groups=a,b/],
    ['a repeated host', '?host=a.test&host=b.test', /host more than once/],
    ['a ";"', '?allowed_groups=admins;x=1', /holds a ";"/],
    ['a "#"', '?host=shop.test#&allowed_groups=a', /holds a "#"/],
    ['a bad escape', '?allowed_groups=adm%zzins', /malformed %-escape/],
    ['an escape that is not UTF-8', '?allowed_groups=%C3', /malformed %-escape/],
    ['a misspelt parameter', '?allowed_group=admins', /unknown parameter "allowed_group"/],
    ['an escaped parameter name', '?allowed%5Fgroups=admins', /unknown parameter/],
    ['an unknown parameter', '?rd=/x', /unknown parameter "rd"/],
    ['an entry with spaces', '?allowed_groups=a,%20b', /entry " b" starts or ends with a space/],
    ['a control character', '?allowed_groups=a%0Ab', /control character/],
    ['an e-mail domain with a port', '?allowed_email_domains=x.test:443', /is not a domain/],
    ['an e-mail address as a domain', '?allowed_email_domains=a@x.test', /is not a domain/],
    ['an oversized query', `?allowed_groups=${'a'.repeat(5000)}`, /longer than 4096/],
  ])('refuses %s with 400 malformed-request', (_what, query, message) => {
    const error = refusal(`/oauth2/auth${query}`);
    expect(error.status).toBe(400);
    expect(error.code).toBe('malformed-request');
    expect(error.message).toMatch(message);
  });
});

describe('meetsAllowedLists: oauth2-proxy authOnlyAuthorize', () => {
  const noEmail = { groups: [] };
  const at = (email: string) => ({ groups: [], email });
  /** Each behaviour with its cases: the query, who asks (alice unless named), and whether they are let in. */
  const behaviours: Record<
    string,
    readonly (readonly [string, boolean] | readonly [string, User, boolean])[]
  > = {
    'lets any signed-in user in when no list is given': [
      ['', true],
      ['host=shop.test', noEmail, true],
    ],
    'needs one of the groups, compared exactly (case included)': [
      ['allowed_groups=admins,staff', true],
      ['allowed_groups=admins', false],
      ['allowed_groups=Staff', false],
      ['allowed_groups=staf', false],
    ],
    'needs the e-mail address, compared exactly, and refuses a user without one': [
      ['allowed_emails=bob@example.com,alice@example.com', true],
      ['allowed_emails=Alice@example.com', false],
      ['allowed_emails=alice@example.com', noEmail, false],
    ],
    'matches e-mail domains as oauth2-proxy: exact, or with subdomains for ".d" and "*.d"': [
      ['allowed_email_domains=example.com', at('a@example.com'), true],
      ['allowed_email_domains=example.com', at('a@eu.example.com'), false],
      ['allowed_email_domains=.example.com', at('a@eu.example.com'), true],
      ['allowed_email_domains=.example.com', at('a@example.com'), true],
      ['allowed_email_domains=*.example.com', at('a@eu.example.com'), true],
      ['allowed_email_domains=*.example.com', at('a@example.com'), true],
      ['allowed_email_domains=.example.com', at('a@badexample.com'), false],
      ['allowed_email_domains=example.com', at('a@Example.com'), false],
      ['allowed_email_domains=example.com', at('a@b@example.com'), false],
      ['allowed_email_domains=example.com', noEmail, false],
    ],
    'needs every list given, not any': [
      ['allowed_groups=staff&allowed_emails=alice@example.com', true],
      ['allowed_groups=staff&allowed_emails=bob@example.com', false],
      ['allowed_groups=admins&allowed_emails=alice@example.com', false],
      ['allowed_groups=staff&allowed_email_domains=other.test', false],
    ],
  };

  for (const [behaviour, cases] of Object.entries(behaviours)) {
    it(behaviour, () => {
      for (const testCase of cases) {
        const [query, user, allowed] =
          testCase.length === 2 ? [testCase[0], alice, testCase[1]] : testCase;
        expect(allowedBy(query, user), `${query} for ${JSON.stringify(user)}`).toBe(allowed);
      }
    });
  }
});

describe('parseOauth2ProxyQuery (properties)', () => {
  /** Pairs as auth URLs write them, and the noise a hostile `$host` can add (`&`, `;`, `%`). */
  const name = fc.constantFrom('allowed_groups', 'allowed_emails', 'allowed_email_domains', 'host');
  // Mostly entries a list can hold, so that accepted queries are common; sometimes the odd ones.
  const entry = fc.oneof(
    { arbitrary: fc.constantFrom('admins', 'staff', 'a@x.test', '.x.test', 'x.test'), weight: 6 },
    { arbitrary: fc.constantFrom('', '%2C', '%zz', '+', ';', '#'), weight: 1 },
  );
  const pair = fc.oneof(
    {
      arbitrary: fc
        .tuple(name, fc.array(entry, { minLength: 1, maxLength: 3 }))
        .map(([key, entries]) => `${key}=${entries.join(',')}`),
      weight: 8,
    },
    { arbitrary: fc.string({ maxLength: 6 }), weight: 1 },
  );
  const query = fc.array(pair, { maxLength: 4 });
  const user = fc.record({
    groups: fc.subarray(['admins', 'staff', 'customers']),
    email: fc.constantFrom('a@x.test', 'b@eu.x.test', 'c@y.test'),
  });

  it('throws nothing but the 400 error, whatever the query', () => {
    fc.assert(
      fc.property(query, (pieces) => {
        try {
          parseOauth2ProxyQuery(`/oauth2/auth?${pieces.join('&')}`);
        } catch (error) {
          expect(error).toBeInstanceOf(BadRequestError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  // nginx interpolates `$host` unescaped into the auth URL, and a Host header may carry "&": an
  // accepted query with pairs added must never let in a user the original query kept out.
  it('never widens an accepted restriction when pairs are added to it', () => {
    fc.assert(
      fc.property(query, query, user, (base, added, who) => {
        let narrow;
        let widened;
        try {
          narrow = parseOauth2ProxyQuery(`/oauth2/auth?${base.join('&')}`).allowed;
          widened = parseOauth2ProxyQuery(`/oauth2/auth?${[...base, ...added].join('&')}`).allowed;
        } catch {
          return; // refused: nothing passes
        }
        if (meetsAllowedLists(who, widened)) expect(meetsAllowedLists(who, narrow)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
