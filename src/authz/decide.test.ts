import { describe, expect, it } from 'vitest';
import type { Identity } from './identity.ts';
import type { AccessRule, AnyAccessPolicy, PolicyResource, Subject } from '../policy/resources.ts';
import { buildSnapshot, emptySnapshot } from '../policy/snapshot.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import type { AuthRequest } from './auth-request.ts';
import { decide } from './decide.ts';
import type { DecideOptions } from './decide.ts';
import { SubjectSources } from './roles.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';
import { identity } from '../../test/fixtures/builders/identity.ts';
import { mapping, policy, prefix, rule } from '../../test/fixtures/builders/policy.ts';

const options: DecideOptions = { superRole: 'admin', noMatch: 'deny' };

const request = (host: string, target: string, method = 'GET'): AuthRequest =>
  authRequest({ host, target, method });

const app = policy({
  name: 'app',
  hosts: ['app.localhost'],
  identityHeaders: 'x-auth-request',
  rules: [
    prefix('public', '/public', ['guest']),
    prefix('admin', '/admin', ['app-admin']),
    prefix('metrics', '/metrics', 'Deny'),
    prefix('app', '/', ['authenticated']),
  ],
});
const demoSnapshot = buildSnapshot([
  app,
  mapping(['app-admin'], [{ kind: 'User', name: 'alice@example.com' }], 'demo'),
  mapping(['admin'], [{ kind: 'Group', name: 'gatehouse-admins' }]),
]);
const alice = identity({ user: 'alice', email: 'alice@example.com' });
const bob = identity({ user: 'bob', email: 'bob@example.com' });
const root = identity({ user: 'root', groups: ['gatehouse-admins'] });

function ruleName(snapshot: PolicySnapshot, req: AuthRequest, who: Identity | null = alice) {
  const { rule: matched } = decide(req, who, snapshot, options);
  return matched === null ? null : `${matched.namespace}/${matched.policy}#${matched.rule}`;
}

describe('decide: one case per reason', () => {
  it.each([
    ['role-granted (guest rule, anonymous)', '/public/x', null, 'allow', 'role-granted', 'public'],
    ['role-granted (named role)', '/admin', alice, 'allow', 'role-granted', 'admin'],
    ['super-role', '/admin/users', root, 'allow', 'super-role', 'admin'],
    ['authentication-required', '/home', null, 'unauthenticated', 'authentication-required', 'app'],
    [
      'authentication-required (role rule)',
      '/admin',
      null,
      'unauthenticated',
      'authentication-required',
      'admin',
    ],
    ['missing-role', '/admin', bob, 'forbidden', 'missing-role', 'admin'],
    ['deny-rule (anonymous)', '/metrics', null, 'forbidden', 'deny-rule', 'metrics'],
    ['deny-rule (super role)', '/metrics', root, 'forbidden', 'deny-rule', 'metrics'],
  ] as const)('%s', (_label, target, who, outcome, reason, ruleNameExpected) => {
    const result = decide(request('app.localhost', target), who, demoSnapshot, options);
    expect(result.outcome).toBe(outcome);
    expect(result.reason).toBe(reason);
    expect(result.rule?.rule).toBe(ruleNameExpected);
    expect(result.identity).toBe(who);
  });

  it('no-matching-rule for an unknown host', () => {
    const result = decide(request('other.example.com', '/'), alice, demoSnapshot, options);
    expect(result).toMatchObject({ outcome: 'forbidden', reason: 'no-matching-rule', rule: null });
  });

  it('ambiguous-path denies without looking at rules, even a guest rule', () => {
    const result = decide(
      request('app.localhost', '/public/%2e%2e/admin'),
      alice,
      demoSnapshot,
      options,
    );
    expect(result).toMatchObject({ outcome: 'forbidden', reason: 'ambiguous-path', rule: null });
  });

  it('noMatch: allow → default-allow; authenticate → 401 anonymous, allow signed-in', () => {
    const req = request('nowhere.example', '/');
    expect(decide(req, null, demoSnapshot, { ...options, noMatch: 'allow' })).toMatchObject({
      outcome: 'allow',
      reason: 'default-allow',
      rule: null,
    });
    expect(decide(req, null, demoSnapshot, { ...options, noMatch: 'authenticate' })).toMatchObject({
      outcome: 'unauthenticated',
      reason: 'authentication-required',
    });
    expect(decide(req, bob, demoSnapshot, { ...options, noMatch: 'authenticate' })).toMatchObject({
      outcome: 'allow',
      reason: 'default-allow',
    });
  });

  it('the super role can be switched off', () => {
    const result = decide(request('app.localhost', '/admin'), root, demoSnapshot, {
      ...options,
      superRole: null,
    });
    expect(result.reason).toBe('missing-role');
  });

  it('attaches the identity on guest rules and reports the matched rule in full', () => {
    const result = decide(request('app.localhost', '/public'), alice, demoSnapshot, options);
    expect(result.identity).toBe(alice);
    expect(result.rule).toEqual({
      kind: 'AccessPolicy',
      namespace: 'demo',
      policy: 'app',
      rule: 'public',
      requiredRoles: ['guest'],
      action: 'Allow',
      mode: 'Enforce',
      identityHeaders: 'x-auth-request',
    });
    expect(result.roles).toEqual(['app-admin', 'authenticated', 'guest']);
  });

  it('an empty snapshot matches nothing', () => {
    expect(decide(request('app.localhost', '/'), null, emptySnapshot(), options).reason).toBe(
      'no-matching-rule',
    );
  });
});

