/**
 * Policy from a directory of YAML manifests (the same CRD manifests `kubectl apply` takes), for
 * local runs and single-binary deployments. Every `*.yaml`/`*.yml` below the directory is read;
 * names starting with "." are skipped, which also skips the `..data`/`..2025_…` twins of a
 * mounted ConfigMap (the visible names are symlinks into them). Any problem in any file refuses
 * the whole reload and keeps the last good snapshot, so a half-edited file can never open or
 * close access by accident.
 *
 * A file rewritten in place (`>` in a shell, `kubectl cp`, editors without atomic save) is
 * truncated first and filled afterwards, and each moment of it may parse as a valid but smaller
 * policy: an empty file, or one cut off before its `Deny` rule, opened `/admin` for that window.
 * Two guards: a reload reads only files that stayed the same (inode, size, mtime) across a quiet
 * period (`stableMs`) around the read, and a file that held objects and now holds none refuses
 * the reload until it is deleted or filled again. Atomic replacement (write a temporary file, then
 * rename it over the old one) needs neither; docs/troubleshooting.md says how.
 */
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type {
  PolicyChangeListener,
  PolicyProblem,
  PolicySource,
  ReloadListener,
  ReloadResult,
  Unsubscribe,
} from '../../policy-source.ts';
import { buildSnapshot } from '../../snapshot.ts';
import type { BuildSnapshotOptions, PolicySnapshot } from '../../snapshot.ts';
import { SnapshotHolder } from '../../snapshot-holder.ts';
import { PolicyDocumentLoader } from './load-policy-documents.ts';
import type { LoadOptions, LoadedPolicies } from './load-policy-documents.ts';

export { PolicyDocumentLoader, loadPolicyDocuments } from './load-policy-documents.ts';
export type { LoadOptions, LoadedPolicies, PolicyFile } from './load-policy-documents.ts';

export interface FilePolicySourceOptions {
  readonly directory: string;
  readonly logger: Logger;
  /** Clock for snapshot times and first-seen creation timestamps. Default Date.now. */
  readonly now?: () => number;
  /** Quiet period after the last change before reloading (editors write in bursts). Default 100 ms. */
  readonly debounceMs?: number;
  /** Rescan this often even without change notifications. Default 10 s. */
  readonly pollIntervalMs?: number;
  /**
   * A reload reads the files only once their inode, size and modification time stayed the same
   * for this long around the read, so a file still being written is not loaded half-way.
   * Default 200 ms.
   */
  readonly stableMs?: number;
  /** Give up waiting for files to settle after this long and refuse the reload. Default 10 s. */
  readonly maxSettleMs?: number;
  /** Watch the directory for changes. Default true; tests may call reload() instead. */
  readonly watch?: boolean;
  /** Passed to buildSnapshot (e.g. a tenancy filter). */
  readonly snapshotOptions?: Pick<BuildSnapshotOptions, 'admitHost'>;
}

const manifestExtension = /\.ya?ml$/i;

/** Every manifest file below `directory`, sorted so loads are deterministic. */
export async function listManifestFiles(directory: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(path);
      else if (manifestExtension.test(entry.name)) {
        // Follows file symlinks (ConfigMap mounts) but not directory symlinks (no cycles).
        if (entry.isFile() || (entry.isSymbolicLink() && (await stat(path)).isFile())) {
          found.push(path);
        }
      }
    }
  };
  await visit(directory);
  return found.sort();
}

/** The directory and its non-hidden subdirectories (the ones listManifestFiles reads). */
async function listDirectories(root: string): Promise<string[]> {
  const found = [root];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || !entry.isDirectory()) continue;
    found.push(...(await listDirectories(join(root, entry.name))));
  }
  return found;
}

/** What a file looked like: a change of any part means it is being written or replaced. */
type FileState = string;

