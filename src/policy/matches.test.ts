/**
 * Issue #19 in the policy layer: what validation refuses in the new match conditions (the
 * TypeScript twins of the CRD's rules, plus what only gatehouse can check: RE2 syntax of header
 * and query patterns, case-insensitive duplicate headers), and how a path-limited HostDelegation
 * treats regular-expression paths and `preflight: Allow`.
 */
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from './snapshot.ts';
import { HostOwnership } from './sources/kubernetes/host-ownership.ts';
import { validateResource } from './validate.ts';

function policyWith(match: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name: 'p', namespace: 'demo', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: {
      hosts: ['app.test'],
      rules: [{ name: 'r', match: [match], roles: ['guest'] }],
      ...spec,
    },
  };
}

/** `{ field path: message }` of the problems validation finds. */
function problemsOf(object: unknown): Record<string, string> {
  const result = validateResource(object);
  return result.ok
    ? {}
    : Object.fromEntries(result.problems.map((problem) => [problem.path, problem.message]));
}

/** The problems of a policy whose one rule has the one match `match`. */
const problemsOfMatch = (match: Record<string, unknown>): Record<string, string> =>
  problemsOf(policyWith(match));

const at = 'spec.rules[0].match[0]';

describe('validation of the new match conditions', () => {
  it('accepts every condition Gateway API defines, with Exact as the default type', () => {
    const object = policyWith(
      {
        path: { type: 'RegularExpression', value: '/api/v[0-9]+/.*' },
        headers: [
          { name: 'X-Env', value: 'prod' },
          { type: 'RegularExpression', name: 'User-Agent', value: '(?i).*bot.*' },
        ],
        queryParams: [{ name: 'filter[name]', value: 'a b' }],
        sourceCIDRs: ['10.0.0.0/8', '2001:db8::/32', '::ffff:10.0.0.0/104', '203.0.113.7/32'],
      },
      { preflight: 'Allow' },
    );
    expect(problemsOf(object)).toEqual({});
  });

  it('refuses an invalid or non-linear pattern with the RE2 compiler message', () => {
    expect(problemsOfMatch({ path: { type: 'RegularExpression', value: '/(a)\\1' } })).toEqual({
      [`${at}.path.value`]: expect.stringMatching(
        /^is not a valid RE2 regular expression: .*escape/,
      ) as string,
    });
    const headerAndQuery = problemsOfMatch({
      headers: [{ type: 'RegularExpression', name: 'X-A', value: '(?=a)' }],
      queryParams: [{ type: 'RegularExpression', name: 'q', value: '[' }],
    });
    expect(Object.keys(headerAndQuery)).toEqual([
      `${at}.headers[0].value`,
      `${at}.queryParams[0].value`,
    ]);
  });

  it('explains that a path pattern is anchored when it starts with "^"', () => {
    expect(
      problemsOfMatch({ path: { type: 'RegularExpression', value: '^/public/' } })[
        `${at}.path.value`
      ],
    ).toMatch(/"\^" and "\$" are implied: write "\/public\/\.\*"/);
  });

  it('does not ask a pattern to be a normalised path', () => {
    expect(problemsOfMatch({ path: { type: 'RegularExpression', value: '/a/\\.\\./b?' } })).toEqual(
      {},
    );
  });

  it('refuses a header named twice in two spellings, and the same query parameter twice', () => {
    const problems = problemsOfMatch({
      headers: [
        { name: 'X-Env', value: 'a' },
        { name: 'x-env', value: 'b' },
      ],
      queryParams: [
        { name: 'q', value: 'a' },
        { name: 'q', value: 'b' },
        { name: 'Q', value: 'c' },
      ],
    });
    expect(problems).toEqual({
      [`${at}.headers[1].name`]:
        'names the same header as headers[0] (header names are case-insensitive): give each one condition',
      [`${at}.queryParams[1].name`]:
        'names the same query parameter as queryParams[0]: give each one condition',
    });
  });

  it('refuses conditions on headers the proxies overwrite on the check', () => {
    for (const name of ['Host', 'X-Forwarded-For', 'x-real-ip', 'X-Original-URL', 'Forwarded']) {
      expect(problemsOfMatch({ headers: [{ name, value: 'x' }] }), name).toEqual({
        [`${at}.headers[0].name`]: expect.stringMatching(
          /proxies overwrite it on the check: use hosts, path or sourceCIDRs/,
        ),
      });
    }
  });

  it('refuses header names with "_" and Exact values with surrounding spaces', () => {
    const problems = problemsOfMatch({
      headers: [
        { name: 'X_Env', value: 'prod' },
        { name: 'X-B', value: ' prod' },
      ],
    });
    expect(problems[`${at}.headers[0].name`]).toMatch(/without "_"/);
    expect(problems[`${at}.headers[1].value`]).toMatch(/printable US-ASCII/);
  });

  it('refuses query parameter names holding a separator', () => {
    for (const name of ['a&b', 'a=b', 'a;b', 'a b', 'a#']) {
      expect(
        problemsOfMatch({ queryParams: [{ name, value: '1' }] })[`${at}.queryParams[0].name`],
        name,
      ).toMatch(/no space, control character, "&", "=", ";" or "#"/);
    }
  });

  it.each([
    ['10.1.2.3/8', 'host bits set'],
    ['10.1.2.3', 'no prefix length'],
    ['10.0.0.0/33', 'prefix too long'],
    ['2001:db8::1/32', 'IPv6 host bits set'],
    ['shop.example.com/32', 'not an address'],
  ])('refuses sourceCIDRs entry %s (%s)', (cidr) => {
    expect(problemsOfMatch({ sourceCIDRs: [cidr] })[`${at}.sourceCIDRs[0]`]).toMatch(
      /must be a CIDR with its host bits zero, such as 10\.0\.0\.0\/8/,
    );
  });

  it('refuses an unknown preflight value', () => {
    expect(problemsOf(policyWith({}, { preflight: 'Yes' }))['spec.preflight']).toBe(
      'must be one of Allow, Authorize (got "Yes")',
    );
  });
});

