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
 * it returned is looked up here. An entry is used only when the storage key, the ticket's secret,
 * the stored expiries AND the sealed text itself all match, so a revoked session (gone from the store), an
 * updated one (re-sealed under a fresh IV: different text), a slid expiry or a ticket with another
 * secret never meets an entry; the last one goes through the full open, which refuses it. Nothing
 * is held that the store's reader did not already hold in clear, for no longer than the session's
 * absolute lifetime, and at most `maxEntries` sessions (least recently used out first).
 */
export class OpenedSessions {
  readonly #entries: LruCache<string, OpenedEntry>;

  constructor(options: { readonly maxEntries?: number; readonly now?: () => number } = {}) {
    this.#entries = new LruCache({
      maxEntries: options.maxEntries ?? 1000,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /**
   * The session sealed in `sealed` under storage key `key`, with the stored expiries applied
   * (the absolute expiry fixed at login wins over whatever a later update sealed), or null when
   * the record cannot be opened with this ticket or is not a session. `sealed` may be the bytes
   * Redis returned: an unchanged record is then recognised without ever becoming a string
   * (issue #17: the reply string and a lookup key built from it were most of the uncached
   * check's old-space garbage).
   */
  open(
    sealed: string | Buffer,
    ticket: SessionTicket,
    key: string,
    stored: Expiries,
  ): Session | null {
    const known = this.#entries.get(key);
    if (
      known !== undefined &&
      known.idleExpiresAt === stored.idleExpiresAt &&
      known.absoluteExpiresAt === stored.absoluteExpiresAt &&
      sameSealed(known.sealed, sealed) &&
      sameSecret(known.secret, ticket.secret)
    ) {
      return known.session;
    }
    const text = typeof sealed === 'string' ? sealed : sealed.toString('utf8');
    const record = openSessionRecord(text, { secret: ticket.secret, storageKey: key });
    const opened = record === null ? null : fromSessionRecord(record, key, stored.idleExpiresAt);
    if (opened === null) return null;
    const absoluteExpiresAt = Math.min(opened.absoluteExpiresAt, stored.absoluteExpiresAt);
    const session: Session = { ...opened, absoluteExpiresAt };
    this.#entries.set(
      key,
      {
        secret: ticket.secret,
        idleExpiresAt: stored.idleExpiresAt,
        absoluteExpiresAt: stored.absoluteExpiresAt,
        // A copy: a reply Buffer may be a view into a whole socket read.
        sealed: typeof sealed === 'string' ? sealed : Buffer.from(sealed),
        session,
      },
      absoluteExpiresAt,
    );
    return session;
  }
}

/** What a session was opened from, and with which secret. */
interface OpenedEntry {
  readonly secret: string;
  readonly idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly sealed: string | Buffer;
  readonly session: Session;
}

function sameSealed(known: string | Buffer, sealed: string | Buffer): boolean {
  if (typeof known === 'string' && typeof sealed === 'string') return known === sealed;
  if (typeof known !== 'string' && typeof sealed !== 'string') return known.equals(sealed);
  return false;
}

/**
 * Whether two ticket secrets are equal, in time that depends only on their length (fixed for
 * tickets): a caller who knows a session id must not learn its secret a character at a time.
 */
function sameSecret(known: string, secret: string): boolean {
  if (known.length !== secret.length) return false;
  let difference = 0;
  for (let index = 0; index < known.length; index++) {
    difference |= known.charCodeAt(index) ^ secret.charCodeAt(index);
  }
  return difference === 0;
}