/** Inode, size and modification time (ns) of each file; `gone` for one that vanished. */
async function fileStates(paths: readonly string[]): Promise<Map<string, FileState>> {
  const states = new Map<string, FileState>();
  await Promise.all(
    paths.map(async (path) => {
      try {
        const info = await stat(path, { bigint: true });
        states.set(path, `${String(info.ino)}:${String(info.size)}:${String(info.mtimeNs)}`);
      } catch {
        states.set(path, 'gone');
      }
    }),
  );
  return states;
}

/** The first path whose state differs between the two, or undefined when none does. */
function changedFile(
  before: ReadonlyMap<string, FileState>,
  after: ReadonlyMap<string, FileState>,
): string | undefined {
  for (const [path, state] of after) if (before.get(path) !== state) return path;
  for (const path of before.keys()) if (!after.has(path)) return path;
  return undefined;
}

/**
 * SHA-256 over every file's path, size and bytes, in order: equal digests mean the same files
 * with the same content. Read one at a time, as raw bytes, so no text is kept.
 */
async function contentDigest(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) {
    const bytes = await readFile(path);
    hash.update(`${path}\0${String(bytes.length)}\0`).update(bytes);
  }
  return hash.digest('hex');
}

function plural(count: number, noun: string): string {
  return `${String(count)} ${noun}${count === 1 ? '' : 's'}`;
}

