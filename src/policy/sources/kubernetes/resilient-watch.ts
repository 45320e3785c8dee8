/**
 * A list + watch loop for one resource that keeps a local copy of its objects (an informer),
 * written for the ways watches fail in practice:
 *
 * - the stored resourceVersion is too old (410 Gone, as an HTTP status or as an ERROR event):
 *   list again (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes);
 * - the connection fails or the API server is down: reconnect with capped exponential backoff
 *   and jitter, so replicas do not reconnect in lockstep;
 * - the stream stays open but nothing arrives any more (kubernetes-client/javascript issues
 *   364, 596, 958): a watchdog restarts a watch that delivered neither an event nor a bookmark
 *   (`allowWatchBookmarks`, sent about once a minute) within `watchdogTimeoutMs`.
 *
 * The local copy is kept through failures, so a consumer keeps its last good view.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Metrics } from '../../../metrics/metrics.ts';
import { httpStatusOf, resourcePath } from './watch-transport.ts';
import type { ResourceRef, WatchEvent, WatchHandle, WatchTransport } from './watch-transport.ts';
import { isRecord } from '../../../is-record.ts';

export interface BackoffOptions {
  /** First delay after a failure. Default 500 ms. */
  readonly initialMs: number;
  /** Ceiling. Default 30 s. */
  readonly maxMs: number;
}

const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/**
 * Delay before retry number `attempt` (1-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so it never collapses to zero yet spreads replicas out.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number,
): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export type WatchMetrics = Pick<Metrics, 'watchStarts' | 'watchErrors' | 'watchLastEvent'>;

export interface ResilientWatchOptions<T> {
  readonly resource: ResourceRef;
  /** Metric label and log field, e.g. `accesspolicies` or `shop/ingresses`. */
  readonly label: string;
  readonly transport: WatchTransport;
  /** Keeps what the consumer needs of an object; null drops the object. */
  readonly transform: (object: Record<string, unknown>) => T | null;
  /** Called after the local copy changed (a list or an event). */
  readonly onChange: () => void;
  readonly watchdogTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics?: WatchMetrics;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
  readonly now?: () => number;
  /** List page size. Default 500. */
  readonly pageSize?: number;
  /**
   * A list request that has not answered by then counts as failed (an API server that accepts
   * connections but never answers must not hold start-up or the loop forever). Default 30 s.
   */
  readonly listTimeoutMs?: number;
  /**
   * Server-side watch timeout range in seconds; each watch picks one at random (as client-go
   * does) so streams are renewed regularly and not all at once. Default [300, 600).
   */
  readonly watchTimeoutSeconds?: readonly [number, number];
}

type WatchEnd = 'closed' | 'expired' | 'stalled' | 'stopped';

class WatchFailure extends Error {
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'WatchFailure';
    this.status = status;
  }
}

function metadataOf(object: Record<string, unknown>): Record<string, unknown> {
  return isRecord(object.metadata) ? object.metadata : {};
}

/** `namespace/name` (or `name`), the identity of an object inside one watch. */
export function objectKeyOf(object: Record<string, unknown>): string | null {
  const metadata = metadataOf(object);
  if (typeof metadata.name !== 'string') return null;
  return typeof metadata.namespace === 'string'
    ? `${metadata.namespace}/${metadata.name}`
    : metadata.name;
}

function describeError(error: unknown): string {
  const status = httpStatusOf(error);
  const text = error instanceof Error ? error.message : String(error);
  if (status === 403) return `forbidden (HTTP 403): check gatehouse's RBAC (${text})`;
  if (status === 404) return `not found (HTTP 404): is the CRD or API installed? (${text})`;
  return status === undefined ? text : `HTTP ${String(status)}: ${text}`;
}

export class ResilientWatch<T> {
  readonly #options: ResilientWatchOptions<T>;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #stop = new AbortController();
  #items = new Map<string, T>();
  #resourceVersion: string | null = null;
  #synced = false;
  #attempted = false;
  #failures = 0;
  #loop: Promise<void> | null = null;
  #firstAttempt: { promise: Promise<void>; resolve: () => void };
  #currentWatch: { handle: WatchHandle; finish: (end: WatchEnd) => void } | null = null;

