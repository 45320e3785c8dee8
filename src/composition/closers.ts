import type { Logger } from 'pino';

/**
 * What shutdown closes once the listeners are closed: every dependency that holds a connection,
 * a watcher or a timer, closed in the reverse order of opening. A failure is logged and the rest
 * are still closed.
 */
export class Closers {
  readonly #closers: (() => unknown)[] = [];

  /** `close` may return a promise; shutdown waits for it before closing the next. */
  add(close: () => unknown): void {
    this.#closers.push(close);
  }

  async closeAll(logger: Logger): Promise<void> {
    for (const close of [...this.#closers].reverse()) {
      try {
        await close();
      } catch (error) {
        logger.warn({ err: error }, 'error while closing a dependency');
      }
    }
  }
}
