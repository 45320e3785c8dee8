import { LruCache } from '../lru-cache.ts';
import { openSessionRecord } from './session-cipher.ts';
import type { Expiries } from './session-timing.ts';
import { fromSessionRecord } from './session.ts';
import type { Session } from './session.ts';
import type { SessionTicket } from './ticket.ts';

/**
 * Sessions already opened from their sealed records, so that reading the same stored record again
 * with the same ticket gives the SAME `Session` object without decrypting, parsing and validating
 * it again (issue #17: with the per-replica cache off, every check paid AES-GCM, JSON.parse and a
 * new identity with its roles; the identity is memoised per Session object by the session-cookie
 * authenticator, so a fresh object each time also meant recomputing roles).
 *
 * This changes nothing about consistency: the store is still read on every lookup, and only what
 * it returned is looked up here. An entry is found only by the storage key, the ticket's secret,
 * the stored expiries AND the sealed text itself, so a revoked session (gone from the store), an
 * updated one (re-sealed under a fresh IV: different text), a slid expiry or a ticket with another
 * secret never meets an entry; the last one goes through the full open, which refuses it. Nothing
 * is held that the store's reader did not already hold in clear, for no longer than the session's
 * absolute lifetime, and at most `maxEntries` sessions (least recently used out first).
 */
export class OpenedSessions {
  readonly #entries: LruCache<string, Session>;

  constructor(options: { readonly maxEntries?: number; readonly now?: () => number } = {}) {
    this.#entries = new LruCache({
      maxEntries: options.maxEntries ?? 1000,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /**
   * The session sealed in `sealed` under storage key `key`, with the stored expiries applied
   * (the absolute expiry fixed at login wins over whatever a later update sealed), or null when
   * the record cannot be opened with this ticket or is not a session.
   */
  open(sealed: string, ticket: SessionTicket, key: string, stored: Expiries): Session | null {
    const lookup = `${key}\n${ticket.secret}\n${String(stored.idleExpiresAt)}\n${String(stored.absoluteExpiresAt)}\n${sealed}`;
    const known = this.#entries.get(lookup);
    if (known !== undefined) return known;
    const record = openSessionRecord(sealed, { secret: ticket.secret, storageKey: key });
    const opened = record === null ? null : fromSessionRecord(record, key, stored.idleExpiresAt);
    if (opened === null) return null;
    const absoluteExpiresAt = Math.min(opened.absoluteExpiresAt, stored.absoluteExpiresAt);
    const session: Session = { ...opened, absoluteExpiresAt };
    this.#entries.set(lookup, session, absoluteExpiresAt);
    return session;
  }
}
