import { describe, expect, it } from 'vitest';
import { pointerToPath, validateHostDelegation, validateResource } from './validate.ts';

const meta = { name: 'shop', namespace: 'shop', creationTimestamp: '2025-01-01T00:00:00Z' };

function accessPolicy(spec: unknown, overrides: Record<string, unknown> = {}) {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'AccessPolicy',
    metadata: meta,
    spec,
    ...overrides,
  };
}

const goodRules = [
  { name: 'app', match: [{ path: { type: 'PathPrefix', value: '/' } }], roles: ['authenticated'] },
];

function problemsOf(object: unknown): { path: string; message: string }[] {
  const result = validateResource(object);
  return result.ok ? [] : [...result.problems];
}

describe('validateResource', () => {
  it('accepts the docs/architecture.md example policy and role mapping', () => {
    expect(
      problemsOf(
        accessPolicy(
          {
            hosts: ['shop.example.com'],
            identityHeaders: 'remote',
            rules: [
              {
                name: 'assets',
                match: [
                  { path: { type: 'PathPrefix', value: '/static' }, methods: ['GET', 'HEAD'] },
                ],
                roles: ['guest'],
              },
              {
                name: 'admin',
                match: [{ path: { type: 'PathPrefix', value: '/admin' } }],
                roles: ['shop-admin'],
              },
              {
                name: 'metrics',
                match: [{ path: { type: 'Exact', value: '/metrics' } }],
                action: 'Deny',
              },
              {
                name: 'app',
                match: [{ path: { type: 'PathPrefix', value: '/' } }],
                roles: ['authenticated'],
              },
            ],
          },
          {
            status: {
              observedGeneration: 4,
              conditions: [
                { type: 'Ready', status: 'True', reason: 'Accepted', observedGeneration: 4 },
              ],
            },
          },
        ),
      ),
    ).toEqual([]);
    expect(
      problemsOf({
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'RoleMapping',
        metadata: { ...meta, name: 'shop-admins', labels: { team: 'x' } },
        spec: {
          roles: ['shop-admin'],
          subjects: [
            { kind: 'User', name: 'alice@example.com' },
            { kind: 'Group', name: 'shop-operators' },
            { kind: 'EmailDomain', name: 'example.com' },
            { kind: 'Claim', name: 'department', values: ['sales'] },
          ],
        },
      }),
    ).toEqual([]);
  });

  it('reports every problem at once, each with its field path', () => {
    const problems = problemsOf(
      accessPolicy({
        hosts: ['Shop.Example.com', 'ok.example.com', 'ok.example.com', '*.com'],
        mode: 'Strict',
        rules: [
          {
            name: 'both',
            match: [{ path: { type: 'PathPrefix', value: '/a' } }],
            roles: ['x'],
            action: 'Deny',
          },
          { name: 'neither', match: [{ path: { type: 'PathPrefix', value: '/b' } }] },
          {
            name: 'both',
            match: [{ path: { type: 'Prefix', value: 'api' }, methods: ['GET', 'FETCH'] }],
            roles: ['bad role'],
          },
          {
            name: 'Upper',
            match: [{ path: { type: 'PathPrefix', value: '/x/../y' } }],
            role: ['x'],
          },
          { name: 'empty', match: [], roles: ['x'] },
        ],
      }),
    );
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath).toMatchObject({
      'spec.hosts[0]': expect.stringContaining('lower-case host name'),
      'spec.hosts[2]': 'duplicate host "ok.example.com"',
      'spec.hosts[3]': expect.stringContaining('whole top-level domain'),
      'spec.mode': 'must be one of Enforce, Audit (got "Strict")',
      'spec.rules[0]': 'roles and action: Deny are mutually exclusive',
      'spec.rules[1]': 'a rule needs roles or action: Deny',
      'spec.rules[2].name': 'duplicate rule name "both"',
      'spec.rules[2].match[0].path.type':
        'must be one of Exact, PathPrefix, RegularExpression (got "Prefix")',
      'spec.rules[2].match[0].path.value': 'must start with "/" (got "api")',
      'spec.rules[2].match[0].methods[1]': expect.stringContaining('must be one of GET, HEAD'),
      'spec.rules[2].roles[0]': expect.stringContaining('among letters, digits'),
      'spec.rules[3].name': expect.stringContaining('DNS-1123 label'),
      'spec.rules[3].role': expect.stringContaining(
        'unknown field; known fields here: name, match, roles, action',
      ),
      // Dot-segments are refused in requests, so a rule written with one could never match.
      'spec.rules[3].match[0].path.value': 'is ambiguous: dot-segment ("." or "..") in path',
      'spec.rules[4].match': 'must have at least 1 item(s)',
    });
    // Rule 3 has no roles (only the misspelt `role`), which the CEL twin reports as well.
    expect(byPath['spec.rules[3]']).toBe('a rule needs roles or action: Deny');
  });

  it.each([
    [{ hosts: ['*.localhost'], rules: goodRules }, []], // special-use TLDs may be wildcarded
    [{ hosts: ['shop.example.com:8080'], rules: goodRules }, ['spec.hosts[0]']],
    [{ hosts: ['https://shop.example.com'], rules: goodRules }, ['spec.hosts[0]']],
    [{ hosts: ['*'], rules: goodRules }, ['spec.hosts[0]']],
    [{ hosts: ['a.*.example.com'], rules: goodRules }, ['spec.hosts[0]']],
    [{ hosts: [], rules: goodRules }, ['spec.hosts']],
    [{ hosts: ['a.test'], rules: [] }, ['spec.rules']],
    [{ hosts: ['a.test'] }, ['spec.rules']],
    [
      {
        hosts: ['a.test'],
        rules: [{ ...goodRules[0], match: [{ path: { type: 'Exact', value: '/a?b=1' } }] }],
      },
      ['spec.rules[0].match[0].path.value'],
    ],
    [
      {
        hosts: ['a.test'],
        rules: [{ ...goodRules[0], match: [{ path: { type: 'Exact', value: '/a%2Fb' } }] }],
      },
      ['spec.rules[0].match[0].path.value'],
    ],
    [
      {
        hosts: ['a.test'],
        rules: [{ ...goodRules[0], match: [{ path: { type: 'Exact', value: '//a' } }] }],
      },
      ['spec.rules[0].match[0].path.value'],
    ],
    [{ hosts: ['a.test'], rules: [{ ...goodRules[0], match: [{}] }] }, []], // no path = PathPrefix /
  ])('%j → problems at %j', (spec, paths) => {
    expect(problemsOf(accessPolicy(spec)).map((p) => p.path)).toEqual(paths);
  });

  it('names the missing field', () => {
    expect(
      problemsOf(accessPolicy({ hosts: ['a.test'], rules: [{ match: [{}], roles: ['x'] }] })),
    ).toEqual([{ path: 'spec.rules[0].name', message: 'is required' }]);
  });

  it('checks apiVersion, kind and the shape of the object', () => {
    expect(problemsOf('hello')).toEqual([
      { path: '', message: expect.stringContaining('must be a mapping') },
    ]);
    expect(
      problemsOf({ apiVersion: 'gatehouse.dev/v1', kind: 'Policy', metadata: meta, spec: {} }),
    ).toEqual([
      { path: 'apiVersion', message: 'must be "gatehouse.dev/v1alpha1" (got "gatehouse.dev/v1")' },
      {
        path: 'kind',
        message: expect.stringContaining(
          'must be one of AccessPolicy, ClusterAccessPolicy, RoleMapping, ClusterRoleMapping',
        ),
      },
    ]);
    expect(
      problemsOf(accessPolicy({ hosts: ['a.test'], rules: goodRules }, { spec: undefined })),
    ).toEqual([{ path: 'spec', message: 'is required' }]);
  });

  it('checks namespaces against the scope of the kind and the creation time', () => {
    const namespaceless = { ...meta } as Record<string, unknown>;
    delete namespaceless.namespace;
    expect(
      problemsOf(
        accessPolicy({ hosts: ['a.test'], rules: goodRules }, { metadata: namespaceless }),
      ),
    ).toEqual([{ path: 'metadata.namespace', message: 'is required for AccessPolicy' }]);
    expect(
      problemsOf(
        accessPolicy({ hosts: ['a.test'], rules: goodRules }, { kind: 'ClusterAccessPolicy' }),
      ),
    ).toEqual([
      {
        path: 'metadata.namespace',
        message: expect.stringContaining('did you mean AccessPolicy?'),
      },
    ]);
    expect(
      problemsOf(
        accessPolicy(
          { hosts: ['a.test'], rules: goodRules },
          { metadata: { ...meta, creationTimestamp: 'yesterday' } },
        ),
      ),
    ).toEqual([
      { path: 'metadata.creationTimestamp', message: expect.stringContaining('RFC 3339') },
    ]);
  });

  it('checks role-mapping subjects', () => {
    const problems = problemsOf({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ClusterRoleMapping',
      metadata: { name: 'm', creationTimestamp: '2025-01-01T00:00:00Z' },
      spec: {
        roles: ['x'],
        subjects: [
          { kind: 'Claim', name: 'department' },
          { kind: 'Group', name: 'ops', values: ['a'] },
          { kind: 'EmailDomain', name: '@example.com' },
          { kind: 'Robot', name: 'r2d2' },
          { kind: 'User', name: '' },
        ],
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          path: 'spec.subjects[0]',
          message: 'values is required for kind Claim and not allowed for other kinds',
        },
        {
          path: 'spec.subjects[1]',
          message: 'values is required for kind Claim and not allowed for other kinds',
        },
        { path: 'spec.subjects[2].name', message: expect.stringContaining('mail domain') },
        {
          path: 'spec.subjects[3].kind',
          message: 'must be one of User, Group, EmailDomain, Claim, Organisation (got "Robot")',
        },
        { path: 'spec.subjects[4].name', message: 'must be at least 1 character(s) long' },
      ]),
    );
    expect(problems).toHaveLength(5);
  });
});

