import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BenchContext, smallPolicySet } from './scenarios.ts';

describe('BenchContext', () => {
  let scratch = '';
  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  // A full run prepares the small directory of (b)–(e) before (f) asks for its small policy set:
  // both were shared under 'policy-small', and (f) got the directory's path as its set.
  it('keeps the small policy directory and the small policy set of (f) apart', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'bench-context-'));
    const context = new BenchContext({
      serverCpu: undefined,
      redisUrl: 'redis://127.0.0.1:6379',
      scratchDirectory: scratch,
      oauth2ProxyBinary: '/nonexistent',
      largePolicySet: smallPolicySet,
    });
    try {
      const directory = await context.benchPolicyDirectory();
      const set = await context.policySet('small', smallPolicySet);
      expect(set.directory).not.toBe(directory);
      expect(set.sampleUrls.length).toBeGreaterThan(0);
      expect((await readdir(set.directory)).length).toBeGreaterThan(0);
      expect(await context.benchPolicyDirectory()).toBe(directory);
    } finally {
      await context.close();
    }
  });
});