describe('decide: request facts', () => {
  it.each([
    ['app.localhost:8080', '/admin', 'admin'], // port dropped
    ['app.localhost.', '/admin', 'admin'], // trailing dot, as nginx strips it
    ['app.localhost', '//admin', 'admin'],
    ['app.localhost', '/%61dmin', 'admin'], // %61 = "a", unreserved
    ['app.localhost', '/ADMIN', 'app'], // case-sensitive: not the admin rule
    ['app.localhost', '/adminx', 'app'], // prefixes match whole segments
    ['app.localhost', '/admin/', 'admin'],
    ['app.localhost', '/admin?x=1', 'admin'],
  ])('%s %s → rule %s', (host, target, expected) => {
    const path = target.split('?')[0]!;
    expect(ruleName(demoSnapshot, request(host, path))).toBe(`demo/app#${expected}`);
  });

  // Attack review finding 4: resolving `/admin/../public/x` to a public path judged a path the
  // upstream (Koa, Express: no normalisation) served as /admin.
  it.each(['/public/../admin', '/admin/../public/x', '/public/./x'])(
    'denies %s as ambiguous-path, never resolving the dot-segments',
    (path) => {
      expect(decide(request('app.localhost', path), null, demoSnapshot, options)).toMatchObject({
        outcome: 'forbidden',
        reason: 'ambiguous-path',
      });
    },
  );

  it('a wildcard matches one or more labels but never the apex', () => {
    const snapshot = buildSnapshot([
      policy({
        kind: 'ClusterAccessPolicy',
        name: 'w',
        hosts: ['*.example.com'],
        rules: [prefix('all', '/', ['guest'])],
      }),
    ]);
    expect(ruleName(snapshot, request('a.example.com', '/'))).toBe('/w#all');
    expect(ruleName(snapshot, request('a.b.example.com', '/'))).toBe('/w#all');
    expect(ruleName(snapshot, request('example.com', '/'))).toBeNull();
    expect(ruleName(snapshot, request('badexample.com', '/'))).toBeNull();
  });

  it('a trailing slash in a prefix value is not significant: /api/ covers /api, /api/ and /api/x', () => {
    const snapshot = buildSnapshot([
      policy({
        hosts: ['h.test'],
        rules: [prefix('api', '/api/', ['guest']), prefix('rest', '/', ['authenticated'])],
      }),
    ]);
    expect(ruleName(snapshot, request('h.test', '/api'))).toBe('demo/p#api');
    expect(ruleName(snapshot, request('h.test', '/api/'))).toBe('demo/p#api');
    expect(ruleName(snapshot, request('h.test', '/api/x'))).toBe('demo/p#api');
    expect(ruleName(snapshot, request('h.test', '/apix'))).toBe('demo/p#rest');
  });

  it('Exact matches only the exact path, and methods only listed methods', () => {
    const snapshot = buildSnapshot([
      policy({
        hosts: ['h.test'],
        rules: [
          rule('m', 'Exact', '/metrics', ['guest'], ['GET']),
          prefix('rest', '/', ['authenticated']),
        ],
      }),
    ]);
    expect(ruleName(snapshot, request('h.test', '/metrics'))).toBe('demo/p#m');
    expect(ruleName(snapshot, request('h.test', '/metrics/'))).toBe('demo/p#rest');
    expect(ruleName(snapshot, request('h.test', '/metrics', 'POST'))).toBe('demo/p#rest');
    expect(ruleName(snapshot, request('h.test', '/metrics', 'PROPFIND'))).toBe('demo/p#rest');
  });

  // Attack review finding 6: a Deny written for GET let HEAD through to the catch-all, and most
  // frameworks answer HEAD with the GET handler.
  it('GET also covers HEAD, as nginx limit_except does; other methods still fall through', () => {
    const snapshot = buildSnapshot([
      policy({
        hosts: ['h.test'],
        rules: [
          {
            name: 'no-export',
            match: [{ path: { type: 'PathPrefix', value: '/export' }, methods: ['GET'] }],
            action: 'Deny',
          },
          rule('head-only', 'Exact', '/ping', ['guest'], ['HEAD']),
          prefix('rest', '/', ['guest']),
        ],
      }),
    ]);
    const head = decide(request('h.test', '/export/all', 'HEAD'), null, snapshot, options);
    expect(head).toMatchObject({ outcome: 'forbidden', reason: 'deny-rule' });
    expect(ruleName(snapshot, request('h.test', '/export/all', 'POST'))).toBe('demo/p#rest');
    // HEAD does not imply GET.
    expect(ruleName(snapshot, request('h.test', '/ping', 'GET'))).toBe('demo/p#rest');
    expect(ruleName(snapshot, request('h.test', '/ping', 'HEAD'))).toBe('demo/p#head-only');
  });
});

