/**
 * Issue #19: Gateway API's HTTPRouteMatch conditions (regular-expression paths, headers, query
 * parameters), `sourceCIDRs`, their precedence, and `preflight: Allow`, decided end to end by
 * decide() over snapshots built from validated policies.
 */
import { describe, expect, it } from 'vitest';
import type { AuthRequest } from './auth-request.ts';
import { decide } from './decide.ts';
import type { DecideOptions } from './decide.ts';
import type { Decision } from './decision.ts';
import { SubjectSources } from './roles.ts';
import type { AccessRule, AnyAccessPolicy, RuleMatch } from '../policy/resources.ts';
import { buildSnapshot } from '../policy/snapshot.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import { validateResource } from '../policy/validate.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';
import { identity } from '../../test/fixtures/builders/identity.ts';

const options: DecideOptions = {
  superRole: 'admin',
  noMatch: 'deny',
  unqualifiedSources: SubjectSources.every,
};

interface PolicyInit {
  readonly name?: string;
  readonly kind?: AnyAccessPolicy['kind'];
  readonly hosts?: string[];
  readonly preflight?: 'Allow' | 'Authorize';
  readonly rules: AccessRule[];
}

/** A validated AccessPolicy `demo/<name>` (or ClusterAccessPolicy): invalid fixtures fail loudly. */
function policy(init: PolicyInit): AnyAccessPolicy {
  const kind = init.kind ?? 'AccessPolicy';
  const object = {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind,
    metadata: {
      name: init.name ?? 'p',
      ...(kind === 'AccessPolicy' ? { namespace: 'demo' } : {}),
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
    spec: {
      hosts: init.hosts ?? ['app.test'],
      rules: init.rules,
      ...(init.preflight === undefined ? {} : { preflight: init.preflight }),
    },
  };
  const result = validateResource(object);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.resource as AnyAccessPolicy;
}

function allow(name: string, match: RuleMatch, roles = ['guest']): AccessRule {
  return { name, match: [match], roles };
}

function deny(name: string, match: RuleMatch): AccessRule {
  return { name, match: [match], action: 'Deny' };
}

const catchAll = allow('app', { path: { type: 'PathPrefix', value: '/' } }, ['authenticated']);

interface RequestInit {
  readonly method?: string;
  readonly host?: string;
  readonly path?: string;
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly sourceAddress?: string;
}

function request(init: RequestInit = {}): AuthRequest {
  return {
    ...authRequest({
      method: init.method ?? 'GET',
      host: init.host ?? 'app.test',
      target: init.path ?? '/',
      headers: init.headers ?? {},
    }),
    ...(init.query === undefined ? {} : { query: init.query }),
    ...(init.sourceAddress === undefined ? {} : { sourceAddress: init.sourceAddress }),
  };
}

function decided(
  snapshot: PolicySnapshot,
  init: RequestInit,
  who = null as null | ReturnType<typeof identity>,
): Decision {
  return decide(request(init), who, snapshot, options);
}

/** `outcome/reason by rule` in one string, for compact expectations. */
function summary(decision: Decision): string {
  return `${decision.outcome}/${decision.reason} by ${decision.rule?.rule ?? '-'}`;
}

describe('RegularExpression paths', () => {
  const snapshot = buildSnapshot([
    policy({
      rules: [
        allow('images', {
          path: { type: 'RegularExpression', value: '/assets/[^/]+\\.(png|svg)' },
        }),
        allow('versioned', {
          path: { type: 'RegularExpression', value: '/api/v[0-9]+/status' },
        }),
        deny('admin', { path: { type: 'PathPrefix', value: '/admin' } }),
        allow('any-admin-looking', { path: { type: 'RegularExpression', value: '/.*' } }),
      ],
    }),
  ]);

  it('match the whole normalised path, never a part of it', () => {
    expect(summary(decided(snapshot, { path: '/assets/logo.png' }))).toBe(
      'allow/role-granted by images',
    );
    // Anchored at both ends: a suffix after the match is not covered.
    expect(summary(decided(snapshot, { path: '/assets/logo.png/x' }))).toBe(
      'allow/role-granted by any-admin-looking',
    );
    expect(decided(snapshot, { path: '/v2/api/v2/status' }).rule?.rule).toBe('any-admin-looking');
    expect(decided(snapshot, { path: '/api/v12/status' }).rule?.rule).toBe('versioned');
  });

  it('never judge the query: a pattern cannot be met by what follows "?"', () => {
    expect(decided(snapshot, { path: '/private', query: 'x=/assets/a.png' }).rule?.rule).toBe(
      'any-admin-looking',
    );
    expect(decided(snapshot, { path: '/assets/a.png', query: 'x=1' }).rule?.rule).toBe('images');
  });

  it('rank after every prefix: a broad pattern cannot reopen a Deny on /admin', () => {
    expect(summary(decided(snapshot, { path: '/admin/users' }))).toBe(
      'forbidden/deny-rule by admin',
    );
  });

  it('rank the longer pattern first among patterns', () => {
    expect(decided(snapshot, { path: '/api/v1/status' }).rule?.rule).toBe('versioned');
  });

  it('report the match that decided', () => {
    expect(decided(snapshot, { path: '/assets/a.svg' }).match).toEqual({
      path: { type: 'RegularExpression', value: '/assets/[^/]+\\.(png|svg)' },
    });
  });
});

describe('header conditions', () => {
  const snapshot = buildSnapshot([
    policy({
      rules: [
        allow('beta', {
          path: { type: 'PathPrefix', value: '/' },
          headers: [{ name: 'X-Channel', value: 'beta' }],
        }),
        allow(
          'beta-curl',
          {
            path: { type: 'PathPrefix', value: '/' },
            headers: [
              { name: 'X-Channel', value: 'beta' },
              { type: 'RegularExpression', name: 'User-Agent', value: '(?i)curl/.*' },
            ],
          },
          ['authenticated'],
        ),
        catchAll,
      ],
    }),
  ]);

  it('compare names case-insensitively and values exactly', () => {
    // Dialects hand decide() lower-cased names (Node's IncomingMessage.headers).
    expect(decided(snapshot, { headers: { 'x-channel': 'beta' } }).rule?.rule).toBe('beta');
    expect(decided(snapshot, { headers: { 'x-channel': 'Beta' } }).rule?.rule).toBe('app');
    expect(decided(snapshot, { headers: { 'x-channel': 'beta, beta' } }).rule?.rule).toBe('app');
  });

  it('must all hold, and more header conditions win over fewer', () => {
    const both = { 'x-channel': 'beta', 'user-agent': 'CURL/8.5.0' };
    expect(decided(snapshot, { headers: both }).rule?.rule).toBe('beta-curl');
    expect(
      decided(snapshot, { headers: { 'x-channel': 'beta', 'user-agent': 'Firefox' } }).rule?.rule,
    ).toBe('beta');
  });

  it('never match a header that is absent', () => {
    expect(decided(snapshot, {}).rule?.rule).toBe('app');
  });
});

describe('query parameter conditions', () => {
  const snapshot = buildSnapshot([
    policy({
      rules: [
        deny('debug', {
          path: { type: 'PathPrefix', value: '/' },
          queryParams: [{ name: 'debug', value: 'true' }],
        }),
        allow(
          'export',
          {
            path: { type: 'PathPrefix', value: '/reports' },
            queryParams: [{ type: 'RegularExpression', name: 'format', value: 'csv|json' }],
          },
          ['reporter'],
        ),
        allow('reports', { path: { type: 'PathPrefix', value: '/reports' } }),
        allow('public', { path: { type: 'PathPrefix', value: '/' } }),
      ],
    }),
  ]);

  it('compare the decoded value as the upstream reads it', () => {
    expect(summary(decided(snapshot, { query: 'debug=true' }))).toBe(
      'forbidden/deny-rule by debug',
    );
    expect(summary(decided(snapshot, { query: 'debug=%74rue' }))).toBe(
      'forbidden/deny-rule by debug',
    );
    expect(summary(decided(snapshot, { query: 'a=1&debug=true' }))).toBe(
      'forbidden/deny-rule by debug',
    );
    expect(decided(snapshot, { query: 'debug=false' }).rule?.rule).toBe('public');
  });

  it('compare names case-sensitively, and refuse another spelling rather than guess', () => {
    const answer = decided(snapshot, { query: 'DEBUG=true' });
    expect(summary(answer)).toBe('forbidden/ambiguous-query by -');
    expect(answer.ambiguity?.rule.rule).toBe('debug');
    expect(answer.ambiguity?.problem).toMatch(/another case/);
  });

  it('refuse a repeated parameter (upstreams read the first or the last)', () => {
    const answer = decided(snapshot, { query: 'debug=false&debug=true' });
    expect(summary(answer)).toBe('forbidden/ambiguous-query by -');
    expect(answer.ambiguity?.problem).toMatch(/given 2 times/);
  });

  it('refuse ";", "#" and bad escapes, which readers split or decode differently', () => {
    for (const query of ['a=1;debug=true', 'x=%zz', 'x=%C3%28', 'a=1#debug=true']) {
      expect(decided(snapshot, { query }).reason, query).toBe('ambiguous-query');
    }
  });

  it('do not care about parameters no candidate rule tests', () => {
    expect(decided(snapshot, { path: '/reports', query: 'format=csv&x=1&x=2' }).rule?.rule).toBe(
      'export',
    );
  });

  it('have no say once a rule without query conditions has won', () => {
    const exact = buildSnapshot([
      policy({
        rules: [
          allow('health', { path: { type: 'Exact', value: '/healthz' } }),
          deny('debug', {
            path: { type: 'PathPrefix', value: '/' },
            queryParams: [{ name: 'debug', value: 'true' }],
          }),
        ],
      }),
    ]);
    expect(decided(exact, { path: '/healthz', query: 'debug=1&debug=2' }).rule?.rule).toBe(
      'health',
    );
  });
});

describe('sourceCIDRs', () => {
  const snapshot = buildSnapshot([
    policy({
      rules: [
        allow('internal', {
          path: { type: 'PathPrefix', value: '/' },
          sourceCIDRs: ['10.0.0.0/8', '2001:db8::/32'],
        }),
        deny('blocked', {
          path: { type: 'PathPrefix', value: '/' },
          sourceCIDRs: ['203.0.113.0/24'],
          methods: ['POST'],
        }),
        catchAll,
      ],
    }),
  ]);

  it('match the address a trusted proxy reported', () => {
    expect(decided(snapshot, { sourceAddress: '10.1.2.3' }).rule?.rule).toBe('internal');
    expect(decided(snapshot, { sourceAddress: '2001:db8::7' }).rule?.rule).toBe('internal');
    expect(decided(snapshot, { sourceAddress: '192.0.2.1' }).rule?.rule).toBe('app');
  });

  it('fail closed when the address is unknown: an allow does not match, a deny does', () => {
    expect(summary(decided(snapshot, {}))).toBe('unauthenticated/authentication-required by app');
    expect(summary(decided(snapshot, { method: 'POST' }))).toBe('forbidden/deny-rule by blocked');
    expect(summary(decided(snapshot, { method: 'POST', sourceAddress: '10.9.9.9' }))).toBe(
      'allow/role-granted by internal',
    );
  });
});

describe('precedence among the new conditions (precedence.ts)', () => {
  it('methods, then more headers, then more query parameters, then sourceCIDRs', () => {
    const path = { type: 'PathPrefix', value: '/api' } as const;
    const rules = [
      allow('sources', { path, sourceCIDRs: ['10.0.0.0/8'] }),
      allow('query', { path, queryParams: [{ name: 'a', value: '1' }] }),
      allow('header', { path, headers: [{ name: 'X-A', value: '1' }] }),
      allow('method', { path, methods: ['GET'] }),
      allow('plain', { path }),
    ];
    const snapshot = buildSnapshot([policy({ rules })]);
    const everything = {
      path: '/api',
      query: 'a=1',
      headers: { 'x-a': '1' },
      sourceAddress: '10.0.0.1',
    };
    expect(decided(snapshot, everything).rule?.rule).toBe('method');
    expect(decided(snapshot, { ...everything, method: 'POST' }).rule?.rule).toBe('header');
    expect(decided(snapshot, { ...everything, method: 'POST', headers: {} }).rule?.rule).toBe(
      'query',
    );
    expect(
      decided(snapshot, { ...everything, method: 'POST', headers: {}, query: '' }).rule?.rule,
    ).toBe('sources');
    expect(decided(snapshot, { path: '/api', method: 'POST' }).rule?.rule).toBe('plain');
  });

  it('a longer prefix still beats a match with more conditions', () => {
    const snapshot = buildSnapshot([
      policy({
        rules: [
          allow('long', { path: { type: 'PathPrefix', value: '/api/v1' } }),
          allow('short-with-header', {
            path: { type: 'PathPrefix', value: '/api' },
            headers: [{ name: 'X-A', value: '1' }],
          }),
        ],
      }),
    ]);
    expect(decided(snapshot, { path: '/api/v1/x', headers: { 'x-a': '1' } }).rule?.rule).toBe(
      'long',
    );
  });
});

describe('preflight: Allow', () => {
  const preflightHeaders = { origin: 'https://web.test', 'access-control-request-method': 'PUT' };
  const alice = identity({ user: 'alice' });

  const snapshot = buildSnapshot([
    policy({
      name: 'api',
      hosts: ['api.test'],
      preflight: 'Allow',
      rules: [
        allow('write', { path: { type: 'PathPrefix', value: '/' }, methods: ['PUT'] }, ['writer']),
        deny('internal', { path: { type: 'PathPrefix', value: '/internal' } }),
      ],
    }),
    policy({
      name: 'app',
      hosts: ['app.test'],
      rules: [catchAll],
    }),
    policy({
      kind: 'ClusterAccessPolicy',
      name: 'fallback',
      hosts: ['*.test'],
      preflight: 'Allow',
      rules: [catchAll],
    }),
  ]);

  it('lets a CORS preflight through anonymously, whatever rule would match', () => {
    for (const path of ['/items', '/internal/x', '/nowhere']) {
      const answer = decided(
        snapshot,
        {
          method: 'OPTIONS',
          host: 'api.test',
          path,
          headers: preflightHeaders,
        },
        alice,
      );
      expect(summary(answer), path).toBe('allow/cors-preflight by -');
      expect(answer.preflight).toEqual({ kind: 'AccessPolicy', namespace: 'demo', policy: 'api' });
      // Anonymous: the answer carries no identity, so no identity header goes upstream.
      expect(answer.identity).toBeNull();
      expect(answer.roles).toEqual(['guest']);
    }
  });

  it('is only for real preflights: OPTIONS without both headers is decided by the rules', () => {
    expect(
      summary(decided(snapshot, { method: 'OPTIONS', host: 'api.test', path: '/internal' })),
    ).toBe('forbidden/deny-rule by internal');
    expect(
      decided(snapshot, {
        method: 'OPTIONS',
        host: 'api.test',
        path: '/internal',
        headers: { origin: 'https://web.test' },
      }).reason,
    ).toBe('deny-rule');
    expect(
      decided(snapshot, { method: 'PUT', host: 'api.test', path: '/x', headers: preflightHeaders })
        .reason,
    ).toBe('authentication-required');
  });

  it('follows the most specific host pattern: a wildcard fallback cannot open app.test', () => {
    const preflight = { method: 'OPTIONS', headers: preflightHeaders };
    expect(decided(snapshot, { ...preflight, host: 'app.test' }).reason).toBe(
      'authentication-required',
    );
    expect(decided(snapshot, { ...preflight, host: 'other.test' }).reason).toBe('cors-preflight');
  });

  it('leaves guardrails in force: a guardrail Deny refuses the preflight, roles are asked for', () => {
    const guarded = buildSnapshot([
      policy({
        name: 'api',
        hosts: ['api.test'],
        preflight: 'Allow',
        rules: [catchAll],
      }),
      policy({
        kind: 'ClusterAccessPolicy',
        name: 'guard',
        hosts: ['api.test'],
        rules: [
          {
            name: 'closed',
            match: [{ path: { type: 'PathPrefix', value: '/closed' } }],
            action: 'Deny',
            enforcement: 'Guardrail',
          },
          {
            name: 'staff',
            match: [{ path: { type: 'PathPrefix', value: '/staff' } }],
            roles: ['staff'],
            enforcement: 'Guardrail',
          },
        ],
      }),
    ]);
    const preflight = { method: 'OPTIONS', host: 'api.test', headers: preflightHeaders };
    expect(summary(decided(guarded, { ...preflight, path: '/closed' }))).toBe(
      'forbidden/deny-rule by closed',
    );
    expect(summary(decided(guarded, { ...preflight, path: '/staff' }))).toBe(
      'unauthenticated/authentication-required by staff',
    );
    const passed = decided(guarded, { ...preflight, path: '/open' });
    expect(passed.reason).toBe('cors-preflight');
  });
});
