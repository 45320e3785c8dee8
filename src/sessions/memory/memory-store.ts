import type { Logger } from 'pino';
import { pino } from 'pino';
import { OpenedSessions } from '../opened-sessions.ts';
import { sealSessionRecord } from '../session-cipher.ts';
import { LOCK_BUSY, type LockBusy } from '../locks.ts';
import type { LoginStateLimits, LoginStatePut, WindowCount } from '../login-state-store.ts';
import type { RevocationListener } from '../revocation-bus.ts';
import { ListenerSet } from '../listener-set.ts';
import type { SessionBackend } from '../session-backend.ts';
import { byRecentUse, type SessionListing } from '../session-directory.ts';
import {
  revokedTokenOf,
  tokenRevocationKey,
  type RevokedToken,
  type TokenRevocationListener,
} from '../token-revocations.ts';
import { summariseUserAgent } from '../user-agent-summary.ts';
import { assertStorageName, assertTtl } from '../storage-names.ts';
import { buildSession, toSessionRecord } from '../session.ts';
import type { NewSession, Session } from '../session.ts';
import {
  isLive,
  resolveTiming,
  slidIdleExpiry,
  idleExpiryAt,
  type SessionTiming,
} from '../session-timing.ts';
import { sessionKeyOf, type SessionTicket } from '../ticket.ts';
import { definedFields } from '../../defined-fields.ts';

/**
 * The in-process session backend (every role, session-backend.ts): the embedded default for
 * local runs and the unit tests' stand-in for Redis. It keeps the same contract as the Redis
 * store (sealed records, hashed keys, single-use login state, locks, replay guard, revocation
 * listeners), but nothing is shared between processes, so it suits a single replica only.
 *
 * Memory is bounded: each map has a maximum size and, when full, drops its oldest entry (Maps
 * iterate in insertion order). Expiry is lazy, judged with the injected clock when an entry is
 * read, so there are no timers to leak or unref.
 */
export interface MemorySessionStoreOptions {
  readonly idleTimeoutMs: number;
  readonly absoluteLifetimeMs: number;
  readonly slidingIntervalMs?: number;
  /** Most sessions kept; the oldest is ended to make room (default 10 000). */
  readonly maxSessions?: number;
  /** Most pending logins, replay markers, locks and sign-in rate counters, each (default 10 000). */
  readonly maxEntries?: number;
  readonly now?: () => number;
  readonly randomBytes?: (size: number) => Buffer;
  readonly logger?: Logger;
}

interface StoredSession {
  sealed: string;
  idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly userKey: string;
  readonly sidKey?: string;
  /** The listing (session-directory.ts): kept apart from the sealed record, like Redis's. */
  readonly provider: string;
  readonly userName: string;
  readonly createdAt: number;
  lastUsedAt: number;
  readonly userAgent?: string;
}

interface Expiring<T> {
  readonly value: T;
  readonly expiresAt: number;
}

export class MemorySessionStore implements SessionBackend {
  readonly #timing: SessionTiming;
  readonly #maxSessions: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #randomBytes: ((size: number) => Buffer) | undefined;
  readonly #logger: Logger;
  readonly #sessions = new Map<string, StoredSession>();
  readonly #byUser = new Map<string, Set<string>>();
  readonly #bySid = new Map<string, Set<string>>();
  readonly #byUserName = new Map<string, Set<string>>();
  /** Revoked bearer tokens of this process, by `tokenRevocationKey`. */
  readonly #revokedTokens = new Map<string, RevokedToken>();
  readonly #tokenListeners: ListenerSet<readonly RevokedToken[]>;
  readonly #loginStates = new Map<string, Expiring<string>>();
  readonly #seen = new Map<string, Expiring<true>>();
  readonly #locks = new Map<string, Expiring<object>>();
  readonly #starts = new Map<
    string,
    Expiring<{ readonly window: number; readonly count: number }>
  >();
  readonly #listeners: ListenerSet<readonly string[]>;
  /** Records opened before, so an unchanged one is not decrypted again (opened-sessions.ts). */
  readonly #opened: OpenedSessions;

