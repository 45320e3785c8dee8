import { describe, expect, it } from 'vitest';
import { describeLoginThrottleContract } from './login-throttle.contract.ts';
import { MemoryLoginThrottle } from './login-throttle-memory.ts';

describeLoginThrottleContract('memory', (settings, onBan) => {
  let now = 1_700_000_000_000;
  const throttle = new MemoryLoginThrottle({ ...settings, onBan, now: () => now });
  return Promise.resolve({
    throttle,
    advance: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    dispose: () => Promise.resolve(),
  });
});

describe('MemoryLoginThrottle', () => {
  it("uses Authelia's defaults: 3 failures within 2 minutes ban for 5 minutes", async () => {
    let now = 0;
    const throttle = new MemoryLoginThrottle({ now: () => now });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await throttle.recordFailure('alice', '192.0.2.1');
      now += 50_000;
    }
    // The third failure came 100 s after the first, inside find_time.
    expect(await throttle.isBanned('alice', '192.0.2.99')).toEqual({
      banned: true,
      retryAfterSeconds: 250,
    });
    now += 250_000;
    expect(await throttle.isBanned('alice', '192.0.2.99')).toEqual({ banned: false });
  });

  it('refuses settings that are not positive integers', () => {
    expect(() => new MemoryLoginThrottle({ maxRetries: 0 })).toThrow(/maxRetries/);
    expect(() => new MemoryLoginThrottle({ banTimeMs: 1.5 })).toThrow(/banTimeMs/);
  });
});
