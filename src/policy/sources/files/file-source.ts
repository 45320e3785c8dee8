/**
 * Policy from a directory of YAML manifests (the same CRD manifests `kubectl apply` takes), for
 * local runs and single-binary deployments. Every `*.yaml`/`*.yml` below the directory is read;
 * names starting with "." are skipped, which also skips the `..data`/`..2025_…` twins of a
 * mounted ConfigMap (the visible names are symlinks into them). Any problem in any file refuses
 * the whole reload and keeps the last good snapshot, so a half-edited file can never open or
 * close access by accident.
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
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
import { loadPolicyDocuments } from './load-policy-documents.ts';
import type { PolicyFile } from './load-policy-documents.ts';

export { loadPolicyDocuments } from './load-policy-documents.ts';
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

export class FilePolicySource implements PolicySource {
  readonly name = 'files';
  readonly #options: FilePolicySourceOptions;
  readonly #now: () => number;
  readonly #holder: SnapshotHolder;
  readonly #reloadListeners = new Set<ReloadListener>();
  /** First-seen times of objects without creationTimestamp, stable across reloads. */
  #firstSeen = new Map<string, string>();
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
    // mounts): an unchanged reload costs a directory read and a hash, and swaps nothing.
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

  async #attempt(): Promise<ReloadResult> {
    let files: PolicyFile[];
    try {
      const paths = await listManifestFiles(this.#options.directory);
      files = await Promise.all(
        paths.map(async (path) => ({ path, text: await readFile(path, 'utf8') })),
      );
    } catch (error) {
      // Deleted or unreadable while we looked: refuse, keep the last good snapshot.
      const problem: PolicyProblem = {
        file: this.#options.directory,
        path: '',
        message: `cannot read: ${String(error)}`,
      };
      return { ok: false, problems: [problem] };
    }

    const now = new Date(this.#now()).toISOString();
    const seenNow = new Map<string, string>();
    const loaded = loadPolicyDocuments(files, {
      creationTimestampFor: (key) => {
        const time = this.#firstSeen.get(key) ?? now;
        seenNow.set(key, time);
        return time;
      },
    });
    if (loaded.problems.length > 0) return { ok: false, problems: loaded.problems };
    this.#firstSeen = seenNow; // forget deleted objects: re-creating one makes it newer, as in Kubernetes

    const snapshot = buildSnapshot(loaded.resources, {
      ...this.#options.snapshotOptions,
      now: this.#now,
    });
    const changed = snapshot.version !== this.#holder.current()?.version;
    if (changed) this.#holder.swap(snapshot);
    return { ok: true, version: snapshot.version, changed, counts: snapshot.counts };
  }
}