describe('pointerToPath', () => {
  it('turns a JSON pointer (RFC 6901, ~1 for "/") into the dotted path the messages name', () => {
    const pointers = ['', '/spec/rules/2/match/0/path/value', '/metadata/annotations/a~1b'];
    expect(pointers.map((pointer) => pointerToPath(pointer))).toEqual([
      '',
      'spec.rules[2].match[0].path.value',
      'metadata.annotations.a/b',
    ]);
  });
});

describe('upstream token headers', () => {
  const policy = (header: string) => ({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name: 'p', namespace: 'team', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      hosts: ['app.example.com'],
      upstreamTokens: { accessToken: { header } },
      rules: [{ name: 'all', match: [{}], roles: ['authenticated'] }],
    },
  });

  it.each([
    'Cookie',
    'Host',
    'X-Forwarded-For',
    'X-Auth-Request-User',
    'Remote-User',
    'x-gatehouse-assertion',
  ])('refuses a token in %s, which would let a tenant overwrite routing or identity', (header) => {
    const result = validateResource(policy(header));
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.map((problem) => problem.path)).toContain(
      'spec.upstreamTokens.accessToken.header',
    );
  });

  it.each(['Authorization', 'X-Access-Token'])('accepts %s', (header) => {
    expect(validateResource(policy(header)).ok).toBe(true);
  });
});