describe('decide: precedence, each step deciding', () => {
  const cases: [string, PolicyResource[], string, string, string, string?][] = [
    [
      'exact host over wildcard (even with a longer path)',
      [
        policy({
          kind: 'ClusterAccessPolicy',
          name: 'wild',
          hosts: ['*.example.com'],
          rules: [prefix('long', '/a/b/c', ['guest'])],
        }),
        policy({
          name: 'exact',
          hosts: ['shop.example.com'],
          rules: [prefix('root', '/', ['guest'])],
        }),
      ],
      'shop.example.com',
      '/a/b/c',
      'demo/exact#root',
    ],
    [
      'falls back to the wildcard when no rule of the exact host matches',
      [
        policy({
          kind: 'ClusterAccessPolicy',
          name: 'wild',
          hosts: ['*.example.com'],
          rules: [prefix('root', '/', ['guest'])],
        }),
        policy({
          name: 'exact',
          hosts: ['shop.example.com'],
          rules: [prefix('api', '/api', ['guest'])],
        }),
      ],
      'shop.example.com',
      '/home',
      '/wild#root',
    ],
    [
      'longer wildcard over shorter',
      [
        policy({
          name: 'short',
          hosts: ['*.example.com'],
          rules: [prefix('long', '/a/b/c', ['guest'])],
        }),
        policy({
          name: 'long',
          hosts: ['*.shop.example.com'],
          rules: [prefix('root', '/', ['guest'])],
        }),
      ],
      'a.shop.example.com',
      '/a/b/c',
      'demo/long#root',
    ],
    [
      'Exact path over PathPrefix (even from a ClusterAccessPolicy)',
      [
        policy({
          kind: 'ClusterAccessPolicy',
          name: 'cluster',
          hosts: ['h.test'],
          rules: [prefix('prefix', '/metrics', ['guest'])],
        }),
        policy({
          name: 'ns',
          hosts: ['h.test'],
          rules: [rule('exact', 'Exact', '/metrics', ['guest'])],
        }),
      ],
      'h.test',
      '/metrics',
      'demo/ns#exact',
    ],
    [
      'longer prefix over shorter',
      [
        policy({
          kind: 'ClusterAccessPolicy',
          name: 'cluster',
          hosts: ['h.test'],
          rules: [prefix('api', '/api', ['guest'], ['GET'])],
        }),
        policy({ name: 'ns', hosts: ['h.test'], rules: [prefix('v1', '/api/v1', ['guest'])] }),
      ],
      'h.test',
      '/api/v1/x',
      'demo/ns#v1',
    ],
    [
      'a match with methods over one without',
      [
        policy({
          kind: 'ClusterAccessPolicy',
          name: 'cluster',
          hosts: ['h.test'],
          rules: [prefix('any', '/api', ['guest'])],
        }),
        policy({
          name: 'ns',
          hosts: ['h.test'],
          rules: [prefix('get', '/api', ['guest'], ['GET'])],
        }),
      ],
      'h.test',
      '/api',
      'demo/ns#get',
      // and with another method the other rule applies:
    ],
    [
      'ClusterAccessPolicy over AccessPolicy (even when newer)',
      [
        policy({
          name: 'ns',
          created: '2020-01-01T00:00:00Z',
          hosts: ['h.test'],
          rules: [prefix('r', '/', ['guest'])],
        }),
        policy({
          kind: 'ClusterAccessPolicy',
          name: 'cluster',
          created: '2025-01-01T00:00:00Z',
          hosts: ['h.test'],
          rules: [prefix('r', '/', ['guest'])],
        }),
      ],
      'h.test',
      '/',
      '/cluster#r',
    ],
    [
      'older creationTimestamp (even when its name sorts later)',
      [
        policy({
          name: 'aaa',
          created: '2025-01-02T00:00:00Z',
          hosts: ['h.test'],
          rules: [prefix('r', '/', ['guest'])],
        }),
        policy({
          name: 'zzz',
          created: '2025-01-01T00:00:00Z',
          hosts: ['h.test'],
          rules: [prefix('r', '/', ['guest'])],
        }),
      ],
      'h.test',
      '/',
      'demo/zzz#r',
    ],
    [
      'namespace/name',
      [
        policy({
          name: 'aaa',
          namespace: 'b',
          hosts: ['h.test'],
          rules: [prefix('r', '/', ['guest'])],
        }),
        policy({
          name: 'zzz',
          namespace: 'a',
          hosts: ['h.test'],
          rules: [prefix('r', '/', ['guest'])],
        }),
      ],
      'h.test',
      '/',
      'a/zzz#r',
    ],
    [
      'rule order within the policy',
      [
        policy({
          name: 'p',
          hosts: ['h.test'],
          rules: [prefix('first', '/', ['guest']), prefix('second', '/', ['guest'])],
        }),
      ],
      'h.test',
      '/',
      'demo/p#first',
    ],
  ];

  it.each(cases)('%s', (_label, resources, host, path, expected) => {
    expect(ruleName(buildSnapshot(resources), request(host, path))).toBe(expected);
    // Input order never matters: the order is total.
    expect(ruleName(buildSnapshot([...resources].reverse()), request(host, path))).toBe(expected);
  });

  it('a method-specific match does not capture other methods', () => {
    const [, resources] = cases[5]!;
    expect(ruleName(buildSnapshot(resources), request('h.test', '/api', 'POST'))).toBe(
      '/cluster#any',
    );
  });
});

