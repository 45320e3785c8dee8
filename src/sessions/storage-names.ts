/** Lock names, namespaces and state keys go into storage keys: keep them short and plain. */
const NAME_PATTERN = /^[\w.:-]{1,200}$/;

export function assertStorageName(kind: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new TypeError(`${kind} must match ${String(NAME_PATTERN)}`);
  }
}

export function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError('ttlMs must be a positive integer of milliseconds');
  }
}

/**
 * A session's storage key (`sessionKeyOf`: base64url SHA-256). The Redis store ends and publishes
 * only keys of this form, and drops anything else it receives on the revocation channel.
 */
export const STORAGE_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
