import { readFile } from 'node:fs/promises';

/**
 * Reads an Apache htpasswd file (one `user:hash` per line) for HTTP Basic authentication.
 *
 * Only bcrypt entries are accepted (`htpasswd -B`). The other formats htpasswd can write are
 * refused at load time rather than at the first login, so a weak secret never goes live:
 * - `$apr1$` (Apache MD5, 1000 MD5 rounds) and `{SHA}` (one unsalted SHA-1) are fast enough to
 *   brute-force on a GPU (OWASP Password Storage Cheat Sheet; Apache's own docs call them
 *   insecure);
 * - `crypt()` (DES) uses only the first 8 characters of the password;
 * - plaintext is no hash at all.
 * Problems name the line and the user, never the hash or the line's text: a plaintext entry's
 * second half is a password, and problems end up in logs.
 */
export interface HtpasswdProblem {
  /** 1-based line number. */
  readonly line: number;
  readonly message: string;
}

export interface ParsedHtpasswd {
  /** user name → bcrypt hash, for the entries that passed. */
  readonly users: Map<string, string>;
  readonly problems: HtpasswdProblem[];
}

/**
 * Modular-crypt bcrypt: `$2a$`, `$2b$` or `$2y$`, a two-digit cost, then 22 characters of salt
 * and 31 of checksum in bcrypt's base64 alphabet. `$2x$` (the pre-2011 crypt_blowfish bug
 * compatibility mode, CVE-2011-2483) is deliberately absent.
 */
const bcryptHash = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/** bcrypt's cost is log2 of the rounds; 4-31 is the range every implementation accepts. */
const minBcryptCost = 4;
const maxBcryptCost = 31;

// eslint-disable-next-line no-control-regex -- control characters are what is refused
const controlCharacters = /[\u0000-\u001F\u007F-\u009F]/;

/** What an entry's hash is, when it is not bcrypt: the message tells the operator what to do. */
function refusedFormat(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'an Apache MD5 ($apr1$) hash';
  if (hash.startsWith('{SHA}')) return 'a SHA-1 ({SHA}) hash';
  if (hash.startsWith('$2x$')) return 'a $2x$ bcrypt hash (CVE-2011-2483 compatibility mode)';
  if (/^\$(?:1|5|6|y|gy|7|sha1|md5)\$/.test(hash)) return 'a crypt(3) hash other than bcrypt';
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return 'a DES crypt() hash or a plaintext password';
  return 'a plaintext password or an unknown hash format';
}

const remedy = 'only bcrypt is accepted: re-create it with `htpasswd -B`';

/**
 * Parses htpasswd text. `source` (a file path or a secret name) prefixes each problem message so
 * that an operator with several secrets knows which one to fix.
 */
export function parseHtpasswd(text: string, source: string): ParsedHtpasswd {
  const users = new Map<string, string>();
  const problems: HtpasswdProblem[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const problem = (message: string): void => {
      problems.push({ line, message: `${source}:${line}: ${message}` });
    };
    const entry = raw.trim();
    if (entry === '' || entry.startsWith('#')) return;
    const colon = entry.indexOf(':');
    if (colon === -1) {
      problem('not a "user:hash" entry');
      return;
    }
    const user = entry.slice(0, colon);
    const hash = entry.slice(colon + 1);
    if (user === '' || controlCharacters.test(user)) {
      problem('the user name is empty or contains control characters');
      return;
    }
    const shown = JSON.stringify(user);
    const bcrypt = bcryptHash.exec(hash);
    if (bcrypt === null) {
      problem(`user ${shown} has ${refusedFormat(hash)}; ${remedy}`);
      return;
    }
    const cost = Number(bcrypt[1]);
    if (cost < minBcryptCost || cost > maxBcryptCost) {
      problem(
        `user ${shown} has a bcrypt cost of ${cost}, outside ${minBcryptCost}-${maxBcryptCost}`,
      );
      return;
    }
    if (users.has(user)) {
      // Refused rather than "last one wins": which password works would depend on file order.
      problem(`user ${shown} appears more than once`);
      return;
    }
    users.set(user, hash);
  });
  return { users, problems };
}

/** Every problem of one htpasswd file, so the operator fixes them all in one go. */
export class HtpasswdError extends Error {
  readonly problems: readonly HtpasswdProblem[];

  constructor(source: string, problems: readonly HtpasswdProblem[]) {
    super(
      `htpasswd ${source}: ${problems.length} invalid ${problems.length === 1 ? 'entry' : 'entries'}\n` +
        problems.map((each) => `  ${each.message}`).join('\n'),
    );
    this.name = 'HtpasswdError';
    this.problems = problems;
  }
}

/**
 * Loads and checks an htpasswd file (typically a mounted Secret).
 * @throws HtpasswdError listing every problem; the file's own read error (ENOENT...) as is.
 */
export async function loadHtpasswdFile(path: string): Promise<ReadonlyMap<string, string>> {
  const text = await readFile(path, 'utf8');
  const { users, problems } = parseHtpasswd(text, path);
  if (problems.length > 0) throw new HtpasswdError(path, problems);
  return users;
}
