import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

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

/** The outcome of one re-read of a watched htpasswd file. */
export type HtpasswdReload =
  | { readonly ok: true; readonly users: number; readonly changed: boolean }
  | { readonly ok: false; readonly error: string };

export interface HtpasswdFileOptions {
  readonly path: string;
  /** Watch the file and re-read it on change (default true). */
  readonly watch?: boolean;
  /** Quiet time after the last change event before re-reading (default 100 ms). */
  readonly debounceMs?: number;
  /** Re-read this often whatever the watcher says (default 10 s; 0: never). */
  readonly pollIntervalMs?: number;
  /** Told after every re-read (not the first load): for logs and metrics. */
  readonly onReload?: ((result: HtpasswdReload) => void) | undefined;
}

/**
 * An htpasswd file kept current, like the policy files (policy/sources/files/file-source.ts):
 * removing a user (or changing a password) must take effect within seconds, not at the next
 * restart. The file's DIRECTORY is watched, because a Kubernetes Secret volume publishes an
 * update by swapping the `..data` symlink and editors save by renaming over the file; a watcher
 * on the file itself would keep watching the replaced inode. A periodic re-read covers file
 * systems whose events are unreliable (network volumes).
 *
 * The first load fails loudly (loadHtpasswdFile). A later file that does not parse, or cannot
 * be read mid-swap, leaves the last good users in force: a typo must not lock every machine
 * client out, and every problem is reported through `onReload` for the operator to fix.
 */
export class HtpasswdFile {
  readonly #options: HtpasswdFileOptions;
  #users: ReadonlyMap<string, string>;
  #watcher: FSWatcher | null = null;
  #poll: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #reloading: Promise<HtpasswdReload> | null = null;

  private constructor(options: HtpasswdFileOptions, users: ReadonlyMap<string, string>) {
    this.#options = options;
    this.#users = users;
  }

  /** Loads the file (throwing HtpasswdError or the read error) and starts watching it. */
  static async open(options: HtpasswdFileOptions): Promise<HtpasswdFile> {
    const file = new HtpasswdFile(options, await loadHtpasswdFile(options.path));
    if (options.watch !== false) file.#startWatching();
    return file;
  }

  /** The users of the last good version of the file. */
  users(): ReadonlyMap<string, string> {
    return this.#users;
  }

  /** Re-reads the file now; concurrent calls share one read. */
  reload(): Promise<HtpasswdReload> {
    this.#reloading ??= this.#read().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#poll !== null) clearInterval(this.#poll);
    this.#poll = null;
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#debounce = null;
  }

  async #read(): Promise<HtpasswdReload> {
    let result: HtpasswdReload;
    try {
      const users = await loadHtpasswdFile(this.#options.path);
      const changed = !sameEntries(users, this.#users);
      if (changed) this.#users = users;
      result = { ok: true, users: users.size, changed };
    } catch (error) {
      result = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    this.#options.onReload?.(result);
    return result;
  }

  #startWatching(): void {
    const directory = dirname(this.#options.path);
    try {
      this.#watcher = watch(directory, () => {
        this.#scheduleReload();
      });
      this.#watcher.on('error', () => {
        // The periodic re-read still picks up changes.
        this.#watcher?.close();
        this.#watcher = null;
      });
      this.#watcher.unref();
    } catch {
      this.#watcher = null; // e.g. inotify limits: rely on the periodic re-read
    }
    const pollMs = this.#options.pollIntervalMs ?? 10_000;
    if (pollMs > 0) {
      this.#poll = setInterval(() => {
        void this.reload();
      }, pollMs);
      this.#poll.unref();
    }
  }

  #scheduleReload(): void {
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      void this.reload();
    }, this.#options.debounceMs ?? 100);
    this.#debounce.unref();
  }
}

function sameEntries(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [user, hash] of a) if (b.get(user) !== hash) return false;
  return true;
}