  constructor(options: ResilientWatchOptions<T>) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    let resolve = (): void => undefined;
    const promise = new Promise<void>((done) => {
      resolve = done;
    });
    this.#firstAttempt = { promise, resolve };
  }

  get label(): string {
    return this.#options.label;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#currentWatch?.finish('stopped');
    this.#firstAttempt.resolve();
    await this.#loop;
  }

  /** True once a first full list has been received (and forever after). */
  synced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list has succeeded or failed (or on stop). */
  firstAttempt(): Promise<void> {
    return this.#firstAttempt.promise;
  }

  /** True once the first list attempt finished, whatever its outcome. */
  attempted(): boolean {
    return this.#attempted;
  }

  /** The current local copy. */
  items(): IterableIterator<T> {
    return this.#items.values();
  }

  /** A method, not a getter: it changes while we await, which narrowing cannot know. */
  #isStopped(): boolean {
    return this.#stop.signal.aborted;
  }

  async #run(): Promise<void> {
    const { logger, label } = this.#options;
    while (!this.#isStopped()) {
      try {
        if (this.#resourceVersion === null) await this.#relist();
        if (this.#isStopped()) break;
        const started = this.#now();
        const end = await this.#watchOnce(this.#resourceVersion ?? '');
        if (end === 'expired') {
          this.#options.metrics?.watchErrors.inc({ resource: label, kind: 'expired' });
          logger.info({ resource: label }, 'watch expired (410 Gone): listing again');
          this.#resourceVersion = null;
        } else if (end === 'stalled') {
          this.#options.metrics?.watchErrors.inc({ resource: label, kind: 'stalled' });
          logger.warn(
            { resource: label, watchdogMs: this.#options.watchdogTimeoutMs },
            'watch delivered nothing within the watchdog timeout: restarting it',
          );
        } else if (end === 'closed' && this.#now() - started < 1_000) {
          // A server that closes at once, again and again, must not be hammered.
          await this.#pause(++this.#failures);
        }
      } catch (error) {
        if (this.#isStopped()) break;
        const status = httpStatusOf(error);
        if (status === 410) {
          // A continue token or resourceVersion expired during a list: list from scratch.
          this.#options.metrics?.watchErrors.inc({ resource: label, kind: 'expired' });
          this.#resourceVersion = null;
          continue;
        }
        this.#options.metrics?.watchErrors.inc({ resource: label, kind: 'error' });
        this.#failures++;
        const log = this.#failures === 1 || this.#failures % 10 === 0 ? logger.warn : logger.debug;
        log.call(
          logger,
          {
            resource: label,
            path: resourcePath(this.#options.resource),
            failures: this.#failures,
            synced: this.#synced,
          },
          `watch failed: ${describeError(error)}; keeping the last known objects and retrying`,
        );
        await this.#pause(this.#failures);
      }
    }
  }

  async #pause(attempt: number): Promise<void> {
    const delay = backoffDelay(attempt, this.#options.backoff ?? defaultBackoff, this.#random);
    try {
      await sleep(delay, undefined, { signal: this.#stop.signal });
    } catch {
      // stopped
    }
  }

  async #relist(): Promise<void> {
    const { transport, resource, label } = this.#options;
    const items = new Map<string, T>();
    let continueToken = '';
    let resourceVersion: string;
    try {
      do {
        const page = await this.#withTimeout(
          transport.list(resource, {
            limit: this.#options.pageSize ?? 500,
            continue: continueToken,
          }),
          this.#options.listTimeoutMs ?? 30_000,
        );
        for (const raw of page.items) this.#store(items, raw);
        continueToken = page.continue;
        resourceVersion = page.resourceVersion;
      } while (continueToken !== '' && !this.#isStopped());
    } finally {
      this.#attempted = true;
      this.#firstAttempt.resolve();
    }
    if (this.#isStopped()) return;
    this.#items = items;
    this.#resourceVersion = resourceVersion;
    this.#synced = true;
    this.#failures = 0;
    this.#touch();
    this.#options.logger.debug({ resource: label, count: items.size, resourceVersion }, 'listed');
    this.#options.onChange();
  }

  async #withTimeout<R>(promise: Promise<R>, timeoutMs: number): Promise<R> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new WatchFailure(`list did not answer within ${String(timeoutMs)} ms`, undefined));
      }, timeoutMs);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #store(items: Map<string, T>, raw: unknown): void {
    if (!isRecord(raw)) return;
    const key = objectKeyOf(raw);
    if (key === null) return;
    const kept = this.#options.transform(raw);
    if (kept === null) items.delete(key);
    else items.set(key, kept);
  }

  #touch(): void {
    this.#options.metrics?.watchLastEvent.set(
      { resource: this.#options.label },
      this.#now() / 1000,
    );
  }

  #watchOnce(resourceVersion: string): Promise<WatchEnd> {
    const { transport, resource, label, watchdogTimeoutMs } = this.#options;
    const [low, high] = this.#options.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.floor(low + this.#random() * (high - low));
    this.#options.metrics?.watchStarts.inc({ resource: label });

    return new Promise<WatchEnd>((resolve, reject) => {
      // An object: the flag is flipped from callbacks that narrowing cannot follow.
      const state = { settled: false };
      let watchdog: NodeJS.Timeout | undefined;
      let handle: WatchHandle | null = null;
      const settle = (finish: () => void): void => {
        if (state.settled) return;
        state.settled = true;
        clearTimeout(watchdog);
        this.#currentWatch = null;
        handle?.abort();
        finish();
      };
      const armWatchdog = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          settle(() => {
            resolve('stalled');
          });
        }, watchdogTimeoutMs);
      };

      const onEvent = (event: WatchEvent): void => {
        if (state.settled) return;
        armWatchdog();
        this.#touch();
        const object = isRecord(event.object) ? event.object : {};
        if (event.type === 'ERROR') {
          // A Status object: 410 means our resourceVersion is too old (compacted).
          const code = typeof object.code === 'number' ? object.code : undefined;
          if (code === 410) {
            settle(() => {
              resolve('expired');
            });
          } else {
            const message = typeof object.message === 'string' ? object.message : 'watch error';
            settle(() => {
              reject(new WatchFailure(message, code));
            });
          }
          return;
        }
        const version = metadataOf(object).resourceVersion;
        if (typeof version === 'string' && version !== '') this.#resourceVersion = version;
        // Any delivered event proves the connection works again.
        this.#failures = 0;
        if (event.type === 'BOOKMARK') return;
        const key = objectKeyOf(object);
        if (key === null) return;
        if (event.type === 'DELETED') {
          if (this.#items.delete(key)) this.#options.onChange();
        } else if (event.type === 'ADDED' || event.type === 'MODIFIED') {
          this.#store(this.#items, object);
          this.#options.onChange();
        }
      };
      const onClose = (error: unknown): void => {
        settle(() => {
          if (error === null) resolve('closed');
          else if (httpStatusOf(error) === 410) resolve('expired');
          else if (error instanceof Error) reject(error);
          else reject(new WatchFailure('watch stream failed', undefined, error));
        });
      };

      const opened = transport.watch(
        resource,
        { resourceVersion, timeoutSeconds },
        onEvent,
        onClose,
      );
      if (state.settled) {
        // Ended while opening (a transport that reports synchronously).
        opened.abort();
        return;
      }
      handle = opened;
      this.#currentWatch = {
        handle: opened,
        finish: (end) => {
          settle(() => {
            resolve(end);
          });
        },
      };
      if (this.#isStopped()) {
        settle(() => {
          resolve('stopped');
        });
        return;
      }
      armWatchdog();
    });
  }
}
