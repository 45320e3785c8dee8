/**
 * The login-state role of the session backend (session-backend.ts): what a sign-in keeps between
 * `/oauth2/start` and the callback, and the per-client count of sign-in starts. A failure of the
 * backing service is thrown as `DependencyError`: an outage must never look like a fresh login
 * state or an unused rate budget.
 */
export interface LoginStateStore {
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