  constructor(options: MemorySessionStoreOptions) {
    this.#timing = resolveTiming(options);
    this.#maxSessions = options.maxSessions ?? 10_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#opened = new OpenedSessions({ now: this.#now });
    this.#randomBytes = options.randomBytes;
    this.#logger = options.logger ?? pino({ level: 'silent' });
    this.#listeners = new ListenerSet(this.#logger, 'revocation listener failed');
    this.#tokenListeners = new ListenerSet(this.#logger, 'token revocation listener failed');
  }

  create(fields: NewSession, ticket: SessionTicket): Promise<Session> {
    const key = sessionKeyOf(ticket.id);
    const now = this.#now();
    const session = buildSession(fields, key, now, this.#timing);
    this.#remove(key);
    while (this.#sessions.size >= this.#maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#remove(oldest);
      this.#logger.warn({ sessionKey: oldest }, 'memory session store full: ended oldest session');
    }
    const sidKey =
      session.oidcSid === undefined ? undefined : sidKeyOf(session.provider, session.oidcSid);
    this.#sessions.set(key, {
      sealed: this.#seal(session, ticket),
      idleExpiresAt: session.idleExpiresAt,
      absoluteExpiresAt: session.absoluteExpiresAt,
      userKey: session.userKey,
      provider: session.provider,
      userName: session.identity.user,
      createdAt: now,
      lastUsedAt: now,
      ...definedFields({ sidKey, userAgent: summariseUserAgent(fields.userAgent) }),
    });
    addToIndex(this.#byUser, session.userKey, key);
    addToIndex(this.#byUserName, session.identity.user, key);
    if (sidKey !== undefined) addToIndex(this.#bySid, sidKey, key);
    return Promise.resolve(session);
  }

  get(ticket: SessionTicket): Promise<Session | null> {
    const key = sessionKeyOf(ticket.id);
    const stored = this.#sessions.get(key);
    const now = this.#now();
    if (stored === undefined) return Promise.resolve(null);
    if (!isLive(stored, now)) {
      this.#remove(key);
      return Promise.resolve(null);
    }
    // The absolute expiry fixed at login wins over whatever a later update sealed.
    const session = this.#opened.open(stored.sealed, ticket, key, stored);
    if (session === null) return Promise.resolve(null);
    const slid = slidIdleExpiry(stored, now, this.#timing);
    if (slid === null) return Promise.resolve(session);
    // Last use is written when the expiry slides, as the Redis store does (session-directory.ts).
    stored.idleExpiresAt = slid;
    stored.lastUsedAt = now;
    return Promise.resolve({ ...session, idleExpiresAt: slid });
  }

  update(ticket: SessionTicket, session: Session): Promise<boolean> {
    const key = sessionKeyOf(ticket.id);
    const stored = this.#sessions.get(key);
    const now = this.#now();
    if (stored === undefined || !isLive(stored, now)) return Promise.resolve(false);
    stored.sealed = this.#seal({ ...session, key }, ticket);
    stored.idleExpiresAt = idleExpiryAt(now, stored.absoluteExpiresAt, this.#timing);
    stored.lastUsedAt = now;
    return Promise.resolve(true);
  }

  async delete(key: string): Promise<boolean> {
    const existed = this.#remove(key);
    if (existed) await this.publishRevocation([key]);
    return existed;
  }

  async deleteByUser(userKey: string): Promise<string[]> {
    return this.#removeAll(this.#byUser.get(userKey));
  }

  async deleteBySid(provider: string, sid: string): Promise<string[]> {
    return this.#removeAll(this.#bySid.get(sidKeyOf(provider, sid)));
  }

  listKeysByUser(userKey: string): Promise<string[]> {
    const now = this.#now();
    const live: string[] = [];
    for (const key of [...(this.#byUser.get(userKey) ?? [])]) {
      const stored = this.#sessions.get(key);
      if (stored !== undefined && isLive(stored, now)) live.push(key);
      else this.#remove(key);
    }
    return Promise.resolve(live);
  }

  listByUser(userKey: string): Promise<SessionListing[]> {
    return Promise.resolve(this.#list(this.#byUser.get(userKey)));
  }

  listByUserName(userName: string): Promise<SessionListing[]> {
    return Promise.resolve(this.#list(this.#byUserName.get(userName)));
  }

  async deleteByProvider(provider: string): Promise<string[]> {
    const keys = new Set<string>();
    for (const [key, stored] of this.#sessions) {
      if (stored.provider === provider) keys.add(key);
    }
    return this.#removeAll(keys);
  }

  revokeToken(token: RevokedToken): Promise<void> {
    const checked = revokedTokenOf(token);
    if (checked === null) {
      return Promise.reject(new TypeError('revokeToken: malformed issuer, jti or until'));
    }
    if (checked.until <= this.#now()) {
      return Promise.reject(new RangeError('revokeToken: until must be in the future'));
    }
    const key = tokenRevocationKey(checked.issuer, checked.jti);
    this.#revokedTokens.delete(key);
    // Bounded like every other map here; the oldest revocation goes first.
    while (this.#revokedTokens.size >= this.#maxEntries) {
      const oldest = this.#revokedTokens.keys().next().value;
      if (oldest === undefined) break;
      this.#revokedTokens.delete(oldest);
    }
    this.#revokedTokens.set(key, checked);
    this.#tokenListeners.deliver(Object.freeze([checked]));
    return Promise.resolve();
  }

  listRevokedTokens(): Promise<RevokedToken[]> {
    const now = this.#now();
    const live: RevokedToken[] = [];
    for (const [key, token] of this.#revokedTokens) {
      if (token.until > now) live.push(token);
      else this.#revokedTokens.delete(key);
    }
    return Promise.resolve(live);
  }

  putLoginState(
    stateKey: string,
    value: string,
    ttlMs: number,
    limits: LoginStateLimits = {},
  ): Promise<LoginStatePut> {
    assertStorageName('stateKey', stateKey);
    assertTtl(ttlMs);
    const now = this.#now();
    const maxPending = limits.maxPending ?? 0;
    if (maxPending > 0 && this.#pendingLoginStates(now, maxPending) >= maxPending) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const entry of this.#loginStates.values()) oldest = Math.min(oldest, entry.expiresAt);
      return Promise.resolve({ stored: false, retryAfterMs: Math.max(1, oldest - now) });
    }
    this.#put(this.#loginStates, stateKey, { value, expiresAt: now + ttlMs });
    return Promise.resolve({ stored: true });
  }

  takeLoginState(stateKey: string): Promise<string | null> {
    const entry = this.#loginStates.get(stateKey);
    this.#loginStates.delete(stateKey);
    return Promise.resolve(
      entry !== undefined && entry.expiresAt > this.#now() ? entry.value : null,
    );
  }

  countSignInStart(client: string, windowMs: number): Promise<WindowCount> {
    assertStorageName('client', client);
    assertTtl(windowMs);
    const now = this.#now();
    const window = Math.floor(now / windowMs);
    const resetInMs = (window + 1) * windowMs - now;
    const entryKey = `${client}\u0000${String(windowMs)}`;
    const current = this.#starts.get(entryKey);
    const count =
      current !== undefined && current.value.window === window ? current.value.count + 1 : 1;
    // Re-inserted, so the map drops the clients idle longest when it is full.
    this.#put(this.#starts, entryKey, { value: { window, count }, expiresAt: now + resetInMs });
    return Promise.resolve({ count, resetInMs });
  }

  async withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T | LockBusy> {
    assertStorageName('lock name', name);
    assertTtl(ttlMs);
    const held = this.#locks.get(name);
    if (held !== undefined && held.expiresAt > this.#now()) return LOCK_BUSY;
    const token = {};
    this.#put(this.#locks, name, { value: token, expiresAt: this.#now() + ttlMs });
    try {
      return await fn();
    } finally {
      if (this.#locks.get(name)?.value === token) this.#locks.delete(name);
    }
  }

  rememberOnce(namespace: string, id: string, ttlMs: number): Promise<boolean> {
    assertStorageName('namespace', namespace);
    assertTtl(ttlMs);
    const entryKey = `${namespace}\u0000${id}`;
    const seen = this.#seen.get(entryKey);
    if (seen !== undefined && seen.expiresAt > this.#now()) return Promise.resolve(false);
    this.#put(this.#seen, entryKey, { value: true, expiresAt: this.#now() + ttlMs });
    return Promise.resolve(true);
  }

  publishRevocation(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    this.#listeners.deliver(Object.freeze([...keys]));
    return Promise.resolve();
  }

  onRevocation(listener: RevocationListener): () => void {
    return this.#listeners.add(listener);
  }

  onTokenRevocation(listener: TokenRevocationListener): () => void {
    return this.#tokenListeners.add(listener);
  }

  revocationsReady(): Promise<void> {
    return Promise.resolve();
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#listeners.clear();
    this.#tokenListeners.clear();
    return Promise.resolve();
  }

  #seal(session: Session, ticket: SessionTicket): string {
    return sealSessionRecord(toSessionRecord(session), {
      secret: ticket.secret,
      storageKey: session.key,
      ...definedFields({ randomBytes: this.#randomBytes }),
    });
  }

  /** Removes a session and its index entries; `true` if it existed. */
  #remove(key: string): boolean {
    const stored = this.#sessions.get(key);
    if (stored === undefined) return false;
    this.#sessions.delete(key);
    removeFromIndex(this.#byUser, stored.userKey, key);
    removeFromIndex(this.#byUserName, stored.userName, key);
    if (stored.sidKey !== undefined) removeFromIndex(this.#bySid, stored.sidKey, key);
    return true;
  }

  /** The listings of the live sessions among `keys`, most recently used first. */
  #list(keys: ReadonlySet<string> | undefined): SessionListing[] {
    const now = this.#now();
    const listings: SessionListing[] = [];
    for (const key of [...(keys ?? [])]) {
      const stored = this.#sessions.get(key);
      if (stored === undefined) continue;
      if (!isLive(stored, now)) {
        this.#remove(key);
        continue;
      }
      listings.push({
        key,
        provider: stored.provider,
        createdAt: stored.createdAt,
        lastUsedAt: stored.lastUsedAt,
        idleExpiresAt: stored.idleExpiresAt,
        absoluteExpiresAt: stored.absoluteExpiresAt,
        userAgent: stored.userAgent ?? null,
      });
    }
    return listings.sort(byRecentUse);
  }

  async #removeAll(keys: ReadonlySet<string> | undefined): Promise<string[]> {
    const ended: string[] = [];
    for (const key of [...(keys ?? [])]) {
      if (this.#remove(key)) ended.push(key);
    }
    await this.publishRevocation(ended);
    return ended;
  }

  /**
   * Login states not yet taken nor expired. They are written with one TTL, so insertion order is
   * expiry order: expired ones are dropped from the front, and the full scan runs only when the
   * count is at the limit (a different TTL could hide an expired one behind a live one).
   */
  #pendingLoginStates(now: number, maxPending: number): number {
    for (const [key, entry] of this.#loginStates) {
      if (entry.expiresAt > now) break;
      this.#loginStates.delete(key);
    }
    if (this.#loginStates.size < maxPending) return this.#loginStates.size;
    for (const [key, entry] of this.#loginStates) {
      if (entry.expiresAt <= now) this.#loginStates.delete(key);
    }
    return this.#loginStates.size;
  }

  #put<T>(map: Map<string, Expiring<T>>, key: string, entry: Expiring<T>): void {
    map.delete(key);
    while (map.size >= this.#maxEntries) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
    map.set(key, entry);
  }
}

function sidKeyOf(provider: string, sid: string): string {
  return `${provider}\u0000${sid}`;
}

function addToIndex(index: Map<string, Set<string>>, indexKey: string, key: string): void {
  const keys = index.get(indexKey);
  if (keys === undefined) index.set(indexKey, new Set([key]));
  else keys.add(key);
}

function removeFromIndex(index: Map<string, Set<string>>, indexKey: string, key: string): void {
  const keys = index.get(indexKey);
  if (keys === undefined) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(indexKey);
}