export class FilePolicySource implements PolicySource {
  readonly name = 'files';
  readonly #options: FilePolicySourceOptions;
  readonly #now: () => number;
  readonly #holder: SnapshotHolder;
  readonly #reloadListeners = new Set<ReloadListener>();
  /** First-seen times of objects without creationTimestamp, stable across reloads. */
  #firstSeen = new Map<string, string>();
  /** Objects per file in the last good load, to notice a file emptied by a rewrite in place. */
  #objectsPerFile = new Map<string, number>();
  /**
   * contentDigest() of the files of the last good load. A reload that finds the same bytes skips
   * parsing: the periodic rescan used to parse and build everything again every 10 s, which for
   * 10,000 policies kept a core a third busy and held two snapshots at once (issue 17).
   */
  #loadedDigest: string | null = null;
  /**
   * One non-recursive watcher per directory. Node's recursive `fs.watch` on Linux watches the
   * files themselves and keeps watching a file that an atomic save (rename over it) replaced,
   * so later edits went unnoticed; a directory watcher sees every rename and write below it.
   */
  readonly #watchers = new Map<string, FSWatcher>();
  #poll: NodeJS.Timeout | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** Reloads run one after another, never interleaved. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: FilePolicySourceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#holder = new SnapshotHolder(this.name, options.logger);
  }

  /** Loads once, then watches. Rejects only when the directory cannot be read at all. */
  async start(): Promise<void> {
    await readdir(this.#options.directory); // a wrong path is a configuration error: fail loudly
    await this.reload();
    if (this.#options.watch === false) return;
    await this.#syncWatchers();
    // A safety net for file systems without change notifications (some network and overlay
    // mounts): an unchanged reload costs reading and hashing the files, and swaps nothing.
    this.#poll = setInterval(() => {
      this.#schedule();
    }, this.#options.pollIntervalMs ?? 10_000);
    this.#poll.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    if (this.#poll !== null) clearInterval(this.#poll);
    this.#poll = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#queue;
  }

  current(): PolicySnapshot | null {
    return this.#holder.current();
  }

  ready(): boolean {
    return this.#holder.current() !== null;
  }

  onChange(listener: PolicyChangeListener): Unsubscribe {
    return this.#holder.onChange(listener);
  }

  onReload(listener: ReloadListener): Unsubscribe {
    this.#reloadListeners.add(listener);
    return () => {
      this.#reloadListeners.delete(listener);
    };
  }

  /** Reads the directory now (queued behind a running reload). */
  reload(): Promise<ReloadResult> {
    const next = this.#queue.then(async () => {
      const result = await this.#load();
      if (this.#watchers.size > 0) await this.#syncWatchers();
      return result;
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Watches the directory and every non-hidden subdirectory; forgets ones that are gone. */
  async #syncWatchers(): Promise<void> {
    let directories: string[];
    try {
      directories = await listDirectories(this.#options.directory);
    } catch {
      return; // the next reload reports the unreadable directory
    }
    if (this.#stopped) return; // stop() ran while we listed
    const wanted = new Set(directories);
    for (const [directory, watcher] of this.#watchers) {
      if (!wanted.has(directory)) {
        watcher.close();
        this.#watchers.delete(directory);
      }
    }
    for (const directory of wanted) {
      if (this.#watchers.has(directory)) continue;
      try {
        const watcher = watch(directory, () => {
          this.#schedule();
        });
        watcher.on('error', (error) => {
          this.#options.logger.warn(
            { err: error, directory },
            'policy directory watch failed; changes are still picked up by the periodic rescan',
          );
          watcher.close();
          this.#watchers.delete(directory);
        });
        this.#watchers.set(directory, watcher);
      } catch {
        // Vanished between listing and watching: the next reload re-syncs.
      }
    }
  }

  #schedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.reload();
    }, this.#options.debounceMs ?? 100);
  }

  async #load(): Promise<ReloadResult> {
    const started = this.#now();
    let result: ReloadResult;
    try {
      result = await this.#attempt();
    } catch (error) {
      // A bug must not leave a rejected promise behind the watcher: refuse and keep the snapshot.
      result = { ok: false, problems: [{ path: '', message: `reload failed: ${String(error)}` }] };
    }
    if (result.ok) {
      // An unchanged reload (a touched file, an editor's swap file) is not news.
      const log = result.changed ? this.#options.logger.info : this.#options.logger.debug;
      log.call(
        this.#options.logger,
        {
          source: this.name,
          version: result.version,
          changed: result.changed,
          counts: result.counts,
          durationMs: this.#now() - started,
        },
        result.changed ? 'policy loaded' : 'policy unchanged',
      );
    } else {
      for (const problem of result.problems) {
        const { message, path, ...location } = problem;
        this.#options.logger.warn({ source: this.name, ...location, field: path }, message);
      }
      this.#options.logger.error(
        { source: this.name, directory: this.#options.directory, problems: result.problems.length },
        'policy reload refused; keeping the last good snapshot',
      );
    }
    for (const listener of this.#reloadListeners) {
      try {
        listener(result);
      } catch (error) {
        this.#options.logger.error({ err: error }, 'policy reload listener failed');
      }
    }
    return result;
  }

  /**
   * Every manifest file, loaded while nothing changed: the directory listing and each file's state
   * are taken, the quiet period passes, the files are read and loaded one by one, and the listing
   * and states are taken again; any difference starts over. A string says which file never
   * settled; `loaded: null` says the files hold exactly the bytes of the last good load, which
   * would load the same snapshot again.
   *
   * Each file is loaded as soon as it is read and its text is let go, rather than all texts read
   * first and loaded after: with 10,000 policies the texts are 17 MB that would otherwise stay
   * alive beside everything loaded from them (issue 17). The time spent loading does not count
   * against `maxSettleMs`, which bounds how long files are waited for.
   */
  async #loadSettledFiles(options: () => LoadOptions): Promise<
    | {
        readonly loaded: LoadedPolicies | null;
        readonly paths: readonly string[];
        readonly digest: string;
      }
    | { readonly unsettled: string }
  > {
    const quietMs = this.#options.stableMs ?? 200;
    let giveUpAt = performance.now() + (this.#options.maxSettleMs ?? 10_000);
    let paths = await listManifestFiles(this.#options.directory);
    let before = await fileStates(paths);
    for (;;) {
      if (quietMs > 0) await sleep(quietMs);
      const digest = await contentDigest(paths);
      let loaded: LoadedPolicies | null = null;
      if (digest !== this.#loadedDigest) {
        const loader = new PolicyDocumentLoader(options());
        let loadingMs = 0;
        for (const path of paths) {
          const text = await readFile(path, 'utf8');
          const started = performance.now();
          loader.add({ path, text });
          loadingMs += performance.now() - started;
        }
        giveUpAt += loadingMs;
        loaded = loader.result();
      }
      const pathsAfter = await listManifestFiles(this.#options.directory);
      const after = await fileStates(pathsAfter);
      const changed = changedFile(before, after);
      if (changed === undefined) return { loaded, paths, digest };
      if (performance.now() >= giveUpAt || this.#stopped) return { unsettled: changed };
      paths = pathsAfter;
      before = after;
    }
  }

  async #attempt(): Promise<ReloadResult> {
    const now = new Date(this.#now()).toISOString();
    // First-seen times of this attempt's objects only: a read that is started over must not
    // remember objects that are gone by the read that counts.
    let seenNow = new Map<string, string>();
    const loadOptions = (): LoadOptions => {
      seenNow = new Map();
      const seen = seenNow;
      return {
        creationTimestampFor: (key) => {
          const time = this.#firstSeen.get(key) ?? now;
          seen.set(key, time);
          return time;
        },
      };
    };
    let loaded: LoadedPolicies | null;
    let paths: readonly string[];
    let digest: string;
    try {
      const read = await this.#loadSettledFiles(loadOptions);
      if ('unsettled' in read) {
        // Written to without pause for longer than maxSettleMs: try again later, keep serving.
        if (this.#watchers.size > 0) this.#schedule();
        const problem: PolicyProblem = {
          file: read.unsettled,
          path: '',
          message: `still changing after ${String(this.#options.maxSettleMs ?? 10_000)} ms; not loaded (replace files atomically: write a temporary file, then rename it)`,
        };
        return { ok: false, problems: [problem] };
      }
      ({ loaded, paths, digest } = read);
    } catch (error) {
      // Deleted or unreadable while we looked: refuse, keep the last good snapshot.
      const problem: PolicyProblem = {
        file: this.#options.directory,
        path: '',
        message: `cannot read: ${String(error)}`,
      };
      return { ok: false, problems: [problem] };
    }

    const current = this.#holder.current();
    if (loaded === null) {
      // The bytes of the last good load: the same objects, first-seen times and snapshot.
      if (current === null) throw new Error('policy files unchanged since a load without snapshot');
      return { ok: true, version: current.version, changed: false, counts: current.counts };
    }
    if (loaded.problems.length > 0) return { ok: false, problems: loaded.problems };
    const objectsPerFile = new Map<string, number>(paths.map((path) => [path, 0]));
    for (const file of loaded.files) objectsPerFile.set(file, (objectsPerFile.get(file) ?? 0) + 1);
    const emptied = this.#emptiedFiles(objectsPerFile);
    if (emptied.length > 0) return { ok: false, problems: emptied };
    this.#objectsPerFile = objectsPerFile;
    this.#firstSeen = seenNow; // forget deleted objects: re-creating one makes it newer, as in Kubernetes

    const snapshot = buildSnapshot(loaded.resources, {
      ...this.#options.snapshotOptions,
      now: this.#now,
    });
    const changed = snapshot.version !== current?.version;
    if (changed) this.#holder.swap(snapshot);
    this.#loadedDigest = digest;
    return { ok: true, version: snapshot.version, changed, counts: snapshot.counts };
  }

  /**
   * Files that held objects at the last good load and hold none now, though they still exist.
   * That is what a file truncated for a rewrite in place looks like (even after the quiet
   * period, if the writer pauses), and loading it would drop its rules, Deny rules included.
   * Deleting the file is how its objects are removed on purpose.
   */
  #emptiedFiles(objectsPerFile: ReadonlyMap<string, number>): PolicyProblem[] {
    const problems: PolicyProblem[] = [];
    for (const [file, count] of objectsPerFile) {
      const before = this.#objectsPerFile.get(file) ?? 0;
      if (count > 0 || before === 0) continue;
      problems.push({
        file,
        path: '',
        message: `held ${plural(before, 'object')} and now holds none: refused, as a file being rewritten in place looks the same; delete the file to remove its objects, and replace files atomically (write a temporary file, then rename it)`,
      });
    }
    return problems;
  }
}
