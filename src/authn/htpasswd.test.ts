import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HtpasswdError, loadHtpasswdFile, parseHtpasswd } from './htpasswd.ts';

let ciHash: string;
let deployHash: string;
let dir: string;

beforeAll(async () => {
  ciHash = await bcrypt.hash('ci-password', 4);
  // htpasswd -B writes $2y$; the algorithm is the same as $2b$.
  deployHash = (await bcrypt.hash('deploy-password', 4)).replace(/^\$2b\$/, '$2y$');
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-htpasswd-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseHtpasswd', () => {
  it('accepts bcrypt entries, skipping comments, blank lines and CRLF endings', () => {
    const text = `# machine clients\r\nci:${ciHash}\r\n\r\n  deploy:${deployHash}  \n`;
    const { users, problems } = parseHtpasswd(text, 'htpasswd');
    expect(problems).toEqual([]);
    expect([...users.keys()]).toEqual(['ci', 'deploy']);
    expect(users.get('ci')).toBe(ciHash);
  });

  it('refuses MD5, SHA-1, crypt and plaintext entries at load, naming the line and the user', () => {
    const text = [
      `ci:${ciHash}`,
      'legacy:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/',
      '# comment',
      'old:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      'des:rOcWdmcYhQ8Yk',
      'plain:hunter2-is-my-password',
      'sha512:$6$salt$abcdef',
    ].join('\n');
    const { users, problems } = parseHtpasswd(text, '/etc/gatehouse/htpasswd');
    expect([...users.keys()]).toEqual(['ci']);
    expect(problems.map((each) => each.line)).toEqual([2, 4, 5, 6, 7]);
    expect(problems[0]?.message).toMatch(
      /^\/etc\/gatehouse\/htpasswd:2: user "legacy" has an Apache MD5 \(\$apr1\$\) hash; only bcrypt/,
    );
    expect(problems[1]?.message).toContain('user "old" has a SHA-1');
    expect(problems[2]?.message).toContain('user "des"');
    expect(problems[3]?.message).toContain('user "plain" has a plaintext password');
    expect(problems[4]?.message).toContain('user "sha512"');
    // A problem never repeats the secret part of the line.
    const all = problems.map((each) => each.message).join('\n');
    for (const secret of ['HqJZimc', 'W6ph5Mm5', 'rOcWdmcYhQ8Yk', 'hunter2', 'abcdef']) {
      expect(all).not.toContain(secret);
    }
  });

  it('refuses duplicate users, entries without a colon and empty user names', () => {
    const text = [`ci:${ciHash}`, `ci:${deployHash}`, 'no-colon-here', `:${ciHash}`].join('\n');
    const { users, problems } = parseHtpasswd(text, 'secret/basic');
    expect(users.get('ci')).toBe(ciHash);
    expect(problems).toEqual([
      { line: 2, message: 'secret/basic:2: user "ci" appears more than once' },
      { line: 3, message: 'secret/basic:3: not a "user:hash" entry' },
      { line: 4, message: expect.stringContaining('user name is empty') },
    ]);
  });

  it('refuses truncated bcrypt hashes and the $2x$ variant', () => {
    const text = [`a:${ciHash.slice(0, -1)}`, `b:${ciHash.replace(/^\$2b\$/, '$2x$')}`].join('\n');
    const { users, problems } = parseHtpasswd(text, 'h');
    expect(users.size).toBe(0);
    expect(problems.map((each) => each.line)).toEqual([1, 2]);
    expect(problems[1]?.message).toContain('$2x$');
  });
});

describe('loadHtpasswdFile', () => {
  it('returns the users of a valid file', async () => {
    const path = join(dir, 'ok');
    await writeFile(path, `ci:${ciHash}\ndeploy:${deployHash}\n`);
    const users = await loadHtpasswdFile(path);
    expect(await bcrypt.compare('deploy-password', users.get('deploy') ?? '')).toBe(true);
  });

  it('throws one error listing every problem with its line', async () => {
    const path = join(dir, 'bad');
    await writeFile(path, `ci:${ciHash}\nlegacy:$apr1$x$y\nplain:pl41n-pw\n`);
    const error: unknown = await loadHtpasswdFile(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HtpasswdError);
    const message = (error as HtpasswdError).message;
    expect(message).toContain(`htpasswd ${path}: 2 invalid entries`);
    expect(message).toContain(`${path}:2: user "legacy"`);
    expect(message).toContain(`${path}:3: user "plain"`);
    expect(message).not.toContain('pl41n-pw');
  });
});
