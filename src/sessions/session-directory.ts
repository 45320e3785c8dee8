/**
 * The directory role of the session backend (session-backend.ts): what a person (the portal) and
 * an operator (`gatehouse sessions`) can see of sessions, and the bulk end an operator needs
 * (issue #20).
 *
 * Session records are sealed with the ticket secret only the browser holds (session-cipher.ts),
 * so nothing but the browser can open them. Beside each record the store keeps a small listing in
 * clear: the provider, the sign-in time, the last use and a device summary from a closed
 * vocabulary (user-agent-summary.ts). It holds no token, no user name, no e-mail and no subject:
 * a user name reaches the store only as the SHA-256 name of an index (redis/redis-keys.ts), so an
 * operator finds a person's sessions by asking for the name, and a Redis dump still shows no
 * personal data in clear (architecture.md "Security invariants" 6).
 *
 * Sessions created before the listing existed are listed with `null` for what they lack; they
 * are not in the user-name index, so `listByUserName` does not find them (they end by their
 * absolute lifetime; `listByUser` and the sign-out paths still reach them).
 */
export interface SessionDirectory {
  /**
   * The live sessions of one person, `userKeyOf(provider, subject)`, most recently used first
   * (the portal: "your sessions"). Stale index entries are pruned on the way.
   */
  listByUser(userKey: string): Promise<SessionListing[]>;
  /**
   * The live sessions whose identity had this user name at sign-in (`Identity.user`, compared
   * exactly), from every provider, most recently used first (`gatehouse sessions list --user`).
   */
  listByUserName(userName: string): Promise<SessionListing[]>;
  /**
   * Ends every session one provider signed in (`gatehouse sessions revoke --all-of-source`) and
   * publishes the ended keys on the revocation bus; resolves to the ended keys. It walks every
   * session of the installation (a Redis `SCAN`), so it is an operator's action, not a hot path.
   */
  deleteByProvider(provider: string): Promise<string[]>;
}

/** What may be shown of one session; every time is epoch milliseconds. */
export interface SessionListing {
  /** Storage key (`sessionKeyOf(ticket.id)`): safe to show and log, useless without the cookie. */
  readonly key: string;
  /** The provider that signed the person in; `null` for a session older than the listing. */
  readonly provider: string | null;
  /** Sign-in time; `null` for a session older than the listing. */
  readonly createdAt: number | null;
  /**
   * Last use, to within the sliding interval (a store writes it when the idle expiry slides, at
   * most once a minute, and a replica's cache answers for a few seconds without the store).
   */
  readonly lastUsedAt: number;
  readonly idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
  /** "Firefox on Linux" (user-agent-summary.ts); `null` when unknown. */
  readonly userAgent: string | null;
}

/** The listing order: most recently used first, then the newest sign-in, then by key. */
export function byRecentUse(a: SessionListing, b: SessionListing): number {
  return (
    b.lastUsedAt - a.lastUsedAt ||
    (b.createdAt ?? 0) - (a.createdAt ?? 0) ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

/**
 * The last use of a session: the stored one, or, for a record that has none (older than the
 * listing, or last touched by an older replica during a rolling upgrade), the time of the last
 * idle-expiry slide, `idleExpiresAt - idleTimeoutMs` (session-timing.ts).
 */
export function lastUseOf(stored: {
  readonly lastUsedAt?: number | undefined;
  readonly createdAt?: number | undefined;
  readonly idleExpiresAt: number;
  readonly idleTimeoutMs: number;
}): number {
  const slidAt = stored.idleExpiresAt - stored.idleTimeoutMs;
  return Math.max(stored.lastUsedAt ?? slidAt, slidAt, stored.createdAt ?? slidAt);
}
