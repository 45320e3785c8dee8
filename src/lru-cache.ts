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
  /**
   * The most recently used key. A hit on it leaves the order as it is: re-inserting costs a
   * `Map.delete` + `Map.set`, and on a nearly empty map that lives in old space every delete
   * shrinks the table, which V8 reallocates in old space, garbage only a full collection frees
   * (issue #17: 150–240 bytes of old-space garbage per cached check, most of bench (c)'s RSS
   * growth; a heap-sampling profile put `delete` at 55% of the sampled bytes).
   */
  #newest: K | undefined;

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
    if (this.#now() >= entry.expiresAt) {
      this.#delete(key);
      return undefined;
    }
    if (key !== this.#newest) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#newest = key;
    }
    return entry.value;
  }

  /**
   * Stores `value` until `expiresAt` (epoch milliseconds; omitted = no expiry). Storing an entry
   * that is already expired removes any previous value instead, so it cannot linger.
   */
  set(key: K, value: V, expiresAt: number = Number.POSITIVE_INFINITY): void {
    this.#delete(key);
    if (this.#now() >= expiresAt) return;
    this.#entries.set(key, { value, expiresAt });
    this.#newest = key;
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.#delete(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#newest = undefined;
  }

  #delete(key: K): boolean {
    if (key === this.#newest) this.#newest = undefined;
    return this.#entries.delete(key);
  }
}
