import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../../../test/fixtures/builders/cli.ts';
import { policy as app, prefix } from '../../../test/fixtures/builders/policy.ts';
import { useTempDirectory } from '../../../test/fixtures/builders/temp-directory.ts';
import { diffCommand, diffExitStatus } from './diff.ts';

/** The demo app's policy as a manifest, its admin area open to `adminRoles`. */
const policy = (adminRoles: string) =>
  stringify(
    app({
      name: 'app',
      hosts: ['app.example.com'],
      rules: [
        prefix('admin', '/admin', adminRoles.split(', ')),
        prefix('app', '/', ['authenticated']),
      ],
    }),
  );

describe('gatehouse diff', () => {
  const folder = useTempDirectory('gatehouse-diff-');

  async function sides(before: string, after: string) {
    await folder.write('before/app.yaml', before);
    await folder.write('after/app.yaml', after);
    return ['--from', `${folder.path}/before`, '--to', `${folder.path}/after`];
  }

  it('exits 1 and names who gains access where, with the rule, when access widens', async () => {
    const args = await sides(policy('app-admin'), policy('app-admin, support'));
    const { status, stdout } = await runCli(diffCommand, args);
    expect(status).toBe(diffExitStatus.widened);
    expect(stdout).toContain('host app.example.com');
    expect(stdout).toContain('any method /admin (and below)');
    expect(stdout).toContain('rule: demo/app/admin');
    expect(stdout).toContain('+ gains access: role support');
    expect(stdout).toContain('Access WIDENED');
  });

  it('exits 0 when access only narrows, and says who loses it', async () => {
    const args = await sides(policy('app-admin, support'), policy('app-admin'));
    const { status, stdout } = await runCli(diffCommand, args);
    expect(status).toBe(diffExitStatus.notWidened);
    expect(stdout).toContain('- loses access: role support');
  });

  it('answers JSON for CI bots', async () => {
    const args = await sides(policy('app-admin'), policy('app-admin, support'));
    const { stdout } = await runCli(diffCommand, [...args, '--output', 'json']);
    expect(JSON.parse(stdout)).toEqual({
      widened: true,
      notEnumerated: [],
      changes: [
        {
          host: 'app.example.com',
          path: '/admin (and below)',
          methods: ['any method'],
          before: 'demo/app/admin',
          after: 'demo/app/admin',
          gained: [{ kind: 'role', role: 'support' }],
          lost: [],
        },
      ],
    });
  });

  it('refuses unclear usage and unreadable policies with exit 2 and the fix', async () => {
    const missingTo = await runCli(diffCommand, ['--from', folder.path]);
    expect(missingTo.status).toBe(diffExitStatus.usageOrLoadError);
    expect(missingTo.stderr).toContain('give the proposed policy: --to DIR');
    const both = await runCli(diffCommand, ['--from', 'a', '--from-cluster', '--to', 'b']);
    expect(both.stderr).toContain('give exactly one of --from DIR and --from-cluster');
    const args = await sides(policy('app-admin'), 'kind: AccessPolicy\nspec: {}\n');
    const broken = await runCli(diffCommand, args);
    expect(broken.status).toBe(diffExitStatus.usageOrLoadError);
    expect(broken.stdout).toBe('');
  });
});
