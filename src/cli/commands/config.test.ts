import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../gatehouse.ts';

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'gatehouse-config-validate-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function validate(
  yaml: string,
  ...flags: string[]
): Promise<{ status: number; out: string; err: string }> {
  const file = join(folder, 'gatehouse.yaml');
  await writeFile(file, yaml);
  let out = '';
  let err = '';
  const status = await main(['config', 'validate', '--config', file, ...flags], {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    env: {},
    cwd: folder,
  });
  return { status, out, err };
}

const provider = 'providers: [{ name: corp, issuer: https://idp.example.com, clientId: a }]\n';

// Issue 18: a bad value must fail before the pod starts, in CI or a pre-install hook.
describe('gatehouse config validate', () => {
  it('lists every problem with its setting and file:line, and exits 1', async () => {
    const { status, err } = await validate(
      `publicUrl: auth.example.com\n${provider}sessions:\n  idleTimeout: 8 hours\ntrustedProxies: [10.0.0.0/33]\n`,
    );
    expect(status).toBe(1);
    expect(err).toContain('has 3 problem(s)');
    expect(err).toMatch(/publicUrl: must be an absolute http\(s\) URL \(.*gatehouse\.yaml:1:\d+\)/);
    expect(err).toMatch(/sessions\.idleTimeout: "8 hours" is not a duration/);
    expect(err).toMatch(/trustedProxies\[0\].*10\.0\.0\.0\/33/);
  });

  it('says a good configuration is valid (exit 0) and shows its warnings', async () => {
    const good = await validate(`publicUrl: https://auth.example.com\n${provider}`);
    expect(good).toMatchObject({ status: 0, err: '' });
    expect(good.out).toMatch(/gatehouse\.yaml is valid\n$/);
    const warned = await validate('publicUrl: https://auth.example.com\n');
    expect(warned.status).toBe(0);
    expect(warned.err).toContain('providers: no OpenID provider is configured');
  });

  // Issue 21: the development identity provider is started by `make run` only; a production
  // configuration that enables it would point its providers at nothing.
  it('warns that gatehouse serve never starts the development identity provider', async () => {
    const { status, err } = await validate(
      `publicUrl: https://auth.example.com\n${provider}devIdentityProvider: { enabled: true }\n`,
    );
    expect(status).toBe(0);
    expect(err).toMatch(
      /devIdentityProvider\.enabled: .*only `make run`.*gatehouse serve` does not/,
    );
  });

  it('treats warnings as problems with --strict', async () => {
    expect((await validate('publicUrl: https://auth.example.com\n', '--strict')).status).toBe(1);
  });

  it('refuses a missing subcommand with usage (exit 2)', async () => {
    let err = '';
    const status = await main(['config'], {
      stdout: () => undefined,
      stderr: (text) => (err += text),
      env: {},
      cwd: folder,
    });
    expect(status).toBe(2);
    expect(err).toContain('Usage: gatehouse config validate');
  });
});