describe('guardrails', () => {
  const guardrailRules = [
    {
      name: 'no-admin',
      enforcement: 'Guardrail',
      match: [{ path: { type: 'PathPrefix', value: '/admin' } }],
      action: 'Deny',
    },
  ];

  it('are allowed in a ClusterAccessPolicy', () => {
    expect(
      problemsOf({
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'ClusterAccessPolicy',
        metadata: { name: 'platform', creationTimestamp: '2025-01-01T00:00:00Z' },
        spec: { hosts: ['*.example.com'], rules: guardrailRules },
      }),
    ).toEqual([]);
  });

  it('are refused in a namespaced AccessPolicy: only platform admins write them', () => {
    expect(
      problemsOf(accessPolicy({ hosts: ['shop.example.com'], rules: guardrailRules })),
    ).toEqual([
      {
        path: 'spec.rules[0].enforcement',
        message: expect.stringContaining('only allowed in a ClusterAccessPolicy') as string,
      },
    ]);
  });
});

describe('validateHostDelegation', () => {
  const delegation = (spec: unknown) => ({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'HostDelegation',
    metadata: { name: 'api', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec,
  });

  it('accepts a host, a path prefix and namespaces', () => {
    expect(
      validateHostDelegation(
        delegation({ host: 'shop.example.com', pathPrefix: '/api', namespaces: ['api'] }),
      ).ok,
    ).toBe(true);
  });

  it('refuses a wildcard over a top-level domain, an unnormalised prefix and no namespaces', () => {
    const result = validateHostDelegation(
      delegation({ host: '*.com', pathPrefix: '/api//v1', namespaces: [] }),
    );
    expect(result.ok ? [] : result.problems.map((problem) => problem.path)).toEqual(
      expect.arrayContaining(['spec.host', 'spec.pathPrefix', 'spec.namespaces']),
    );
  });
});
