import type { Logger } from 'pino';

/**
 * The revocation listeners of a session store (revocation-bus.ts, token-revocations.ts), kept
 * the same way by every backend: each subscription is its own entry, so the same function can
 * subscribe twice and unsubscribe each independently; and one listener that throws is logged and
 * does not keep the others from hearing of a revocation (a cache that is not told keeps serving
 * an ended session).
 */
export class ListenerSet<T> {
  readonly #listeners = new Set<(value: T) => void>();
  readonly #logger: Logger;
  readonly #failure: string;

  /** `failure` is the log message when a listener throws. */
  constructor(logger: Logger, failure: string) {
    this.#logger = logger;
    this.#failure = failure;
  }

  /** Subscribes `listener`; returns its unsubscribe. */
  add(listener: (value: T) => void): () => void {
    const entry = (value: T): void => {
      listener(value);
    };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Calls every listener subscribed now (one subscribing meanwhile hears the next delivery). */
  deliver(value: T): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(value);
      } catch (error) {
        this.#logger.error({ err: error }, this.#failure);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
