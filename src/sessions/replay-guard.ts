/**
 * The replay-guard role of the session backend (session-backend.ts): one-time markers shared by
 * every replica. A failure of the backing service is thrown as `DependencyError`, never read as
 * "first seen".
 */
export interface ReplayGuard {
  /**
   * `true` the first time `(namespace, id)` is seen within `ttlMs`, `false` afterwards: a replay
   * guard for Back-Channel Logout tokens' `jti` (OIDC Back-Channel Logout 1.0 §2.6).
   */
  rememberOnce(namespace: string, id: string, ttlMs: number): Promise<boolean>;
}
