/**
 * Removing a user from the htpasswd file takes effect within seconds (issue 15, finding 5): the
 * file is watched (a Kubernetes Secret volume swaps a `..data` symlink, so the directory is
 * watched, with a periodic re-read as a fallback), and a file that no longer parses leaves the
 * last good one in force. Real parts: the file system and bcrypt, through BasicAuthenticator.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthRequest } from '../../../src/authz/auth-request.ts';
import { BasicAuthenticator } from '../../../src/authn/basic-auth.ts';
import { HtpasswdFile, type HtpasswdReload } from '../../../src/authn/htpasswd.ts';
import { MemoryLoginThrottle } from '../../../src/authn/login-throttle-memory.ts';

let dir: string;
let ciLine: string;
let backupLine: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-htpasswd-reload-'));
  ciLine = `ci-bot:${await bcrypt.hash('ci-password', 4)}`;
  backupLine = `backup:${await bcrypt.hash('backup-password', 4)}`;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function basicRequest(user: string, password: string): AuthRequest {
  const encoded = Buffer.from(`${user}:${password}`).toString('base64');
  return {
    credentials: { authorization: `Basic ${encoded}` },
    clientIp: '10.0.0.1',
  } as unknown as AuthRequest;
}

async function until(condition: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('htpasswd reload', () => {
  it('refuses a removed user within seconds, keeps the last good file on a parse error', async () => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, `${ciLine}\n${backupLine}\n`);
    const reloads: HtpasswdReload[] = [];
    const file = await HtpasswdFile.open({
      path,
      debounceMs: 20,
      onReload: (result) => reloads.push(result),
    });
    try {
      const basic = new BasicAuthenticator({
        users: () => file.users(),
        throttle: new MemoryLoginThrottle({ maxRetries: 100, findTimeMs: 60_000, banTimeMs: 1 }),
        realm: 'test',
      });
      expect((await basic.authenticate(basicRequest('backup', 'backup-password'))).kind).toBe(
        'identified',
      );

      // Removed by an atomic replace, as editors and Secret volumes do.
      await writeFile(`${path}.new`, `${ciLine}\n`);
      await rename(`${path}.new`, path);
      await until(async () => {
        const result = await basic.authenticate(basicRequest('backup', 'backup-password'));
        return result.kind === 'rejected';
      });
      expect((await basic.authenticate(basicRequest('ci-bot', 'ci-password'))).kind).toBe(
        'identified',
      );

      // A broken file: the last good users stay in force, and the failure is reported.
      await writeFile(path, `${ciLine}\nlegacy:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n`);
      await until(() => reloads.some((result) => !result.ok));
      expect([...file.users().keys()]).toEqual(['ci-bot']);
      expect(reloads.find((result) => !result.ok)).toMatchObject({ ok: false });
    } finally {
      file.stop();
    }
  });
});
