import { createHash, randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto';
import { openSessionRecord, sealSessionRecord } from '../sessions/session-cipher.ts';
import { definedFields } from '../defined-fields.ts';

/**
 * The state of a started sign-in (docs/architecture.md "Sessions", invariant 5), stored under a random
 * `state` for a few minutes and taken once by the callback.
 *
 * It is bound to the browser that started it by the login-binding cookie, a 256-bit random value:
 * - the record carries SHA-256(binding), so a callback in another browser (login CSRF, OAuth 2.0
 *   Security BCP RFC 9700 §4.7) is recognised and refused with a clear error;
 * - the secrets inside (PKCE verifier, nonce, `rd`) are sealed with AES-256-GCM under a key derived
 *   from the binding value (session-cipher.ts), so a store dump reveals no verifier, and a record
 *   opened from another browser simply fails to decrypt even if the hash check were bypassed.
 */
export interface LoginState {
  readonly provider: string;
  readonly codeVerifier: string;
  readonly nonce: string;
  /** The validated destination after sign-in. */
  readonly rd: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /**
   * Step-up (issue #19): the `max_age` (seconds) the authorization request asked for, so the
   * callback checks the ID token's `auth_time` against it (OpenID Connect Core §3.1.3.7 item 13)
   * — a provider that ignored the request cannot hand back an old sign-in as a fresh one.
   */
  readonly maxAge?: number;
}

/** base64url of 32 bytes, canonical last character (as session tickets, ticket.ts). */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** A new 256-bit random token (state values and binding cookies). */
export function randomToken(random: (size: number) => Buffer = cryptoRandomBytes): string {
  const bytes = random(32);
  if (bytes.length !== 32) throw new RangeError(`randomBytes returned ${bytes.length} bytes`);
  return bytes.toString('base64url');
}

/** Whether `value` could be a token from `randomToken` (binding cookie, `state`). */
export function isWellFormedToken(value: unknown): value is string {
  return typeof value === 'string' && TOKEN_PATTERN.test(value);
}

export function bindingHashOf(binding: string): string {
  return createHash('sha256').update(binding, 'utf8').digest('base64url');
}

interface StoredLoginState {
  readonly v: 1;
  /** SHA-256 of the binding cookie. */
  readonly b: string;
  /** The sealed LoginState. */
  readonly s: string;
}

export function sealLoginState(
  state: LoginState,
  stateKey: string,
  binding: string,
  random?: (size: number) => Buffer,
): string {
  const stored: StoredLoginState = {
    v: 1,
    b: bindingHashOf(binding),
    s: sealSessionRecord(state, {
      secret: binding,
      storageKey: aadOf(stateKey),
      ...definedFields({ randomBytes: random }),
    }),
  };
  return JSON.stringify(stored);
}

export type OpenedLoginState =
  | { readonly ok: true; readonly state: LoginState }
  | { readonly ok: false; readonly reason: 'other-browser' | 'malformed' };

/**
 * Opens stored login state with the binding cookies the callback request carried (a browser may
 * send several same-named cookies); `other-browser` when none of them is the one that started it.
 */
export function openLoginState(
  stored: string,
  stateKey: string,
  bindings: readonly string[],
): OpenedLoginState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isStoredLoginState(parsed)) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(parsed.b, 'utf8');
  const binding = bindings.find((candidate) => {
    const actual = Buffer.from(bindingHashOf(candidate), 'utf8');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  });
  if (binding === undefined) return { ok: false, reason: 'other-browser' };
  const record = openSessionRecord(parsed.s, { secret: binding, storageKey: aadOf(stateKey) });
  if (record === null) return { ok: false, reason: 'other-browser' };
  const { provider, codeVerifier, nonce, rd, createdAt, maxAge } = record;
  if (
    typeof provider !== 'string' ||
    typeof codeVerifier !== 'string' ||
    typeof nonce !== 'string' ||
    typeof rd !== 'string' ||
    typeof createdAt !== 'number' ||
    (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge)))
  ) {
    return { ok: false, reason: 'malformed' };
  }
  return {
    ok: true,
    state: { provider, codeVerifier, nonce, rd, createdAt, ...definedFields({ maxAge }) },
  };
}

/** Separates login-state ciphertexts from session records (whose AAD is a bare storage key). */
function aadOf(stateKey: string): string {
  return `login-state:${stateKey}`;
}

function isStoredLoginState(value: unknown): value is StoredLoginState {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return record['v'] === 1 && typeof record['b'] === 'string' && typeof record['s'] === 'string';
}