describe('decide: roles', () => {
  const guarded = policy({
    name: 'g',
    namespace: 'shop',
    hosts: ['shop.test'],
    rules: [prefix('r', '/', ['shop-admin'])],
  });

  function allowed(
    subject: Subject,
    who: Identity,
    namespace: string | undefined = 'shop',
  ): boolean {
    const snapshot = buildSnapshot([guarded, mapping(['shop-admin'], [subject], namespace)]);
    return decide(request('shop.test', '/'), who, snapshot, options).outcome === 'allow';
  }

  it.each([
    ['User by user name', { kind: 'User', name: 'alice' }, identity({ user: 'alice' }), true],
    ['User by subject', { kind: 'User', name: 'sub-42' }, identity({ subject: 'sub-42' }), true],
    [
      'User by email, case-insensitively',
      { kind: 'User', name: 'Alice@Example.com' },
      identity({ email: 'alice@example.COM' }),
      true,
    ],
    [
      'User name is case-sensitive',
      { kind: 'User', name: 'Alice' },
      identity({ user: 'alice' }),
      false,
    ],
    ['Group', { kind: 'Group', name: 'ops' }, identity({ groups: ['dev', 'ops'] }), true],
    ['Group is exact', { kind: 'Group', name: 'ops' }, identity({ groups: ['ops-team'] }), false],
    [
      'EmailDomain, case-insensitively',
      { kind: 'EmailDomain', name: 'Example.com' },
      identity({ email: 'x@EXAMPLE.com' }),
      true,
    ],
    [
      'EmailDomain does not match subdomains',
      { kind: 'EmailDomain', name: 'example.com' },
      identity({ email: 'x@evil.example.com' }),
      false,
    ],
    [
      'EmailDomain does not match look-alikes',
      { kind: 'EmailDomain', name: 'example.com' },
      identity({ email: 'x@notexample.com' }),
      false,
    ],
    [
      'EmailDomain needs an email',
      { kind: 'EmailDomain', name: 'example.com' },
      identity({ user: 'x@example.com' }),
      false,
    ],
    [
      'Claim string',
      { kind: 'Claim', name: 'department', values: ['sales'] },
      identity({ claims: { department: 'sales' } }),
      true,
    ],
    [
      'Claim array',
      { kind: 'Claim', name: 'teams', values: ['blue', 'red'] },
      identity({ claims: { teams: ['green', 'red'] } }),
      true,
    ],
    [
      'Claim other value',
      { kind: 'Claim', name: 'department', values: ['sales'] },
      identity({ claims: { department: 'hr' } }),
      false,
    ],
    [
      'Claim non-string',
      { kind: 'Claim', name: 'level', values: ['1'] },
      identity({ claims: { level: 1 } }),
      false,
    ],
  ] as [string, Subject, Identity, boolean][])('%s', (_label, subject, who, expected) => {
    expect(allowed(subject, who)).toBe(expected);
  });

  it('a RoleMapping grants only to policies of its own namespace', () => {
    const who = identity({ groups: ['ops'] });
    expect(allowed({ kind: 'Group', name: 'ops' }, who, 'shop')).toBe(true);
    expect(allowed({ kind: 'Group', name: 'ops' }, who, 'other')).toBe(false);
    expect(allowed({ kind: 'Group', name: 'ops' }, who, undefined)).toBe(true); // ClusterRoleMapping
  });

  it('a ClusterAccessPolicy only sees ClusterRoleMappings', () => {
    const clusterPolicy = policy({
      kind: 'ClusterAccessPolicy',
      name: 'c',
      hosts: ['c.test'],
      rules: [prefix('r', '/', ['x'])],
    });
    const who = identity({ groups: ['ops'] });
    const namespaced = buildSnapshot([
      clusterPolicy,
      mapping(['x'], [{ kind: 'Group', name: 'ops' }], 'default'),
    ]);
    const cluster = buildSnapshot([
      clusterPolicy,
      mapping(['x'], [{ kind: 'Group', name: 'ops' }]),
    ]);
    expect(decide(request('c.test', '/'), who, namespaced, options).reason).toBe('missing-role');
    expect(decide(request('c.test', '/'), who, cluster, options).reason).toBe('role-granted');
  });

  it('a namespace can make someone super only for its own policies', () => {
    const other = policy({
      name: 'o',
      namespace: 'other',
      hosts: ['other.test'],
      rules: [prefix('r', '/', ['x'])],
    });
    const snapshot = buildSnapshot([
      guarded,
      other,
      mapping(['admin'], [{ kind: 'User', name: 'eve' }], 'other'),
    ]);
    const eve = identity({ user: 'eve' });
    expect(decide(request('other.test', '/'), eve, snapshot, options).reason).toBe('super-role');
    expect(decide(request('shop.test', '/'), eve, snapshot, options).reason).toBe('missing-role');
  });

  it('reports the sorted roles held in the matched scope', () => {
    const snapshot = buildSnapshot([
      guarded,
      mapping(['zeta', 'alpha'], [{ kind: 'Group', name: 'ops' }], 'shop'),
      mapping(['beta'], [{ kind: 'Group', name: 'ops' }]),
      mapping(['hidden'], [{ kind: 'Group', name: 'ops' }], 'elsewhere'),
    ]);
    const who = identity({ groups: ['ops'] });
    expect(decide(request('shop.test', '/'), who, snapshot, options).roles).toEqual([
      'alpha',
      'authenticated',
      'beta',
      'guest',
      'zeta',
    ]);
    expect(decide(request('shop.test', '/'), null, snapshot, options).roles).toEqual(['guest']);
    // Repeated decisions for the same identity give the same answer (memoised).
    expect(decide(request('shop.test', '/'), who, snapshot, options).roles).toEqual([
      'alpha',
      'authenticated',
      'beta',
      'guest',
      'zeta',
    ]);
  });
});

