import { createHash, timingSafeEqual } from 'node:crypto';
import { LruCache } from '../lru-cache.ts';
import type { LockBusy } from './locks.ts';
import type { LoginStateLimits, LoginStatePut, WindowCount } from './login-state-store.ts';
import type { RevocationListener } from './revocation-bus.ts';
import type { SessionBackend } from './session-backend.ts';
import type { SessionListing } from './session-directory.ts';
import type { GetOptions } from './session-store.ts';
import { isLive } from './session-timing.ts';
import type { NewSession, Session } from './session.ts';
import { sessionKeyOf, type SessionTicket } from './ticket.ts';
import type { RevokedToken, TokenRevocationListener } from './token-revocations.ts';

/**
 * A per-replica read-through cache in front of a session backend (session-backend.ts), for the
 * authz hot path: most requests of a page load hit the same session within a second or two, and
 * each would otherwise cost a Redis round trip.
 *
 * It is itself a `SessionBackend` (every role), so it can be dropped in front of any backend, and
 * the backend contract suite runs against it (session-cache.test.ts, redis/redis-store.test.ts);
 * it owns the backend and closes it. Only sessions are cached: the other roles pass straight
 * through. Guarantees:
 * - an entry lives at most `ttlMs`, and never past the session's idle or absolute expiry;
 * - revocations from any replica (`onRevocation`) and local deletes and updates drop the entry;
 *   a read that was in flight while a revocation arrived is not cached, so it cannot put back
 *   the session just revoked;
 * - a cached entry is served only to a ticket whose secret matches, as the store itself would
 *   require: compared as SHA-256 digests in constant time, or found by the exact id and secret
 *   of a ticket the store already accepted (`#verified`);
 * - at most `maxEntries` sessions, least recently used evicted first;
 * - concurrent misses for one ticket share one store read (a page load's burst, or every check
 *   in flight when a busy session's entry expires, costs one round trip, not one per check);
 * - a session in use is read again in the background once its entry is half its `ttlMs` old
 *   (refresh-ahead), so a busy session never waits on the store, and a store that answers late
 *   or fails for less than half the TTL fails no check (issue #17's soak: one Redis read that
 *   timed out took the ~60 checks waiting on it down with it). A failed refresh is not retried:
 *   the entry expires as usual and the next check after that reads the store. An entry is never
 *   served past `ttlMs` after the read that produced it, so staleness stays bounded by `ttlMs`.
 * `ttlMs: 0` disables caching (benchmarks, or to trade latency for immediate consistency).
 *
 * Staleness is bounded by `ttlMs`: a token refresh on another replica is seen here after at most
 * that long, which is why a refresh re-reads with `bypassCache` once it holds the lock.
 */
export interface SessionCacheOptions {
  readonly store: SessionBackend;
  /** How long a session is served from memory (default 3000 ms; 0 disables the cache). */
  readonly ttlMs?: number;
  /** Most sessions held (default 10 000). */
  readonly maxEntries?: number;
  readonly now?: () => number;
  /** Told of every lookup the cache answers (hit) or passes to the store (miss), for metrics. */
  readonly onLookup?: (hit: boolean) => void;
  /** Told how each background refresh ended (`ok`: the store answered, null or not). */
  readonly onRefresh?: (outcome: 'ok' | 'failed') => void;
}

interface CacheEntry {
  readonly session: Session;
  readonly secretDigest: Buffer;
  readonly expiresAt: number;
  /** From then on, a hit starts a background read of the session (refresh-ahead). */
  readonly refreshAt: number;
}

/** One store read that concurrent lookups of the same ticket share. */
interface InFlightRead {
  /** The revocation generation it started in: a lookup after a revocation does not join it. */
  readonly generation: number;
  readonly read: Promise<Session | null>;
}

export class SessionCache implements SessionBackend {
  readonly #store: SessionBackend;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries: LruCache<string, CacheEntry>;
  readonly #unsubscribe: () => void;
  /** Bumped on every revocation; a read that saw it change does not populate the cache. */
  #generation = 0;
  /**
   * Tickets (id and secret together) already verified against a cached session, to the session's
   * storage key: a hit then costs two map lookups instead of two SHA-256 computations. A ticket
   * only gets here after the store opened its session with that very secret; a revoked or expired
   * entry is gone from `#entries`, so a stale pointer here just falls through to the full path.
   */
  readonly #verified = new Map<string, string>();
  readonly #maxVerified: number;
  readonly #onLookup: ((hit: boolean) => void) | undefined;
  readonly #onRefresh: ((outcome: 'ok' | 'failed') => void) | undefined;
  /** Store reads in flight, by ticket (id and secret: only the same credential shares a read). */
  readonly #inFlight = new Map<string, InFlightRead>();

