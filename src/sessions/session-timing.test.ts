import { describe, expect, it } from 'vitest';
import { isLive, resolveTiming, slidIdleExpiry, storageTtlMs } from './session-timing.ts';

describe('session timing', () => {
  const timing = resolveTiming({ idleTimeoutMs: 30 * 60_000, absoluteLifetimeMs: 8 * 3600_000 });

  it('is live only before both expiries', () => {
    expect(isLive({ idleExpiresAt: 100, absoluteExpiresAt: 200 }, 99)).toBe(true);
    expect(isLive({ idleExpiresAt: 100, absoluteExpiresAt: 200 }, 100)).toBe(false);
    expect(isLive({ idleExpiresAt: 300, absoluteExpiresAt: 200 }, 200)).toBe(false);
  });

  it('slides at most once per interval and never past the absolute end', () => {
    const at = { idleExpiresAt: timing.idleTimeoutMs, absoluteExpiresAt: 10 * 3600_000 };
    expect(slidIdleExpiry(at, 59_999, timing)).toBeNull();
    expect(slidIdleExpiry(at, 60_000, timing)).toBe(60_000 + timing.idleTimeoutMs);
    const nearEnd = { idleExpiresAt: timing.idleTimeoutMs, absoluteExpiresAt: 100_000 };
    expect(slidIdleExpiry(nearEnd, 90_000, timing)).toBeNull();
  });

  it('slides at half the idle timeout when that is under the interval', () => {
    const short = resolveTiming({ idleTimeoutMs: 10_000, absoluteLifetimeMs: 100_000 });
    const at = { idleExpiresAt: 10_000, absoluteExpiresAt: 100_000 };
    expect(slidIdleExpiry(at, 4_999, short)).toBeNull();
    expect(slidIdleExpiry(at, 5_000, short)).toBe(15_000);
  });

  it('keeps records until the earlier expiry, at least 1 ms', () => {
    expect(storageTtlMs({ idleExpiresAt: 500, absoluteExpiresAt: 300 }, 100)).toBe(200);
    expect(storageTtlMs({ idleExpiresAt: 500, absoluteExpiresAt: 300 }, 400)).toBe(1);
  });

  it('rejects nonsensical durations', () => {
    expect(() => resolveTiming({ idleTimeoutMs: 0, absoluteLifetimeMs: 1 })).toThrow(RangeError);
    expect(() => resolveTiming({ idleTimeoutMs: 1, absoluteLifetimeMs: Number.NaN })).toThrow();
  });
});