describe('decide: audit mode', () => {
  // decide() is pure and mode-blind: it returns the decision as it would be, and the matched rule
  // says the mode so the transport edge can answer an Audit policy's refusal as allowed.
  const audited = buildSnapshot([
    policy({
      name: 'new-admin',
      hosts: ['app.localhost'],
      mode: 'Audit',
      rules: [prefix('admin', '/admin', ['app-admin']), prefix('metrics', '/metrics', 'Deny')],
    }),
  ]);

  it('returns the would-be refusal of an Audit policy with rule.mode Audit', () => {
    const missing = decide(request('app.localhost', '/admin'), bob, audited, options);
    expect(missing.outcome).toBe('forbidden');
    expect(missing.reason).toBe('missing-role');
    expect(missing.rule?.mode).toBe('Audit');

    const anonymous = decide(request('app.localhost', '/admin'), null, audited, options);
    expect(anonymous.outcome).toBe('unauthenticated');
    expect(anonymous.rule?.mode).toBe('Audit');

    const denied = decide(request('app.localhost', '/metrics'), root, audited, options);
    expect([denied.outcome, denied.reason, denied.rule?.mode]).toEqual([
      'forbidden',
      'deny-rule',
      'Audit',
    ]);
  });

  it('a policy without spec.mode is Enforce', () => {
    const result = decide(request('app.localhost', '/admin'), bob, demoSnapshot, options);
    expect(result.rule?.mode).toBe('Enforce');
  });
});

