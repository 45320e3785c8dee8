import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { policyTestCommand } from './policy-test.ts';
import { projectRoot, runCli, type CliRun } from '../../../test/fixtures/builders/cli.ts';
import { useTempDirectory } from '../../../test/fixtures/builders/temp-directory.ts';
import { policy, prefix } from '../../../test/fixtures/builders/policy.ts';

const examplePolicies = join(projectRoot, 'examples/policies');

const runTests = (args: readonly string[]): Promise<CliRun> => runCli(policyTestCommand, args);

const temp = useTempDirectory('gatehouse-test-', 'all');
const caseFile = (name: string, text: string): Promise<string> => temp.write(name, text);

describe('gatehouse test', () => {
  it('passes on examples/policy-tests.yaml', async () => {
    const run = await runTests(['examples/policy-tests.yaml']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    const caseLines = lines.slice(0, -2);
    expect(caseLines.length).toBeGreaterThanOrEqual(20);
    for (const line of caseLines) expect(line).toMatch(/^✓ /);
    expect(lines.at(-1)).toBe(`${String(caseLines.length)} passed, 0 failed`);
  });

  it('fails (exit 1) on a wrong expectation and says what it got', async () => {
    const file = await caseFile(
      'wrong.yaml',
      `policies: ${examplePolicies}
cases:
  - name: public is open
    request: { method: GET, url: http://app.localhost/public }
    expect: { outcome: allow }
  - name: public is closed
    request: { method: GET, url: http://app.localhost/public }
    identity: { user: bob@example.com }
    expect: { outcome: forbidden, reason: missing-role }
  - name: admin by the wrong rule
    request: { method: GET, url: http://app.localhost/admin }
    expect: { outcome: unauthenticated, rule: demo/app/app }
`,
    );
    const run = await runTests([file]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe(
      '✓ public is open\n' +
        '✗ public is closed — expected forbidden/missing-role, got allow/role-granted (rule demo/app/public)\n' +
        '✗ admin by the wrong rule — expected unauthenticated by rule demo/app/app, got unauthenticated/authentication-required (rule demo/app/admin)\n' +
        '\n1 passed, 2 failed\n',
    );
  });

  it('exits 2 for a malformed case file, listing every problem by case index and field', async () => {
    const file = await caseFile(
      'malformed.yaml',
      `policies: ${examplePolicies}
settings: { noMatch: maybe }
cases:
  - name: fine
    request: { method: GET, url: http://app.localhost/ }
    expect: { outcome: unauthenticated }
  - request: { method: GET, url: app.localhost/ }
    identity: { groups: admins }
    expect: { outcome: allowed, rule: not a rule }
  - name: fine
    request: { method: GET, url: http://app.localhost/ }
    expect: { outcome: allow }
`,
    );
    const run = await runTests([file]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    const problems = run.stderr.split('\n').slice(1, -1);
    expect(problems).toEqual([
      `  ${file}:2 settings.noMatch: must be one of deny, authenticate, allow`,
      `  ${file}:7 cases[1].name: is required: a short description`,
      `  ${file}:7 cases[1].request.url: "app.localhost/" is not an absolute http:// or https:// URL`,
      `  ${file}:8 cases[1].identity.user: is required (or email): who is asking`,
      `  ${file}:8 cases[1].identity.groups: must be a list of group names`,
      `  ${file}:9 cases[1].expect.outcome: must be one of allow, unauthenticated, forbidden`,
      `  ${file}:9 cases[1].expect.rule: must be namespace/policy/rule (policy/rule for a ClusterAccessPolicy), or null for no rule`,
      `  ${file}:10 cases[2].name: duplicate case name "fine"`,
    ]);
    expect(run.stderr.split('\n')[0]).toBe(`gatehouse test: ${file} has 8 problem(s):`);
  });

  it('exits 2 for YAML that does not parse, and for a file that names no policy', async () => {
    const broken = await runTests([await caseFile('broken.yaml', 'cases: [\n')]);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toContain('YAML syntax error');

    const noPolicy = await runTests([
      await caseFile(
        'no-policy.yaml',
        'cases:\n  - name: a\n    request: { method: GET, url: http://a.test/ }\n    expect: { outcome: allow }\n',
      ),
    ]);
    expect(noPolicy.status).toBe(2);
    expect(noPolicy.stderr).toContain('policies: is required (or give --policies DIR)');
  });

  it('resolves policies relative to the file; --policies overrides it relative to the cwd', async () => {
    const file = await temp.write(
      'nested/cases.yaml',
      `policies: ./does-not-exist
cases:
  - name: open
    request: { method: GET, url: http://app.localhost/public }
    expect: { outcome: allow }
`,
    );
    const relative = await runTests([file]);
    expect(relative.status).toBe(2);
    expect(relative.stderr).toContain(join(temp.path, 'nested', 'does-not-exist'));

    const overridden = await runTests([file, '--policies', 'examples/policies']);
    expect(overridden.status).toBe(0);
    expect(overridden.stdout).toContain('✓ open\n');
  });

  it('--output json prints one object per run with each case', async () => {
    const file = await caseFile(
      'json.yaml',
      `policies: ${examplePolicies}
settings: { superRole: null }
cases:
  - name: no super role
    request: { method: GET, url: http://app.localhost/admin }
    identity: { user: root, groups: [gatehouse-admins] }
    expect: { outcome: forbidden, reason: missing-role, rule: demo/app/admin }
`,
    );
    const run = await runTests([file, '--output', 'json']);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      passed: 1,
      failed: 0,
      cases: [
        {
          name: 'no super role',
          passed: true,
          expected: { outcome: 'forbidden', reason: 'missing-role', rule: 'demo/app/admin' },
          actual: {
            outcome: 'forbidden',
            reason: 'missing-role',
            rule: 'demo/app/admin',
            mode: 'Enforce',
            auditOverride: false,
            guardrail: false,
          },
        },
      ],
    });
  });

  it('an Audit policy is tested by what it would do, and the line says it is allowed meanwhile', async () => {
    await temp.write(
      'audit-policies/reports.yaml',
      stringify(
        policy({
          kind: 'ClusterAccessPolicy',
          name: 'reports',
          hosts: ['reports.example.com'],
          mode: 'Audit',
          rules: [prefix('finance', '/finance', ['finance'])],
        }),
      ),
    );
    const file = await caseFile(
      'audit.yaml',
      `policies: ./audit-policies
cases:
  - name: finance needs the finance role
    request: { method: GET, url: https://reports.example.com/finance }
    identity: { user: eve@example.com }
    expect: { outcome: forbidden, reason: missing-role, rule: reports/finance }
`,
    );
    const run = await runTests([file]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      '✓ finance needs the finance role [audit: allowed while in audit]\n',
    );
  });

  it('usage errors exit 2', async () => {
    expect((await runTests([])).status).toBe(2);
    expect((await runTests(['a.yaml', '--output', 'xml'])).stderr).toContain('text or json');
    expect((await runTests([join(temp.path, 'missing.yaml')])).stderr).toContain('cannot read');
    const help = await runTests(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Exit status: 0 every case passed, 1 a case failed, 2');
  });
});
