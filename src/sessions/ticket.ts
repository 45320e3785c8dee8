import { hash, randomBytes as cryptoRandomBytes } from 'node:crypto';

/**
 * Session tickets: the cookie value `v1.<id>.<secret>`.
 *
 * - `id` (256 random bits) names the session; only its SHA-256 (`sessionKeyOf`) is ever stored or
 *   logged, so a Redis dump or a log line cannot be replayed as a cookie (docs/architecture.md invariant 6).
 * - `secret` (256 random bits) never leaves the cookie: the session record is encrypted with a key
 *   derived from it (session-cipher.ts), so a Redis dump alone reveals no token.
 *
 * 256 bits each follows OWASP ASVS 3.2.2 / the OWASP Session Management Cheat Sheet (at least 64
 * bits of entropy), with a wide margin because the id is also a database key.
 */

/** The two halves of a parsed ticket. */
export interface SessionTicket {
  /** base64url of 32 random bytes; secret: never store or log it, use `sessionKeyOf(id)`. */
  readonly id: string;
  /** base64url of 32 random bytes; the key material of the session record. */
  readonly secret: string;
}

/** A freshly issued ticket, with the cookie text to send. */
export interface IssuedTicket extends SessionTicket {
  readonly text: string;
}

export interface TicketOptions {
  /** Source of randomness; `node:crypto.randomBytes` unless a test injects one. */
  readonly randomBytes?: (size: number) => Buffer;
}

const TICKET_PREFIX = 'v1.';
const PART_BYTES = 32;
/** base64url of 32 bytes without padding: ceil(32 * 4 / 3) = 43 characters. */
const PART_CHARS = 43;
const TICKET_LENGTH = TICKET_PREFIX.length + PART_CHARS + 1 + PART_CHARS;
/**
 * 43 base64url characters carry 258 bits, so the last one holds only 2 data bits and its 4 low
 * bits must be zero. Accepting only the canonical character means every 32-byte value has exactly
 * one spelling (RFC 4648 §3.5), so two different cookie strings never name the same session.
 */
const PART_PATTERN = '[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]';
const TICKET_PATTERN = new RegExp(`^v1\\.(${PART_PATTERN})\\.(${PART_PATTERN})$`);

/** Issues a new ticket from 2 × 256 random bits. A new one is issued at every login. */
export function issueTicket(options: TicketOptions = {}): IssuedTicket {
  const random = options.randomBytes ?? cryptoRandomBytes;
  const id = randomPart(random);
  const secret = randomPart(random);
  return { id, secret, text: formatTicket({ id, secret }) };
}

/** The cookie text of a ticket. */
export function formatTicket(ticket: SessionTicket): string {
  return `${TICKET_PREFIX}${ticket.id}.${ticket.secret}`;
}

/**
 * Parses cookie text strictly: exact version prefix, exact lengths, canonical base64url.
 * Anything else (including huge, non-ASCII or non-string input) is `null`; it never throws.
 * The length is checked before the regular expression runs, so the work is bounded.
 */
export function parseTicket(text: unknown): SessionTicket | null {
  if (typeof text !== 'string' || text.length !== TICKET_LENGTH) return null;
  const match = TICKET_PATTERN.exec(text);
  const id = match?.[1];
  const secret = match?.[2];
  if (id === undefined || secret === undefined) return null;
  return { id, secret };
}

/**
 * The storage key of a session: base64url(SHA-256(id bytes)), 43 characters. It is the only form
 * of the id that may be stored, published or logged.
 */
export function sessionKeyOf(id: string): string {
  // The one-shot `hash` (Node ≥ 21.7) builds no Hash object: this runs on every check that
  // reaches the store (issue #17).
  return hash('sha256', Buffer.from(id, 'base64url'), 'base64url');
}

function randomPart(random: (size: number) => Buffer): string {
  const bytes = random(PART_BYTES);
  if (bytes.length !== PART_BYTES) {
    throw new RangeError(`randomBytes returned ${bytes.length} bytes, expected ${PART_BYTES}`);
  }
  return bytes.toString('base64url');
}
