import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildInfo } from './build-info.ts';

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
