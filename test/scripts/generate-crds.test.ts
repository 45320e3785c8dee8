import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeDifference, generateCrds } from '../../scripts/generate-crds.ts';
import type { CliIo } from '../../src/cli/command.ts';
import { crdYaml } from '../../src/policy/crd.ts';

const chartFile = 'charts/gatehouse/crds/gatehouse.dev_crds.yaml';
const manifestFile = 'manifests/crds/gatehouse.dev_crds.yaml';

let cwd: string;
let out: string;
let err: string;
let io: CliIo;

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'gatehouse-generate-'));
  out = '';
  err = '';
  io = {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    env: {},
    cwd,
  };
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const run = (...args: string[]): Promise<number> => generateCrds(args, io);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('scripts/generate-crds.ts', () => {
  it('writes the CRDs to the chart and the plain manifests, creating the folders', async () => {
    expect(await run()).toBe(0);
    expect(await readFile(join(cwd, chartFile), 'utf8')).toBe(crdYaml());
    expect(await readFile(join(cwd, manifestFile), 'utf8')).toBe(crdYaml());
    expect(out).toContain(`${chartFile}: written`);
    expect(out).toContain(`${manifestFile}: written`);
  });

  it('says the files are up to date on a second run', async () => {
    await run();
    out = '';
    expect(await run()).toBe(0);
    expect(out).toBe(`${chartFile}: up to date\n${manifestFile}: up to date\n`);
  });

  it('--check passes when the committed files match the source', async () => {
    await run();
    expect(await run('--check')).toBe(0);
    expect(err).toBe('');
  });

  it('--check fails, writes nothing and names the missing files', async () => {
    expect(await run('--check')).toBe(1);
    expect(err).toContain(`${chartFile}: missing`);
    expect(err).toContain(`${manifestFile}: missing`);
    expect(err).toContain('run "node scripts/generate-crds.ts"');
    expect(await exists(join(cwd, chartFile))).toBe(false);
  });

  it('--check fails on a hand-edited file, shows the drifted lines and leaves it alone', async () => {
    await run();
    const edited = crdYaml().replace('maxItems: 64', 'maxItems: 1000');
    await writeFile(join(cwd, manifestFile), edited);
    err = '';
    expect(await run('--check')).toBe(1);
    expect(err).toContain(`${manifestFile}: stale`);
    expect(err).not.toContain(`${chartFile}: stale`);
    expect(err).toMatch(/^-\s+maxItems: 1000$/m);
    expect(err).toMatch(/^\+\s+maxItems: 64$/m);
    expect(await readFile(join(cwd, manifestFile), 'utf8')).toBe(edited);
  });

  it('refuses an unexpected argument with usage (exit 2)', async () => {
    expect(await run('helm')).toBe(2);
    expect(err).toContain('unexpected "helm"');
    expect(err).toContain('Usage: node scripts/generate-crds.ts');
  });

  it('prints its usage with --help', async () => {
    expect(await run('--help')).toBe(0);
    expect(out).toContain('--check');
  });
});

describe('describeDifference', () => {
  it('shows one hunk with context, line numbers and both sides', () => {
    const before = ['a', 'b', 'c', 'd', 'old', 'e', 'f', 'g', 'h'].join('\n');
    const after = ['a', 'b', 'c', 'd', 'new1', 'new2', 'e', 'f', 'g', 'h'].join('\n');
    expect(describeDifference('x.yaml', before, after)).toBe(
      [
        '--- x.yaml (committed)',
        '+++ x.yaml (generated)',
        '@@ -2,7 +2,8 @@',
        ' b',
        ' c',
        ' d',
        '-old',
        '+new1',
        '+new2',
        ' e',
        ' f',
        ' g',
      ].join('\n'),
    );
  });

  it('cuts a long difference short', () => {
    const before = Array.from({ length: 100 }, (_, i) => `old ${i}`).join('\n');
    const after = Array.from({ length: 100 }, (_, i) => `new ${i}`).join('\n');
    const text = describeDifference('x.yaml', before, after);
    expect(text).toContain('... (160 more lines)');
    expect(text.split('\n')).toHaveLength(3 + 40 + 1);
  });
});