describe('decide: guardrails (ClusterAccessPolicy rules with enforcement: Guardrail)', () => {
  const guardrail = (r: AccessRule): AccessRule => ({ ...r, enforcement: 'Guardrail' });
  const tenantCatchAll = policy({
    name: 'tenant',
    namespace: 'shop',
    hosts: ['shop.example.com'],
    rules: [prefix('everything', '/', ['guest'])],
  });
  const platform = policy({
    kind: 'ClusterAccessPolicy',
    name: 'platform',
    hosts: ['*.example.com'],
    mode: 'Audit',
    rules: [
      guardrail(prefix('no-admin', '/admin', 'Deny')),
      guardrail(prefix('ops-only', '/ops', ['ops'])),
    ],
  });
  const snapshot = buildSnapshot([
    tenantCatchAll,
    platform,
    mapping(['ops'], [{ kind: 'User', name: 'olga' }]),
    mapping(['ops'], [{ kind: 'User', name: 'tim' }], 'shop', 'tenant-ops'),
    mapping(['admin'], [{ kind: 'Group', name: 'gatehouse-admins' }]),
  ]);
  const olga = identity({ user: 'olga' });
  const tim = identity({ user: 'tim' });

  it("a wildcard guardrail Deny beats a tenant's catch-all on its exact host, for everyone", () => {
    // Without the guardrail, the tenant's exact host would win (precedence step 1).
    for (const who of [null, olga, root]) {
      const result = decide(request('shop.example.com', '/admin/users'), who, snapshot, options);
      expect(result).toMatchObject({ outcome: 'forbidden', reason: 'deny-rule' });
      expect(result.rule).toMatchObject({ policy: 'platform', rule: 'no-admin' });
      expect(result.rule?.enforcement).toBe('Guardrail');
    }
  });

  it("a guardrail's roles are a minimum: cluster roles only, then the tenant rule decides", () => {
    expect(decide(request('shop.example.com', '/ops'), null, snapshot, options)).toMatchObject({
      outcome: 'unauthenticated',
      reason: 'authentication-required',
      rule: { rule: 'ops-only', enforcement: 'Guardrail' },
    });
    // tim holds ops only through the tenant's own RoleMapping: a tenant cannot meet a guardrail.
    expect(decide(request('shop.example.com', '/ops'), tim, snapshot, options)).toMatchObject({
      outcome: 'forbidden',
      reason: 'missing-role',
      rule: { rule: 'ops-only' },
    });
    const passed = decide(request('shop.example.com', '/ops'), olga, snapshot, options);
    expect(passed).toMatchObject({
      outcome: 'allow',
      reason: 'role-granted',
      rule: { policy: 'tenant', rule: 'everything' },
      guardrail: { policy: 'platform', rule: 'ops-only' },
    });
  });

  it('never grants: a request that passes is decided by the other rules (or noMatch)', () => {
    const onlyGuardrail = buildSnapshot([
      platform,
      mapping(['ops'], [{ kind: 'User', name: 'olga' }]),
    ]);
    expect(
      decide(request('other.example.com', '/ops'), olga, onlyGuardrail, options),
    ).toMatchObject({ outcome: 'forbidden', reason: 'no-matching-rule', rule: null });
  });

  it('Audit mode never turns a guardrail off', () => {
    const result = decide(request('shop.example.com', '/admin'), null, snapshot, options);
    expect(result.rule?.mode).toBe('Enforce');
  });

  it('is not a guardrail in a namespaced AccessPolicy', () => {
    const sneaky = policy({
      name: 'sneaky',
      namespace: 'shop',
      hosts: ['shop.example.com'],
      rules: [guardrail(prefix('lock', '/', 'Deny'))],
    });
    const both = buildSnapshot([sneaky, tenantCatchAll]);
    expect(both.rules.hasGuardrails).toBe(false);
  });

  it('leaves requests no guardrail matches alone', () => {
    expect(decide(request('shop.example.com', '/catalog'), null, snapshot, options)).toMatchObject({
      outcome: 'allow',
      rule: { rule: 'everything' },
    });
    expect(
      decide(request('shop.example.com', '/catalog'), null, snapshot, options).guardrail,
    ).toBeUndefined();
  });
});

