/**
 * The container image's build, replayed without Docker (scripts/image/build-without-docker.sh,
 * `make image-check`): it compiles, installs production dependencies only, starts from a
 * read-only tree as UID 65532, answers /readyz and a check, and exits 0 on SIGTERM.
 *
 * Slow (two `npm ci` runs, served from the npm cache with --prefer-offline): skip it with
 * GATEHOUSE_SKIP_IMAGE=1 when iterating on something else.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../../..');
const skip = process.env.GATEHOUSE_SKIP_IMAGE === '1';
const timeoutMs = 15 * 60_000;

describe.skipIf(skip)('container image build (without Docker)', () => {
  it(
    'builds, keeps devDependencies out, serves from a read-only tree and stops on SIGTERM',
    async () => {
      const { stderr } = await run('bash', ['scripts/image/build-without-docker.sh'], {
        cwd: repoRoot,
        timeout: timeoutMs,
        maxBuffer: 32 * 1024 * 1024,
      }).catch((error: unknown) => {
        const failure = error as { stderr?: string; stdout?: string; message: string };
        throw new Error(
          `image check failed: ${failure.message}\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`,
        );
      });
      expect(stderr).toContain('no devDependency');
      expect(stderr).toContain('ready: /readyz 200');
      expect(stderr).toMatch(/OK: .*exit 0 on SIGTERM/);
    },
    timeoutMs,
  );
});
