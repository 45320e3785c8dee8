/**
 * The locks role of the session backend (session-backend.ts): named locks shared by every
 * replica, such as the one that keeps a session's token refresh single (oidc/token-refresh.ts).
 */
export interface Locks {
  /**
   * Runs `fn` while holding the named lock, or resolves `LOCK_BUSY` without running it when
   * another holder (on any replica) has it. The lock expires after `ttlMs` even if its holder
   * dies; releasing only deletes the lock if it is still this holder's (a random token), so a
   * holder that outlived its TTL cannot release someone else's lock. Errors of `fn` propagate; a
   * failure to take the lock is thrown as `DependencyError`, a failure to release it is only
   * logged (the lock expires anyway).
   */
  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T | LockBusy>;
}

/** What `withLock` resolves to when another holder has the lock. */
export const LOCK_BUSY: unique symbol = Symbol('gatehouse.lockBusy');
export type LockBusy = typeof LOCK_BUSY;
