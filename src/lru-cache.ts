/**
 * The one bounded least-recently-used cache of the service; its entries may carry an expiry time.
 *
 * Used for verified bearer tokens (expiry = the token's `exp`), signed assertions, Basic-auth
 * verifications, the memory login throttle and the per-replica session cache. It relies on `Map`
 * keeping insertion order: a hit is re-inserted so the first key is always the least recently
 * used one, which is evicted when the cache is full.
 * An entry past its expiry is dropped on access and never returned, so a stale credential can
 * not be served however rarely the cache is swept.
 */
export interface LruCacheOptions {
  /** Upper bound on the number of entries; the least recently used one is evicted beyond it. */
  readonly maxEntries: number;
  /** Clock in epoch milliseconds, injected so tests control expiry. */
  readonly now?: () => number;
}

interface Entry<V> {
  readonly value: V;
  /** Epoch milliseconds from which the entry is no longer served; `Infinity` for never. */
  readonly expiresAt: number;
}

export class LruCache<K, V> {
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<K, Entry<V>>();

  constructor(options: LruCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError('LruCache maxEntries must be a positive integer');
    }
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** Number of entries held, expired ones included until they are touched or evicted. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value if present and not expired; marks it as most recently used. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (this.#now() >= entry.expiresAt) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /**
   * Stores `value` until `expiresAt` (epoch milliseconds; omitted = no expiry). Storing an entry
   * that is already expired removes any previous value instead, so it cannot linger.
   */
  set(key: K, value: V, expiresAt: number = Number.POSITIVE_INFINITY): void {
    this.#entries.delete(key);
    if (this.#now() >= expiresAt) return;
    this.#entries.set(key, { value, expiresAt });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
