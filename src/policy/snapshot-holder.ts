/**
 * The one mutable reference to the current snapshot. Readers call current() once per request
 * and keep that snapshot for the whole decision, so a swap never mixes two policy versions.
 */
import type { Logger } from 'pino';
import type { PolicyChangeEvent, PolicyChangeListener, Unsubscribe } from './policy-source.ts';
import type { PolicySnapshot } from './snapshot.ts';

export class SnapshotHolder {
  readonly #source: string;
  readonly #logger: Logger | undefined;
  readonly #listeners = new Set<PolicyChangeListener>();
  #current: PolicySnapshot | null = null;

  constructor(source: string, logger?: Logger) {
    this.#source = source;
    this.#logger = logger;
  }

  current(): PolicySnapshot | null {
    return this.#current;
  }

  /** Swaps in `snapshot` and tells the listeners; a failing listener cannot stop the others. */
  swap(snapshot: PolicySnapshot): void {
    const event: PolicyChangeEvent = {
      source: this.#source,
      version: snapshot.version,
      previousVersion: this.#current?.version ?? null,
    };
    this.#current = snapshot;
    for (const listener of this.#listeners) {
      try {
        listener(snapshot, event);
      } catch (error) {
        this.#logger?.error({ err: error, source: this.#source }, 'policy change listener failed');
      }
    }
  }

  onChange(listener: PolicyChangeListener): Unsubscribe {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
