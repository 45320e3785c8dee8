import type { NewSession, Session } from './session.ts';
import type { SessionTicket } from './ticket.ts';

/**
 * Where sessions, login state, refresh locks and replay markers live. Implementations:
 * `redis/redis-store.ts` (production: standalone, Sentinel, Cluster), `memory/memory-store.ts`
 * (local runs and unit tests), and `session-cache.ts` (a per-replica read-through cache in front
 * of either). One contract suite (`session-store.contract.ts`) runs against all of them.
 *
 * Failures of the backing service are thrown as `DependencyError('redis', ...)`, never turned into
 * `null` / `false`: a caller must be able to tell an outage from a missing session (fail closed,
 * DESIGN.md invariant 1), and an outage must never look like a fresh login state or a first-seen
 * `jti`.
 *
 * Ending sessions (`delete`, `deleteByUser`, `deleteBySid`) also publishes the ended keys as a
 * revocation, so every replica's cache drops them; callers need not publish themselves.
 */
export interface SessionStore {
  /**
   * Stores a new session under `sessionKeyOf(ticket.id)`, sealed with `ticket.secret`, and adds it
   * to the per-user index (and the `sid` index when `oidcSid` is set). Idle and absolute expiries
   * come from the store's timing; `fields.absoluteExpiresAt` can only shorten the absolute one.
   */
  create(fields: NewSession, ticket: SessionTicket): Promise<Session>;

  /**
   * The live session for this ticket, or `null` when it is missing, cannot be opened with the
   * ticket's secret, or is past its idle or absolute expiry. Extends the idle expiry (at most once
   * per sliding interval). `bypassCache` only matters to caches: a refresh, after taking the lock,
   * must read what another replica may just have written.
   */
  get(ticket: SessionTicket, options?: GetOptions): Promise<Session | null>;

  /**
   * Replaces the session's record (e.g. after a token refresh), resetting its idle expiry. Returns
   * `false`, writing nothing, when the session no longer exists: a logout that raced a refresh
   * must not be undone. Provider, subject and `oidcSid` are fixed for a session's life.
   */
  update(ticket: SessionTicket, session: Session): Promise<boolean>;

  /** Ends one session by storage key. Resolves `true` if it existed. */
  delete(key: string): Promise<boolean>;
  /** Ends every session of a user (`userKeyOf(provider, subject)`); resolves to the ended keys. */
  deleteByUser(userKey: string): Promise<string[]>;
  /** Ends the sessions bound to a provider's `sid` (Back-Channel Logout); the ended keys. */
  deleteBySid(provider: string, sid: string): Promise<string[]>;
  /** Storage keys of a user's live sessions (stale index entries are pruned on the way). */
  listKeysByUser(userKey: string): Promise<string[]>;

  /**
   * Keeps login state (state, PKCE verifier, nonce, `rd`) for `ttlMs`, and counts it as pending
   * until it is taken or expires. With `limits.maxPending` (> 0), writes nothing and resolves
   * `stored: false` while that many are already pending across all replicas: every anonymous
   * `/oauth2/start` costs storage for minutes, so a flood must hit a ceiling, not fill Redis
   * (OWASP ASVS 5.0 V2.4.1, anti-automation; CWE-770). The count is best effort at the edges
   * (a state written by a replica that crashed right after counting it counts until its TTL).
   */
  putLoginState(
    stateKey: string,
    value: string,
    ttlMs: number,
    limits?: LoginStateLimits,
  ): Promise<LoginStatePut>;
  /** Atomically reads and deletes login state: it can be taken once (invariant 5). */
  takeLoginState(stateKey: string): Promise<string | null>;

  /**
   * Counts one sign-in start of `client` (an address or address block; a storage-safe name) in
   * the current fixed window of `windowMs`, windows being judged by the store's injected clock.
   * Shared by every replica, so adding replicas does not multiply a client's budget.
   */
  countSignInStart(client: string, windowMs: number): Promise<WindowCount>;

  /**
   * Runs `fn` while holding the named lock, or resolves `LOCK_BUSY` without running it when
   * another holder (on any replica) has it. The lock expires after `ttlMs` even if its holder
   * dies; releasing only deletes the lock if it is still this holder's (a random token), so a
   * holder that outlived its TTL cannot release someone else's lock. Errors of `fn` propagate.
   */
  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T | LockBusy>;

  /**
   * `true` the first time `(namespace, id)` is seen within `ttlMs`, `false` afterwards: a replay
   * guard for Back-Channel Logout tokens' `jti` (OIDC Back-Channel Logout 1.0 §2.6).
   */
  rememberOnce(namespace: string, id: string, ttlMs: number): Promise<boolean>;

  /** Tells every replica (this one included) that these storage keys were ended. */
  publishRevocation(keys: readonly string[]): Promise<void>;
  /** Subscribes to revocations from every replica; returns the unsubscribe function. */
  onRevocation(listener: RevocationListener): () => void;
  /**
   * Resolves once revocations from other replicas are being received (for readiness and tests);
   * rejects with a `DependencyError` if that cannot happen within the connect timeout.
   */
  revocationsReady(): Promise<void>;

  /** Rejects with `DependencyError` when the backing service is unreachable (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface LoginStateLimits {
  /** Most login states pending at once; 0 or absent: no limit. */
  readonly maxPending?: number;
}

export type LoginStatePut =
  | { readonly stored: true }
  /** `retryAfterMs`: until the oldest pending login state expires and frees a place. */
  | { readonly stored: false; readonly retryAfterMs: number };

export interface WindowCount {
  /** Starts counted in this window, this one included. */
  readonly count: number;
  /** Milliseconds until the window ends and the count starts again from zero. */
  readonly resetInMs: number;
}

export interface GetOptions {
  readonly bypassCache?: boolean;
}

export type RevocationListener = (keys: readonly string[]) => void;

/** What `withLock` resolves to when another holder has the lock. */
export const LOCK_BUSY: unique symbol = Symbol('gatehouse.lockBusy');
export type LockBusy = typeof LOCK_BUSY;

/** Lock names, namespaces and state keys go into storage keys: keep them short and plain. */
const NAME_PATTERN = /^[\w.:-]{1,200}$/;

export function assertStorageName(kind: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new TypeError(`${kind} must match ${String(NAME_PATTERN)}`);
  }
}

export function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError('ttlMs must be a positive integer of milliseconds');
  }
}

/** Revocation messages carry storage keys only; anything else on the channel is ignored. */
export const STORAGE_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
