import type { Logger } from 'pino';
import { DependencyError } from '../errors.ts';
import {
  tokenRevocationKey,
  type RevokedToken,
  type TokenRevocationStore,
} from './token-revocations.ts';

/**
 * One replica's copy of the revoked bearer tokens (token-revocations.ts), so the bearer
 * authenticator answers "is this token revoked?" with one map lookup on the hot path and never a
 * Redis round trip (issue #20: "at no measurable cost").
 *
 * It subscribes before it loads, so a revocation published while the list is being read is not
 * lost. Until the first load has succeeded `isRevoked` throws `DependencyError` (a 503): a
 * replica that cannot know the list must not accept the tokens on it (fail closed,
 * architecture.md "Security invariants" 1). A failed load is retried with a capped backoff.
 * Entries leave the set at their `until`, when the token has expired by itself.
 *
 * Pub/sub delivers at most once: a replica whose subscription was reconnecting when a revocation
 * was published never receives it. Session revocations do not depend on it (the record is gone
 * from the store, and a cache entry lives seconds), but this list does, so it is re-read every
 * `refreshIntervalMs` (one sorted-set read): a missed revocation takes effect within a minute.
 */
export interface RevokedTokenSetOptions {
  readonly store: TokenRevocationStore;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** First retry delay after a failed load (default 500 ms), doubled up to 10 s. */
  readonly retryDelayMs?: number;
  /** How often the whole list is re-read once loaded (default 60 s). */
  readonly refreshIntervalMs?: number;
}

export class RevokedTokenSet {
  readonly #store: TokenRevocationStore;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #retryDelayMs: number;
  readonly #refreshIntervalMs: number;
  #refresh: NodeJS.Timeout | undefined;
  /** `tokenRevocationKey(issuer, jti)` → until (epoch ms). */
  readonly #entries = new Map<string, number>();
  #loaded = false;
  #closed = false;
  #unsubscribe: (() => void) | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** Ends a pending retry wait early (at `close`), so `start()` never hangs. */
  #wake: (() => void) | undefined;
  #ready: Promise<void> | undefined;

  constructor(options: RevokedTokenSetOptions) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#retryDelayMs = options.retryDelayMs ?? 500;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 60_000;
  }

  /**
   * Subscribes and loads the list; resolves once it is loaded (retrying until then). Calling it
   * again returns the same promise.
   */
  start(): Promise<void> {
    if (this.#ready !== undefined) return this.#ready;
    this.#unsubscribe = this.#store.onTokenRevocation((tokens) => {
      this.#add(tokens);
    });
    this.#ready = this.#load(this.#retryDelayMs);
    return this.#ready;
  }

  /**
   * Whether the token with this `tokenRevocationKey` is revoked. One map lookup; the clock is
   * read only for a token on the list. Throws `DependencyError` before the list is loaded.
   */
  isRevoked(key: string): boolean {
    if (!this.#loaded) {
      throw new DependencyError('redis', 'the revoked-token list is not loaded yet');
    }
    const until = this.#entries.get(key);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#entries.delete(key);
    return false;
  }

  /** Live entries (expired ones are dropped first): the `gatehouse_revoked_tokens` gauge. */
  get size(): number {
    const now = this.#now();
    for (const [key, until] of this.#entries) {
      if (until <= now) this.#entries.delete(key);
    }
    return this.#entries.size;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#refresh);
    this.#wake?.();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  async #load(delayMs: number): Promise<void> {
    try {
      this.#add(await this.#store.listRevokedTokens());
      this.#loaded = true;
      if (!this.#closed) {
        this.#refresh = setInterval(() => {
          void this.#reread();
        }, this.#refreshIntervalMs);
        this.#refresh.unref();
      }
    } catch (error) {
      this.#logger?.warn(
        { err: error, retryInMs: delayMs },
        'revoked bearer tokens could not be loaded; bearer tokens are refused (503) until they are',
      );
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#retry = setTimeout(resolve, delayMs);
        this.#retry.unref();
      });
      this.#wake = undefined;
      if (this.#closed) return;
      await this.#load(Math.min(delayMs * 2, 10_000));
    }
  }

  /** A periodic re-read; a failure keeps the list as it is and is retried at the next one. */
  async #reread(): Promise<void> {
    try {
      this.#add(await this.#store.listRevokedTokens());
    } catch (error) {
      this.#logger?.warn({ err: error }, 'revoked bearer tokens could not be re-read');
    }
  }

  #add(tokens: readonly RevokedToken[]): void {
    const now = this.#now();
    for (const token of tokens) {
      if (token.until <= now) continue;
      const key = tokenRevocationKey(token.issuer, token.jti);
      const known = this.#entries.get(key);
      if (known === undefined || known < token.until) this.#entries.set(key, token.until);
    }
  }
}
