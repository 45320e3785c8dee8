/**
 * The revocation-bus role of the session backend (session-backend.ts): storage keys every
 * replica must drop from its cache at once, because the sessions ended (the session store
 * publishes those itself) or changed in a way that must hold everywhere immediately (an
 * impersonation started or ended).
 */
export interface RevocationBus {
  /**
   * Delivers these storage keys to the revocation listeners of every replica, this one included
   * once it is subscribed (`revocationsReady`).
   */
  publishRevocation(keys: readonly string[]): Promise<void>;
  /**
   * Subscribes to revocations from every replica; returns the unsubscribe function. Never throws:
   * a subscription the backing service refuses is logged, and retried by the next
   * `onRevocation` or `revocationsReady`, which reports it.
   */
  onRevocation(listener: RevocationListener): () => void;
  /**
   * Resolves once revocations from other replicas are being received (for readiness and tests);
   * rejects with a `DependencyError` if that cannot happen within the connect timeout.
   */
  revocationsReady(): Promise<void>;
}

export type RevocationListener = (keys: readonly string[]) => void;