  constructor(options: SessionCacheOptions) {
    const ttlMs = options.ttlMs ?? 3000;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) {
      throw new RangeError('ttlMs must be a non-negative integer of milliseconds');
    }
    this.#store = options.store;
    this.#ttlMs = ttlMs;
    this.#now = options.now ?? Date.now;
    this.#entries = new LruCache({ maxEntries: options.maxEntries ?? 10_000, now: this.#now });
    this.#maxVerified = 2 * (options.maxEntries ?? 10_000);
    this.#onLookup = options.onLookup;
    this.#onRefresh = options.onRefresh;
    this.#unsubscribe = this.#store.onRevocation((keys) => {
      this.#forget(keys);
    });
  }

  /** Number of cached sessions (for metrics). */
  get size(): number {
    return this.#entries.size;
  }

  cached(ticket: SessionTicket): Session | undefined {
    if (this.#ttlMs === 0) return undefined;
    return this.#verifiedHit(ticket, `${ticket.id}.${ticket.secret}`);
  }

  /**
   * The hit path for a ticket already verified against the cached session: two map lookups.
   * Counted as a hit, and starts the refresh-ahead when the entry is due.
   */
  #verifiedHit(ticket: SessionTicket, fingerprint: string): Session | undefined {
    const verifiedKey = this.#verified.get(fingerprint);
    const hit = verifiedKey === undefined ? undefined : this.#entries.get(verifiedKey);
    if (verifiedKey === undefined || hit === undefined) return undefined;
    const now = this.#now();
    if (now >= hit.expiresAt || !isLive(hit.session, now)) return undefined;
    this.#onLookup?.(true);
    if (now >= hit.refreshAt) this.#refresh(ticket, fingerprint, verifiedKey, hit);
    return hit.session;
  }

  async get(ticket: SessionTicket, options: GetOptions = {}): Promise<Session | null> {
    if (this.#ttlMs === 0) return this.#store.get(ticket);
    const fingerprint = `${ticket.id}.${ticket.secret}`;
    if (options.bypassCache !== true) {
      const hit = this.#verifiedHit(ticket, fingerprint);
      if (hit !== undefined) return hit;
    }
    const key = sessionKeyOf(ticket.id);
    const secretDigest = digest(ticket.secret);
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry !== undefined && options.bypassCache !== true) {
      if (now < entry.expiresAt && isLive(entry.session, now)) {
        this.#onLookup?.(true);
        return timingSafeEqual(entry.secretDigest, secretDigest) ? entry.session : null;
      }
      this.#entries.delete(key);
    }
    this.#onLookup?.(false);
    // A bypassing read (a refresh holding its lock) must see the store now, not a read that
    // started before it; every other miss joins a read of the same ticket already under way.
    if (options.bypassCache !== true) {
      const inFlight = this.#inFlight.get(fingerprint);
      if (inFlight !== undefined && inFlight.generation === this.#generation) return inFlight.read;
    }
    return this.#read(ticket, fingerprint, key, secretDigest);
  }

  /**
   * Reads the session from the store and caches it, unless a revocation arrived meanwhile; the
   * read is shared, through `#inFlight`, with every lookup of the same ticket until it settles.
   */
  #read(
    ticket: SessionTicket,
    fingerprint: string,
    key: string,
    secretDigest: Buffer,
  ): Promise<Session | null> {
    const generation = this.#generation;
    const read = this.#store.get(ticket).then((session) => {
      if (session === null) {
        this.#entries.delete(key);
      } else if (generation === this.#generation) {
        const readAt = this.#now();
        const expiresAt = Math.min(
          readAt + this.#ttlMs,
          session.idleExpiresAt,
          session.absoluteExpiresAt,
        );
        const refreshAt = readAt + Math.floor(this.#ttlMs / 2);
        this.#entries.set(key, { session, secretDigest, expiresAt, refreshAt }, expiresAt);
        if (this.#verified.size >= this.#maxVerified) this.#verified.clear();
        this.#verified.set(fingerprint, key);
      }
      return session;
    });
    const shared: InFlightRead = { generation, read };
    this.#inFlight.set(fingerprint, shared);
    const settled = (): void => {
      if (this.#inFlight.get(fingerprint) === shared) this.#inFlight.delete(fingerprint);
    };
    read.then(settled, settled);
    return read;
  }

  /**
   * Refresh-ahead: one background read per ticket; its failure fails no check. After a failure
   * the entry is not refreshed again (a store that is down is not asked once per check): it
   * expires on time, and the next check after that reads the store itself.
   */
  #refresh(ticket: SessionTicket, fingerprint: string, key: string, entry: CacheEntry): void {
    const inFlight = this.#inFlight.get(fingerprint);
    if (inFlight !== undefined && inFlight.generation === this.#generation) return;
    this.#read(ticket, fingerprint, key, entry.secretDigest).then(
      () => this.#onRefresh?.('ok'),
      // The store's own instrumentation counts the failure (instrumented-store.ts).
      () => {
        this.#onRefresh?.('failed');
        if (this.#entries.get(key) !== entry) return;
        const unrefreshed = { ...entry, refreshAt: Number.POSITIVE_INFINITY };
        this.#entries.set(key, unrefreshed, entry.expiresAt);
      },
    );
  }

  create(fields: NewSession, ticket: SessionTicket): Promise<Session> {
    return this.#store.create(fields, ticket);
  }

  async update(ticket: SessionTicket, session: Session): Promise<boolean> {
    const key = sessionKeyOf(ticket.id);
    this.#forget([key]);
    const updated = await this.#store.update(ticket, session);
    this.#forget([key]);
    return updated;
  }

  async delete(key: string): Promise<boolean> {
    this.#forget([key]);
    const deleted = await this.#store.delete(key);
    this.#forget([key]);
    return deleted;
  }

  async deleteByUser(userKey: string): Promise<string[]> {
    const ended = await this.#store.deleteByUser(userKey);
    this.#forget(ended);
    return ended;
  }

  async deleteBySid(provider: string, sid: string): Promise<string[]> {
    const ended = await this.#store.deleteBySid(provider, sid);
    this.#forget(ended);
    return ended;
  }

  listKeysByUser(userKey: string): Promise<string[]> {
    return this.#store.listKeysByUser(userKey);
  }

  listByUser(userKey: string): Promise<SessionListing[]> {
    return this.#store.listByUser(userKey);
  }

  listByUserName(userName: string): Promise<SessionListing[]> {
    return this.#store.listByUserName(userName);
  }

  async deleteByProvider(provider: string): Promise<string[]> {
    const ended = await this.#store.deleteByProvider(provider);
    this.#forget(ended);
    return ended;
  }

  revokeToken(token: RevokedToken): Promise<void> {
    return this.#store.revokeToken(token);
  }

  listRevokedTokens(): Promise<RevokedToken[]> {
    return this.#store.listRevokedTokens();
  }

  onTokenRevocation(listener: TokenRevocationListener): () => void {
    return this.#store.onTokenRevocation(listener);
  }

  putLoginState(
    stateKey: string,
    value: string,
    ttlMs: number,
    limits?: LoginStateLimits,
  ): Promise<LoginStatePut> {
    return this.#store.putLoginState(stateKey, value, ttlMs, limits);
  }

  countSignInStart(client: string, windowMs: number): Promise<WindowCount> {
    return this.#store.countSignInStart(client, windowMs);
  }

  takeLoginState(stateKey: string): Promise<string | null> {
    return this.#store.takeLoginState(stateKey);
  }

  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T | LockBusy> {
    return this.#store.withLock(name, ttlMs, fn);
  }

  rememberOnce(namespace: string, id: string, ttlMs: number): Promise<boolean> {
    return this.#store.rememberOnce(namespace, id, ttlMs);
  }

  publishRevocation(keys: readonly string[]): Promise<void> {
    this.#forget(keys);
    return this.#store.publishRevocation(keys);
  }

  onRevocation(listener: RevocationListener): () => void {
    return this.#store.onRevocation(listener);
  }

  revocationsReady(): Promise<void> {
    return this.#store.revocationsReady();
  }

  ping(): Promise<void> {
    return this.#store.ping();
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    this.#entries.clear();
    await this.#store.close();
  }

  #forget(keys: readonly string[]): void {
    this.#generation += 1;
    for (const key of keys) this.#entries.delete(key);
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