// Issue 15, finding 8: a token minted for `idm-api` was accepted on every host trusting its
// issuer. A policy naming `authentication.bearer.audiences` accepts only tokens naming one.
describe('bearer audiences per policy', () => {
  const withAudiences = (audiences: string[], rules: AccessRule[]): AnyAccessPolicy => {
    const base = policy({ name: 'idm', hosts: ['idm.test'], rules });
    return { ...base, spec: { ...base.spec, authentication: { bearer: { audiences } } } };
  };
  const snapshot = buildSnapshot([
    withAudiences(
      ['idm-api'],
      [
        prefix('public', '/public', ['guest']),
        prefix('closed', '/closed', 'Deny'),
        prefix('api', '/', ['authenticated']),
      ],
    ),
    policy({ name: 'shop', hosts: ['shop.test'], rules: [prefix('api', '/', ['authenticated'])] }),
  ]);
  const token = (audiences: string[] | undefined): Identity =>
    identity({
      method: 'bearer',
      provider: 'machines',
      ...(audiences === undefined ? {} : { audiences }),
    });

  it('refuses a token for another audience with 401 invalid-credentials, guest rules included', () => {
    for (const path of ['/users', '/public']) {
      expect(
        decide(request('idm.test', path), token(['shop-api']), snapshot, options),
      ).toMatchObject({
        outcome: 'unauthenticated',
        reason: 'invalid-credentials',
        rule: { policy: 'idm' },
      });
    }
    expect(
      decide(request('idm.test', '/users'), token(undefined), snapshot, options),
    ).toMatchObject({ outcome: 'unauthenticated', reason: 'invalid-credentials' });
  });

  it('accepts a token naming one of them', () => {
    expect(
      decide(request('idm.test', '/users'), token(['other', 'idm-api']), snapshot, options),
    ).toMatchObject({ outcome: 'allow', reason: 'role-granted' });
  });

  it('keeps a Deny rule a Deny', () => {
    expect(
      decide(request('idm.test', '/closed'), token(['shop-api']), snapshot, options),
    ).toMatchObject({ outcome: 'forbidden', reason: 'deny-rule' });
  });

  it('leaves a policy without audiences, and sessions, to the issuer’s configured audiences', () => {
    expect(decide(request('shop.test', '/'), token(['shop-api']), snapshot, options)).toMatchObject(
      { outcome: 'allow' },
    );
    expect(decide(request('idm.test', '/users'), identity(), snapshot, options)).toMatchObject({
      outcome: 'allow',
    });
  });

  it('applies to a guardrail that names audiences too', () => {
    const guarded = buildSnapshot([
      {
        ...policy({
          kind: 'ClusterAccessPolicy',
          name: 'guard',
          hosts: ['idm.test'],
          rules: [{ ...prefix('all', '/', ['authenticated']), enforcement: 'Guardrail' }],
        }),
        spec: {
          hosts: ['idm.test'],
          rules: [{ ...prefix('all', '/', ['authenticated']), enforcement: 'Guardrail' }],
          authentication: { bearer: { audiences: ['idm-api'] } },
        },
      },
      policy({ name: 'open', hosts: ['idm.test'], rules: [prefix('all', '/', ['guest'])] }),
    ]);
    expect(decide(request('idm.test', '/'), token(['shop-api']), guarded, options)).toMatchObject({
      outcome: 'unauthenticated',
      reason: 'invalid-credentials',
    });
  });
});

