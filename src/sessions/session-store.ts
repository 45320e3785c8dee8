import type { NewSession, Session } from './session.ts';
import type { SessionTicket } from './ticket.ts';

/**
 * The sessions role of the session backend (session-backend.ts, which lists the other roles and
 * the implementations): sessions, and the per-user and per-`sid` indexes that end them in bulk.
 * A failure of the backing service is thrown as `DependencyError`, never read as "no session"
 * (session-backend.ts).
 *
 * Ending sessions (`delete`, `deleteByUser`, `deleteBySid`) also publishes the ended keys on the
 * revocation bus (revocation-bus.ts), so every replica's cache drops them; callers need not
 * publish themselves. `update` publishes nothing: a caller whose change must hold on every
 * replica at once publishes the key itself, or other replicas' caches serve the previous record
 * for up to their TTL.
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
   * per sliding interval); a cache in front answers from memory for up to its TTL without
   * extending, so the extension comes with the first read that reaches the store. `bypassCache`
   * only matters to caches: a refresh, after taking the lock, must read what another replica may
   * just have written.
   */
  get(ticket: SessionTicket, options?: GetOptions): Promise<Session | null>;

  /**
   * What `get(ticket)` would answer from memory right now, without waiting: the session when a
   * cache in front holds it for exactly this ticket, undefined when only a read could tell
   * (stores without a cache do not implement it). Lets a check that hits the cache finish in one
   * turn of the event loop (issue #17).
   */
  cached?(ticket: SessionTicket): Session | undefined;

  /**
   * Replaces the session's record (e.g. after a token refresh), resetting its idle expiry; the
   * absolute expiry fixed at login stays (a later one in `session` is ignored). Returns `false`,
   * writing nothing, when the session no longer exists or has expired: a logout that raced a
   * refresh must not be undone. The store does not re-index: the caller must keep `provider`,
   * `subject` and `oidcSid` as they were, or the session stays listed under the old ones.
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
}

export interface GetOptions {
  readonly bypassCache?: boolean;
}