describe('snapshots describe the match that decided', () => {
  it('keeps the match as written, the path defaulted', () => {
    const result = validateResource(
      policyWith({ headers: [{ name: 'X-Env', value: 'prod' }], sourceCIDRs: ['10.0.0.0/8'] }),
    );
    if (!result.ok) throw new Error('invalid fixture');
    const snapshot = buildSnapshot([result.resource]);
    const found = snapshot.rules.find('app.test', {
      path: '/x',
      method: 'GET',
      headers: { 'x-env': 'prod' },
      sourceAddress: '10.1.1.1',
      query: () => {
        throw new Error('no query condition: the query is never parsed');
      },
    });
    expect(found !== null && !('ambiguous' in found) ? found.description : null).toEqual({
      path: { type: 'PathPrefix', value: '/' },
      headers: [{ type: 'Exact', name: 'X-Env', value: 'prod' }],
      sourceCIDRs: ['10.0.0.0/8'],
    });
  });
});

describe('a path-limited HostDelegation', () => {
  const ownership = HostOwnership.build(
    [
      {
        kind: 'Ingress',
        namespace: 'web',
        name: 'web',
        hosts: ['shop.example.com'],
        creationTimestamp: '2026-01-01T00:00:00Z',
        ingressClassName: 'nginx',
      },
    ],
    true,
    [{ name: 'api', host: 'shop.example.com', pathPrefix: '/api', namespaces: ['api-team'] }],
  );

  it('refuses a RegularExpression path even when its text starts with the prefix', () => {
    // `/api/.*|/admin` starts with "/api/" but matches /admin too: a pattern stays below no prefix.
    const judgement = ownership.judge('AccessPolicy', 'api-team', 'shop.example.com', [
      { rule: 'sneaky', exact: false, value: '/api/.*|/admin', regex: true },
    ]);
    expect(judgement).toMatchObject({ admitted: false, reason: 'OutsideDelegatedPath' });
  });

  it('refuses preflight: Allow, which opens every path of the host to preflights', () => {
    const judgement = ownership.judge('AccessPolicy', 'api-team', 'shop.example.com', [
      { rule: 'read', exact: false, value: '/api' },
      { rule: 'spec.preflight: Allow', exact: false, value: '/' },
    ]);
    expect(judgement.admitted ? '' : judgement.message).toContain(
      'rule spec.preflight: Allow (/) reach outside it',
    );
  });
});
