/**
 * Idle and absolute expiry, shared by every store. Pure: the caller passes `now`.
 *
 * The idle expiry slides on access, but a store writes the new expiry at most once per
 * `slidingIntervalMs` (docs/architecture.md "Sessions": at most once a minute), so the hot path is a read,
 * not a write, for nearly every request.
 */

export interface SessionTiming {
  /** A session unused this long ends. */
  readonly idleTimeoutMs: number;
  /** A session ends this long after login, however active. */
  readonly absoluteLifetimeMs: number;
  /** Minimum time between two idle-expiry extensions of one session (default 60 s). */
  readonly slidingIntervalMs: number;
}

export const DEFAULT_SLIDING_INTERVAL_MS = 60_000;

export interface Expiries {
  readonly idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
}

/** Whether a session with these expiries may still be used at `now`. */
export function isLive(expiries: Expiries, now: number): boolean {
  return now < expiries.idleExpiresAt && now < expiries.absoluteExpiresAt;
}

/** The idle expiry granted by an access (or a write) at `now`, never past the absolute end. */
export function idleExpiryAt(
  now: number,
  absoluteExpiresAt: number,
  timing: SessionTiming,
): number {
  return Math.min(now + timing.idleTimeoutMs, absoluteExpiresAt);
}

/**
 * The new idle expiry if an access at `now` should extend it, else `null`. The last extension
 * happened at `idleExpiresAt - idleTimeoutMs`. When the idle timeout is shorter than twice the
 * interval, the interval shrinks to half the timeout so an active session cannot expire between
 * two extensions.
 */
export function slidIdleExpiry(
  expiries: Expiries,
  now: number,
  timing: SessionTiming,
): number | null {
  const interval = Math.min(timing.slidingIntervalMs, timing.idleTimeoutMs / 2);
  const lastExtendedAt = expiries.idleExpiresAt - timing.idleTimeoutMs;
  if (now - lastExtendedAt < interval) return null;
  const next = idleExpiryAt(now, expiries.absoluteExpiresAt, timing);
  return next > expiries.idleExpiresAt ? next : null;
}

/** Time to live of the stored record: until the earlier of both expiries, at least 1 ms. */
export function storageTtlMs(expiries: Expiries, now: number): number {
  return Math.max(1, Math.min(expiries.idleExpiresAt, expiries.absoluteExpiresAt) - now);
}

export function resolveTiming(options: {
  readonly idleTimeoutMs: number;
  readonly absoluteLifetimeMs: number;
  readonly slidingIntervalMs?: number | undefined;
}): SessionTiming {
  const timing: SessionTiming = {
    idleTimeoutMs: options.idleTimeoutMs,
    absoluteLifetimeMs: options.absoluteLifetimeMs,
    slidingIntervalMs: options.slidingIntervalMs ?? DEFAULT_SLIDING_INTERVAL_MS,
  };
  for (const [name, value] of Object.entries(timing)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`${name} must be a positive integer of milliseconds`);
    }
  }
  return timing;
}
