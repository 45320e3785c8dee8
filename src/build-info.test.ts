import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildInfo } from './build-info.ts';
import { main } from './cli/gatehouse.ts';
import { Metrics } from './metrics/metrics.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'gatehouse-build-info-'));
  await writeFile(join(root, 'package.json'), JSON.stringify({ version: '1.2.3' }));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const commit = 'a'.repeat(40);

describe('buildInfo', () => {
  it('reads the version from package.json and the commit from GATEHOUSE_BUILD_COMMIT', () => {
    expect(buildInfo({ GATEHOUSE_BUILD_COMMIT: 'abc1234' }, root)).toEqual({
      version: '1.2.3',
      commit: 'abc1234',
      node: process.version,
    });
  });

  it('follows .git/HEAD to the commit in a checkout, and says unknown elsewhere', async () => {
    expect(buildInfo({}, root).commit).toBe('unknown');
    await mkdir(join(root, '.git', 'refs', 'heads'), { recursive: true });
    await writeFile(join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    await writeFile(join(root, '.git', 'refs', 'heads', 'main'), `${commit}\n`);
    expect(buildInfo({}, root).commit).toBe(commit);
  });

  it('ignores a commit variable that is not a hash (it becomes a label value)', () => {
    expect(buildInfo({ GATEHOUSE_BUILD_COMMIT: 'x"} 1\nevil' }, root).commit).toBe('unknown');
  });
});

describe('gatehouse version and gatehouse_build_info', () => {
  it('prints the version, commit and Node.js version, for version and --version alike', async () => {
    for (const argv of [['version'], ['--version']]) {
      let out = '';
      const status = await main(argv, {
        stdout: (text) => (out += text),
        stderr: () => undefined,
        env: { GATEHOUSE_BUILD_COMMIT: 'abc1234' },
        cwd: root,
      });
      expect(status).toBe(0);
      expect(out).toMatch(/^gatehouse \d+\.\d+\.\d+\ncommit abc1234\nnode v\d+/);
    }
  });

  it('exports gatehouse_build_info 1 with the version label', async () => {
    const text = await new Metrics({ collectProcessMetrics: false }).registry.metrics();
    expect(text).toMatch(
      /^gatehouse_build_info\{version="\d+\.\d+\.\d+",commit="[^"]+",node="v\d+[^"]*"\} 1$/m,
    );
  });
});
