import { describe, expect, it } from 'vitest';
import { checkCommand } from './check.ts';
import { policyTestCommand } from './policy-test.ts';
import { runCli } from '../../../test/fixtures/builders/cli.ts';
import { useTempDirectory } from '../../../test/fixtures/builders/temp-directory.ts';

/** A 15-minute billing area and a security-key vault (issue #19, step-up). */
const policyYaml = `apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: intranet }
spec:
  hosts: [intranet.example.com]
  rules:
    - name: billing
      match: [{ path: { type: PathPrefix, value: /billing } }]
      roles: [authenticated]
      authentication: { maxAge: 15m }
    - name: vault
      match: [{ path: { type: PathPrefix, value: /vault } }]
      roles: [authenticated]
      authentication: { amr: [hwk] }
`;

const temp = useTempDirectory('gatehouse-step-up-', 'all');

async function policies(): Promise<string> {
  await temp.write('policies/intranet.yaml', policyYaml);
  return `${temp.path}/policies`;
}

/** `gatehouse check --policies <the step-up policies> …ARGS GET https://intranet.example.com/PATH`. */
async function checkIntranet(path: string, ...args: string[]) {
  const dir = await policies();
  return runCli(checkCommand, [
    '--policies',
    dir,
    ...args,
    'GET',
    `https://intranet.example.com${path}`,
  ]);
}

describe('gatehouse check with step-up facts', () => {
  it('says which part of the step-up a sign-in does not meet', async () => {
    const stale = await checkIntranet('/billing', '--user', 'alice', '--signed-in-ago', '20m');
    expect(stale.status).toBe(3);
    expect(stale.stdout).toMatch(/^reason: +step-up-required: .+\(not met: maxAge\)$/m);
    const fresh = await checkIntranet(
      '/billing',
      ...['--user', 'alice', '--signed-in-ago', '14m', '--amr', 'pwd', '--amr', 'hwk'],
    );
    expect(fresh.stdout).toContain('outcome:        allow (200)\n');
  });

  it('refuses a malformed --signed-in-ago, and step-up facts without a user', async () => {
    const bad = await checkIntranet('/billing', '--user', 'alice', '--signed-in-ago', 'a while');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--signed-in-ago "a while" is not a duration in whole seconds');
    const anonymous = await checkIntranet('/billing', '--acr', 'gold');
    expect(anonymous.status).toBe(2);
    expect(anonymous.stderr).toContain('need --user or --email');
  });
});

describe('gatehouse test with step-up facts', () => {
  it('decides each case at one instant, so a sign-in exactly maxAge old passes every run', async () => {
    const dir = await policies();
    const file = await temp.write(
      'cases.yaml',
      `policies: ${dir}
cases:
  - name: exactly fifteen minutes
    request: { method: GET, url: https://intranet.example.com/billing }
    identity: { user: alice, signedInAgo: 15m }
    expect: { outcome: allow }
  - name: a second older
    request: { method: GET, url: https://intranet.example.com/billing }
    identity: { user: alice, signedInAgo: 901 }
    expect: { outcome: unauthenticated, reason: step-up-required }
  - name: a password is not a security key
    request: { method: GET, url: https://intranet.example.com/vault }
    identity: { user: alice, signedInAgo: 1m, amr: [pwd] }
    expect: { outcome: unauthenticated, reason: step-up-required }
`,
    );
    const run = await runCli(policyTestCommand, [file]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('3 passed, 0 failed');
    expect(run.status).toBe(0);
  });

  it('names a malformed signedInAgo', async () => {
    const dir = await policies();
    const file = await temp.write(
      'bad.yaml',
      `policies: ${dir}
cases:
  - name: bad
    request: { method: GET, url: https://intranet.example.com/billing }
    identity: { user: alice, signedInAgo: soon }
    expect: { outcome: allow }
`,
    );
    const run = await runCli(policyTestCommand, [file]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('signedInAgo');
    expect(run.stderr).toContain('"soon" is not a duration in whole seconds');
  });
});