// Issue 15, finding 2: decide() passes the configured unqualified sources to the role index.
describe('identity sources in decide()', () => {
  const snapshot = buildSnapshot([
    app,
    mapping(['app-admin'], [{ kind: 'User', name: 'bob' }], 'demo', 'bob-admin'),
    mapping(['admin'], [{ kind: 'Group', name: 'admins' }], undefined, 'super'),
  ]);
  const corp = { ...options, unqualifiedSources: SubjectSources.of(['provider/corp']) };

  it('grants unqualified subjects to the default source only', () => {
    const bob = identity({ user: 'bob', subject: 'bob', provider: 'corp' });
    expect(decide(request('app.localhost', '/admin'), bob, snapshot, corp).outcome).toBe('allow');
    for (const other of [
      { ...bob, provider: 'partner' },
      { ...bob, method: 'bearer' as const, provider: 'machines' },
      { ...bob, method: 'header' as const },
    ]) {
      expect(decide(request('app.localhost', '/admin'), other, snapshot, corp)).toMatchObject({
        outcome: 'forbidden',
        reason: 'missing-role',
      });
    }
    const frontAdmin = identity({ method: 'header', groups: ['admins'] });
    expect(decide(request('app.localhost', '/admin'), frontAdmin, snapshot, corp)).toMatchObject({
      outcome: 'forbidden',
      reason: 'missing-role',
    });
  });
});
