/**
 * The GitHub Actions workflows pass actionlint (built from its Go module by
 * scripts/actionlint/ensure-actionlint.sh), and actionlint really looks at them: a copy with a
 * typo in an expression, an unknown runner label or a job that needs a missing job fails.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');
const workflowsDir = resolve(repoRoot, '.github/workflows');

interface LintResult {
  readonly code: number;
  readonly output: string;
}

let actionlint: string;
let scratch: string | undefined;

beforeAll(async () => {
  const { stdout } = await run(
    'bash',
    [resolve(repoRoot, 'scripts/actionlint/ensure-actionlint.sh')],
    {
      cwd: repoRoot,
      timeout: 10 * 60_000,
    },
  );
  const path = stdout.trim().split('\n').at(-1);
  if (path === undefined || path === '') throw new Error('ensure-actionlint.sh printed no path');
  actionlint = path;
  scratch = await mkdtemp(join(tmpdir(), 'gatehouse-actionlint-'));
}, 11 * 60_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** Runs actionlint on the given files from `cwd`; never rejects on findings. */
async function lint(cwd: string, files: readonly string[]): Promise<LintResult> {
  try {
    const { stdout, stderr } = await run(actionlint, ['-no-color', ...files], { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof failure.code === 'number' ? failure.code : -1,
      output: (failure.stdout ?? '') + (failure.stderr ?? String(error)),
    };
  }
}

async function workflowFiles(): Promise<string[]> {
  return (await readdir(workflowsDir))
    .filter((name) => name.endsWith('.yml') || name.endsWith('.yaml'))
    .sort();
}

/** A copy of one workflow with `edit` applied, in its own .github/workflows under the scratch dir. */
async function brokenCopy(
  name: string,
  file: string,
  edit: (text: string) => string,
): Promise<string> {
  const original = await readFile(join(workflowsDir, file), 'utf8');
  const changed = edit(original);
  expect(changed).not.toBe(original);
  if (scratch === undefined) throw new Error('beforeAll did not create the scratch folder');
  const dir = join(scratch, name, '.github', 'workflows');
  await cp(workflowsDir, dir, { recursive: true });
  await writeFile(join(dir, file), changed);
  return join(dir, file);
}

describe('GitHub Actions workflows', () => {
  it('has the release and CI workflows', async () => {
    expect(await workflowFiles()).toEqual(expect.arrayContaining(['ci.yml', 'release.yml']));
  });

  it('pass actionlint', async () => {
    const files = await workflowFiles();
    const result = await lint(
      repoRoot,
      files.map((file) => join(workflowsDir, file)),
    );
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('pass actionlint for the example workflow users copy (examples/ci/policy-diff.yaml)', async () => {
    const result = await lint(repoRoot, [resolve(repoRoot, 'examples/ci/policy-diff.yaml')]);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('fails on an expression that reads an undefined step output', async () => {
    const file = await brokenCopy('expression', 'release.yml', (text) =>
      text.replace('${{ steps.build.outputs.digest }}', '${{ steps.biuld.outputs.digest }}'),
    );
    const result = await lint(dirname(file), [file]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/property "biuld" is not defined/);
  });

  it('fails on a job that needs a job that does not exist', async () => {
    const file = await brokenCopy('needs', 'release.yml', (text) =>
      text.replace('needs: version\n    runs-on', 'needs: versions\n    runs-on'),
    );
    const result = await lint(dirname(file), [file]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/job "image" needs job "versions" which does not exist/);
  });

  it('fails on a permission scope GitHub does not have', async () => {
    const file = await brokenCopy('permissions', 'release.yml', (text) =>
      text.replace('id-token: write # cosign keyless signing', 'id_token: write'),
    );
    const result = await lint(dirname(file), [file]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/unknown permission scope "id_token"/);
  });
});
