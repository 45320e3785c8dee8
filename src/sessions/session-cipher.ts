import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  randomBytes as cryptoRandomBytes,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isRecord } from '../is-record.ts';
import { LruCache } from '../lru-cache.ts';

/**
 * Encrypts session records at rest with AES-256-GCM (NIST SP 800-38D) so that a Redis dump reveals
 * no token, name or email (docs/architecture.md "Sessions", invariant 6).
 *
 * - Key: HKDF-SHA256 (RFC 5869) over the ticket's 256-bit secret, which only the browser holds.
 *   The secret is already uniformly random, so a fixed salt is enough (RFC 5869 §3.1); the `info`
 *   string separates this use from any future one and carries the format version.
 * - IV: 96 random bits per seal (SP 800-38D §8.2.2). A session is re-sealed only on login and
 *   token refresh, far below the 2^32 messages-per-key limit of §8.3.
 * - AAD: the storage key. A record copied under another session's key fails to open, so a party
 *   with write access to Redis cannot swap records between sessions.
 *
 * Sealed form: `v1.` + base64url(iv ‖ ciphertext ‖ tag). Opening never throws: a wrong secret,
 * another storage key, a truncated or tampered record, or non-JSON content all give `null`.
 */

export type SealedRecord = string;

export interface SealOptions {
  /** The ticket's secret (base64url); the key is derived from it. */
  readonly secret: string;
  /** Authenticated but not encrypted: the storage key the record lives under. */
  readonly storageKey: string;
  /** Source of IVs; `node:crypto.randomBytes` unless a test injects one. */
  readonly randomBytes?: (size: number) => Buffer;
}

const VERSION_PREFIX = 'v1.';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_SALT = Buffer.from('gatehouse/session-cipher', 'utf8');
const HKDF_INFO = Buffer.from('gatehouse/session/v1', 'utf8');
/** Records are a few KiB; refusing absurd input bounds the work an attacker can cause. */
const MAX_SEALED_CHARS = 1024 * 1024;

export function sealSessionRecord(record: object, options: SealOptions): SealedRecord {
  const random = options.randomBytes ?? cryptoRandomBytes;
  const iv = random(IV_BYTES);
  if (iv.length !== IV_BYTES) throw new RangeError(`randomBytes returned ${iv.length} bytes`);
  const cipher = createCipheriv(ALGORITHM, deriveKey(options.secret), iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(Buffer.from(options.storageKey, 'utf8'));
  const plaintext = Buffer.from(JSON.stringify(record), 'utf8');
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const sealed = Buffer.concat([iv, ciphertext, cipher.getAuthTag()]);
  return VERSION_PREFIX + sealed.toString('base64url');
}

/** The record as a plain JSON object, or `null` when it cannot be authenticated or parsed. */
export function openSessionRecord(
  sealed: unknown,
  options: Omit<SealOptions, 'randomBytes'>,
): Record<string, unknown> | null {
  if (
    typeof sealed !== 'string' ||
    sealed.length > MAX_SEALED_CHARS ||
    !sealed.startsWith(VERSION_PREFIX)
  ) {
    return null;
  }
  const bytes = Buffer.from(sealed.slice(VERSION_PREFIX.length), 'base64url');
  if (bytes.length < IV_BYTES + TAG_BYTES) return null;
  const iv = bytes.subarray(0, IV_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const ciphertext = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES);
  let plaintext: string;
  try {
    const decipher = createDecipheriv(ALGORITHM, deriveKey(options.secret), iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(options.storageKey, 'utf8'));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    // GCM tag mismatch: wrong secret, another storage key, or tampered bytes.
    return null;
  }
  try {
    const value: unknown = JSON.parse(plaintext);
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * Derived keys of recently used tickets (issue #17: HKDF cost about a third of an uncached check,
 * which derives the key again on every request that reaches the store). Bounded, least recently
 * used first out; it holds nothing the per-replica session cache does not already hold in clear.
 *
 * Kept as `KeyObject`s, not Buffers: given a Buffer, `createDecipheriv` first asks whether it is
 * a KeyObject and then a CryptoKey, and both brand checks fail by catching an exception. A CPU
 * profile of bench scenario (d) put those two checks at 16% of the uncached check's time; with a
 * KeyObject the first check succeeds (docs/benchmarks.md "What each optimisation bought").
 */
const derivedKeys = new LruCache<string, KeyObject>({ maxEntries: 10_000 });

function deriveKey(secret: string): KeyObject {
  const cached = derivedKeys.get(secret);
  if (cached !== undefined) return cached;
  const key = createSecretKey(
    Buffer.from(
      hkdfSync('sha256', Buffer.from(secret, 'base64url'), HKDF_SALT, HKDF_INFO, KEY_BYTES),
    ),
  );
  derivedKeys.set(secret, key);
  return key;
}
