import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkCommand } from './check.ts';
import { runCli, type CliRun } from '../../../test/fixtures/builders/cli.ts';
import {
  makeTempDirectory,
  useTempDirectory,
} from '../../../test/fixtures/builders/temp-directory.ts';
import type { CheckReport } from './check.ts';

const check = (args: readonly string[]): Promise<CliRun> => runCli(checkCommand, args);

/** Runs against examples/policies and parses the JSON report. */
async function report(args: readonly string[]): Promise<{ status: number; report: CheckReport }> {
  const run = await check(['--policies', 'examples/policies', '--output', 'json', ...args]);
  expect(run.stderr).toBe('');
  return { status: run.status, report: JSON.parse(run.stdout) as CheckReport };
}

describe('gatehouse check over examples/policies', () => {
  it('allows alice into /admin and explains why', async () => {
    const run = await check([
      '--policies',
      'examples/policies',
      '--user',
      'alice@example.com',
      '--group',
      'sales',
      'GET',
      'https://app.localhost/admin',
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('outcome:        allow (200)\n');
    expect(run.stdout).toContain('policy:         AccessPolicy demo/app\n');
    expect(run.stdout).toContain('rule:           admin\n');
    expect(run.stdout).toContain('roles held:     api-reader, app-admin, authenticated, guest\n');
    expect(run.stdout).toContain('roles required: app-admin\n');
    expect(run.stdout).toMatch(/^reason: +role-granted: .+$/m);
    expect(run.stdout).toContain('path:           /admin\n');
    expect(run.stdout).toContain('identity:       alice@example.com (groups sales)\n');
  });

  it('answers 401 (exit 3) for an anonymous caller on a signed-in rule', async () => {
    const run = await check(['--policies', 'examples/policies', 'GET', 'http://app.localhost/']);
    expect(run.status).toBe(3);
    expect(run.stdout).toContain('outcome:        unauthenticated (401)\n');
    expect(run.stdout).toMatch(/^reason: +authentication-required: /m);
    expect(run.stdout).toContain('identity:       anonymous\n');
  });

  it('answers 403 (exit 4) with the roles held and required', async () => {
    const { status, report: result } = await report([
      '--user',
      'bob@example.com',
      'GET',
      'https://app.localhost/admin/users',
    ]);
    expect(status).toBe(4);
    expect(result).toMatchObject({
      outcome: 'forbidden',
      status: 403,
      reason: 'missing-role',
      policy: { kind: 'AccessPolicy', namespace: 'demo', name: 'app' },
      rule: 'admin',
      rolesHeld: ['api-reader', 'authenticated', 'guest'],
      rolesRequired: ['app-admin'],
      method: 'GET',
      host: 'app.localhost',
      path: '/admin/users',
      mode: 'Enforce',
      auditOverride: false,
    });
  });

  it('a deny rule refuses even the super role', async () => {
    const { status, report: result } = await report([
      '--user',
      'root',
      '--group',
      'gatehouse-admins',
      'GET',
      'http://app.localhost/metrics',
    ]);
    expect(status).toBe(4);
    expect([result.reason, result.rule, result.rolesRequired]).toEqual([
      'deny-rule',
      'metrics',
      [],
    ]);
  });

  it('an exact host beats the wildcard; other hosts fall back to the ClusterAccessPolicy', async () => {
    const exact = await report(['GET', 'http://app.localhost/']);
    expect(exact.report.policy).toEqual({ kind: 'AccessPolicy', namespace: 'demo', name: 'app' });
    const wildcard = await report(['GET', 'http://grafana.localhost/']);
    expect(wildcard.report.policy).toEqual({
      kind: 'ClusterAccessPolicy',
      namespace: '',
      name: 'localhost-fallback',
    });
    expect(wildcard.report.rule).toBe('signed-in');
  });

  it('a user given as an e-mail address sets email too, which EmailDomain subjects match', async () => {
    const { status, report: result } = await report([
      '--user',
      'dave@example.com',
      'GET',
      'http://api.localhost/v1/orders',
    ]);
    expect(status).toBe(0);
    expect(result.identity).toEqual({
      user: 'dave@example.com',
      email: 'dave@example.com',
      groups: [],
      claims: {},
      source: 'provider/default',
      organisation: null,
    });
    expect(result.rule).toBe('read');
  });

  it('claims come from --claim K=V and grant roles through Claim subjects', async () => {
    const { status, report: result } = await report([
      '--user',
      'svc-ci',
      '--claim',
      'client_id=ci-deployer',
      '--source',
      'issuer/ci',
      '--audience',
      'demo-api',
      'POST',
      'http://api.localhost/v1/deployments',
    ]);
    expect(status).toBe(0);
    expect(result.rolesHeld).toContain('api-writer');
    expect(result.identity?.claims).toEqual({ client_id: 'ci-deployer' });
    expect(result.identity?.source).toBe('issuer/ci');
  });

  // Issue 15, finding 2: identities are bound to their source.
  it('--source names where the identity comes from; unqualified subjects match the default only', async () => {
    const corp = await report(['--user', 'alice@example.com', 'GET', 'http://app.localhost/admin']);
    expect(corp.status).toBe(0);
    expect(corp.report.identity?.source).toBe('provider/default');
    for (const source of ['preauth', 'basic', 'provider/partner']) {
      const other = await report([
        '--user',
        'alice@example.com',
        '--source',
        source,
        'GET',
        'http://app.localhost/admin',
      ]);
      expect(other.status).toBe(4);
      expect(other.report.reason).toBe('missing-role');
      expect(other.report.identity?.source).toBe(source);
    }
    // A Claim subject bound to issuer/ci: the same claim from another issuer grants nothing.
    const partner = await report([
      '--user',
      'svc-ci',
      '--claim',
      'client_id=ci-deployer',
      '--source',
      'issuer/partner',
      '--audience',
      'demo-api',
      'POST',
      'http://api.localhost/v1/deployments',
    ]);
    expect(partner.report.reason).toBe('missing-role');
  });

  it('--organisation matches Organisation subjects of the named source', async () => {
    const args = ['--user', 'zmartin', '--organisation', 'PSC'];
    const front = await report([
      ...args,
      '--source',
      'preauth',
      'GET',
      'http://api.localhost/v1/x',
    ]);
    expect(front.status).toBe(0);
    expect(front.report.identity?.organisation).toBe('PSC');
    const signedIn = await report([...args, 'GET', 'http://api.localhost/v1/x']);
    expect(signedIn.status).toBe(4);
  });

  // Issue 15, finding 8.
  it('--audience: a token for another audience gets 401 invalid-credentials', async () => {
    const { status, report: result } = await report([
      '--user',
      'svc-ci',
      '--source',
      'issuer/ci',
      '--audience',
      'billing-api',
      'GET',
      'http://api.localhost/v1/orders',
    ]);
    expect(status).toBe(3);
    expect(result.reason).toBe('invalid-credentials');
  });

  it('the default source is the configuration’s first source of unqualified subjects', async () => {
    const dir = await makeTempDirectory('gatehouse-check-source-');
    try {
      const config = await dir.write(
        'gatehouse.yaml',
        [
          'trustedProxies: [127.0.0.1/32]',
          'preAuthentication: { enabled: true, trustedProxies: [10.0.0.0/8], sharedSecret: 0123456789abcdef0 }',
          'authz: { unqualifiedSubjectSources: [preauth] }',
          '',
        ].join('\n'),
      );
      const run = await check([
        '--config',
        config,
        '--policies',
        'examples/policies',
        '--output',
        'json',
        '--user',
        'alice@example.com',
        'GET',
        'http://app.localhost/admin',
      ]);
      expect(run.stderr).toBe('');
      const result = JSON.parse(run.stdout) as CheckReport;
      expect(result.identity?.source).toBe('preauth');
      expect(result.outcome).toBe('allow');
    } finally {
      await rm(dir.path, { recursive: true, force: true });
    }
  });

  it('refuses a malformed --source and --audience without an issuer', async () => {
    const bad = await check([
      '--policies',
      'examples/policies',
      '--user',
      'a',
      '--source',
      'corp',
      'GET',
      'http://app.localhost/',
    ]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('is not a source');
    const audience = await check([
      '--policies',
      'examples/policies',
      '--user',
      'a',
      '--audience',
      'x',
      'GET',
      'http://app.localhost/',
    ]);
    expect(audience.status).toBe(2);
    expect(audience.stderr).toContain('--audience needs --source issuer/NAME');
  });

  it('normalises the path and says why an ambiguous one is refused', async () => {
    // Dot-segments are refused, never resolved: the upstream receives them raw.
    const dots = await report(['GET', 'http://app.localhost/public/../admin?x=1']);
    expect([dots.status, dots.report.reason, dots.report.path, dots.report.pathProblem]).toEqual([
      4,
      'ambiguous-path',
      null,
      'dot-segment ("." or "..") in path',
    ]);
    const merged = await report(['GET', 'http://app.localhost//admin//x?y=1']);
    expect([merged.report.path, merged.report.rule]).toEqual(['/admin/x', 'admin']);

    const run = await check([
      '--policies',
      'examples/policies',
      'GET',
      'http://app.localhost/public/..%2Fadmin',
    ]);
    expect(run.status).toBe(4);
    expect(run.stdout).toContain('path:       ambiguous: encoded "/" (%2F) in path\n');
    expect(run.stdout).toContain('policy:     (no rule matched)\n');
  });
});

// Attack review finding 7: matching stays exact, but `gatehouse check` says when a spelling
// variant passes where the path it may be served as is refused.
describe('gatehouse check: spelling variants of a refused path', () => {
  it('warns that /METRICS is judged more leniently than /metrics, which is denied (an upstream ignoring case)', async () => {
    const run = await check([
      '--policies',
      'examples/policies',
      'GET',
      'http://app.localhost/METRICS',
    ]);
    expect(run.stdout).toMatch(
      /^warning: +\/METRICS is judged more leniently than \/metrics, which is forbidden \(rule demo\/app\/metrics\): an upstream that ignores case serves \/metrics here/m,
    );
    const json = await report(['--user', 'bob', 'GET', 'http://app.localhost/METRICS']);
    expect(json.report.variants).toEqual([
      { path: '/metrics', upstream: 'case', outcome: 'forbidden', rule: 'demo/app/metrics' },
    ]);
  });

  it('warns about the trailing slash and suffix variants of a refused path', async () => {
    const { report: json } = await report(['GET', 'http://app.localhost/metrics.json']);
    expect(json.variants.map((variant) => [variant.path, variant.upstream])).toEqual([
      ['/metrics', 'suffix'],
    ]);
  });

  it('says nothing when no variant is refused more strictly', async () => {
    const run = await check([
      '--policies',
      'examples/policies',
      'GET',
      'http://app.localhost/metrics',
    ]);
    expect(run.stdout).not.toContain('warning:');
  });
});

describe('gatehouse check: precedence and modes over a folder of its own', () => {
  const folder = useTempDirectory('gatehouse-check-', 'all');
  beforeAll(async () => {
    await folder.write(
      'policies.yaml',
      `apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: portal, namespace: portal }
spec:
  hosts: [portal.example.com]
  rules:
    - name: admin
      match: [{ path: { type: PathPrefix, value: /admin/login } }]
      roles: [portal-admin]
    - name: login-page
      match: [{ path: { type: Exact, value: /admin/login } }]
      roles: [guest]
---
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: new-reports, namespace: reports }
spec:
  hosts: [reports.example.com]
  mode: Audit
  rules:
    - name: finance
      match: [{ path: { type: PathPrefix, value: /finance } }]
      roles: [finance]
    - name: exports
      match: [{ path: { type: PathPrefix, value: /exports } }]
      action: Deny
`,
    );
  });

  it('an Exact path beats a PathPrefix of the same length', async () => {
    const exact = await check([
      '--policies',
      folder.path,
      'GET',
      'https://portal.example.com/admin/login',
    ]);
    expect(exact.status).toBe(0);
    expect(exact.stdout).toContain('rule:           login-page\n');
    const below = await check([
      '--policies',
      folder.path,
      '--user',
      'eve',
      'GET',
      'https://portal.example.com/admin/login/reset',
    ]);
    expect(below.status).toBe(4);
    expect(below.stdout).toContain('rule:           admin\n');
  });

  it('an Audit policy refusal exits 0 and says it is allowed while in audit', async () => {
    const run = await check([
      '--policies',
      folder.path,
      '--user',
      'eve',
      'GET',
      'https://reports.example.com/finance/q3',
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('outcome:        forbidden (403)\n');
    expect(run.stdout).toContain(
      'mode:           Audit (would forbidden; allowed while in audit)\n',
    );
  });

  it('--strict-audit exits by the would-be outcome, deny rules included', async () => {
    const anonymous = await check([
      '--policies',
      folder.path,
      '--strict-audit',
      'GET',
      'https://reports.example.com/finance',
    ]);
    expect(anonymous.status).toBe(3);
    const denied = await check([
      '--policies',
      folder.path,
      '--strict-audit',
      '--output',
      'json',
      'GET',
      'https://reports.example.com/exports/all.csv',
    ]);
    expect(denied.status).toBe(4);
    expect(JSON.parse(denied.stdout)).toMatchObject({
      outcome: 'forbidden',
      reason: 'deny-rule',
      mode: 'Audit',
      auditOverride: true,
    });
  });

  it('--config supplies authz.superRole and authz.noMatch', async () => {
    const config = await folder.write(
      'gatehouse-config.yml.txt',
      'authz:\n  superRole: ""\n  noMatch: allow\n',
    );
    const unmatched = await check([
      '--policies',
      'examples/policies',
      '--config',
      config,
      'GET',
      'http://localhost/',
    ]);
    expect(unmatched.status).toBe(0);
    expect(unmatched.stdout).toMatch(/^reason: +default-allow: /m);
    const noSuperRole = await check([
      '--policies',
      'examples/policies',
      '--config',
      config,
      '--user',
      'root',
      '--group',
      'gatehouse-admins',
      'GET',
      'http://app.localhost/admin',
    ]);
    expect(noSuperRole.status).toBe(4);
  });
});

describe('gatehouse check: usage and load errors exit 2', () => {
  it.each([
    ['no URL', ['--policies', 'examples/policies', 'GET'], 'expected METHOD and URL'],
    ['a relative URL', ['--policies', 'examples/policies', 'GET', '/admin'], 'not an absolute'],
    [
      'a bad host',
      ['--policies', 'examples/policies', 'GET', 'http://exa mple.com/'],
      'not a valid host',
    ],
    ['no policy', ['GET', 'http://app.localhost/'], '--policies DIR, --kubeconfig FILE'],
    [
      'two policy sources',
      ['--policies', 'x', '--kubeconfig', 'y', 'GET', 'http://a.test/'],
      'exclusive',
    ],
    [
      'an identity for --anonymous',
      ['--policies', 'x', '--anonymous', '--user', 'a', 'GET', 'http://a.test/'],
      '--anonymous cannot',
    ],
    [
      'a group without a user',
      ['--policies', 'x', '--group', 'g', 'GET', 'http://a.test/'],
      'need --user',
    ],
    ['an unknown option', ['--policy', 'x', 'GET', 'http://a.test/'], "Unknown option '--policy'"],
    [
      'a bad --claim',
      ['--policies', 'x', '--user', 'a', '--claim', 'nokey', 'GET', 'http://a.test/'],
      'KEY=VALUE',
    ],
  ])('%s', async (_, args, message) => {
    const run = await check(args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
  });

  it('lists every policy problem with file and line', async () => {
    const bad = await makeTempDirectory('gatehouse-check-bad-');
    const directory = bad.path;
    try {
      await bad.write(
        'broken.yaml',
        `apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: broken }
spec:
  hosts: [Shop.Example.com]
  rules:
    - name: app
      match: [{ path: { type: PathPrefix, value: / } }]
      role: [authenticated]
`,
      );
      const run = await check(['--policies', directory, 'GET', 'http://shop.example.com/']);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('has 3 problem(s)');
      expect(run.stderr).toContain(
        `${join(directory, 'broken.yaml')}:5 (document 1) AccessPolicy default/broken spec.hosts[0]: must be a lower-case host name`,
      );
      expect(run.stderr).toContain('spec.rules[0].role: unknown field');
    } finally {
      await rm(bad.path, { recursive: true, force: true });
    }
  });

  it('--help documents the exit statuses', async () => {
    const run = await check(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      'Exit status: 0 allow, 3 unauthenticated (401), 4 forbidden (403), 2 usage or load error.',
    );
    expect(run.stdout).toContain('tenancy');
  });
});

describe('gatehouse check: guardrails', () => {
  const folder = useTempDirectory('gatehouse-check-guardrail-', 'all');
  beforeAll(async () => {
    await folder.write(
      'policies.yaml',
      `apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: shop, namespace: shop }
spec:
  hosts: [shop.example.com]
  rules:
    - name: everything
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [guest]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: platform }
spec:
  hosts: ['*.example.com']
  mode: Audit
  rules:
    - name: no-admin
      enforcement: Guardrail
      match: [{ path: { type: PathPrefix, value: /admin } }]
      action: Deny
    - name: ops-only
      enforcement: Guardrail
      match: [{ path: { type: PathPrefix, value: /ops } }]
      roles: [ops]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterRoleMapping
metadata: { name: ops }
spec:
  roles: [ops]
  subjects: [{ kind: User, name: olga }]
`,
    );
  });

  it("says when a guardrail decided, over a tenant's catch-all and in audit mode", async () => {
    const run = await check(['--policies', folder.path, 'GET', 'https://shop.example.com/admin']);
    expect(run.status).toBe(4);
    expect(run.stdout).toContain('policy:         ClusterAccessPolicy platform\n');
    expect(run.stdout).toContain(
      'guardrail:      platform/no-admin decided (checked before every other rule; audit mode does not apply)\n',
    );
    expect(run.stdout).not.toContain('mode:');
  });

  it('says when a request passed a guardrail and another rule decided', async () => {
    const run = await check([
      '--policies',
      folder.path,
      '--output',
      'json',
      '--user',
      'olga',
      'GET',
      'https://shop.example.com/ops',
    ]);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      outcome: 'allow',
      rule: 'everything',
      guardrail: { policy: 'platform', rule: 'ops-only', decided: false },
    });
  });
});
