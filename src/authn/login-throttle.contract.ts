import { afterEach, describe, expect, it } from 'vitest';
import type { BanEvent, LoginThrottle, LoginThrottleSettings } from './login-throttle.ts';

/**
 * Behaviour every LoginThrottle must show, run against the memory and the Redis implementation.
 * Settings are small (3 retries, 2 s window, 1 s ban) so the Redis run can use real time.
 */
export const contractSettings: LoginThrottleSettings = {
  maxRetries: 3,
  findTimeMs: 2000,
  banTimeMs: 1000,
};

export interface ThrottleFixture {
  readonly throttle: LoginThrottle;
  /** Lets `ms` of the throttle's time pass (a fake clock, or real sleeping). */
  readonly advance: (ms: number) => Promise<void>;
  readonly dispose: () => Promise<void>;
}

export type ThrottleFactory = (
  settings: LoginThrottleSettings,
  onBan: (event: BanEvent) => void,
) => Promise<ThrottleFixture>;

/** Random start: runs against a shared Redis (or twice within one window) never collide. */
let sequence = Math.floor(Math.random() * 0xff0000);
/** Fresh names per test, so runs against a shared Redis never see each other's counters. */
function unique(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}`;
}

function uniqueIp(): string {
  sequence += 1;
  return `10.${(sequence >> 16) & 255}.${(sequence >> 8) & 255}.${sequence & 255}`;
}

export function describeLoginThrottleContract(name: string, factory: ThrottleFactory): void {
  describe(`LoginThrottle contract: ${name}`, () => {
    let fixture: ThrottleFixture | undefined;
    let bans: BanEvent[] = [];

    async function setup(): Promise<ThrottleFixture> {
      bans = [];
      fixture = await factory(contractSettings, (event) => bans.push(event));
      return fixture;
    }

    afterEach(async () => {
      await fixture?.dispose();
      fixture = undefined;
    });

    it('bans the user and the address at the third failure, then lifts the ban', async () => {
      const { throttle, advance } = await setup();
      const user = unique('alice');
      const ip = uniqueIp();
      expect(await throttle.isBanned(user, ip)).toEqual({ banned: false });
      await throttle.recordFailure(user, ip);
      await throttle.recordFailure(user, ip);
      expect(await throttle.isBanned(user, ip)).toEqual({ banned: false });
      expect(bans).toEqual([]);

      await throttle.recordFailure(user, ip);
      expect(await throttle.isBanned(user, ip)).toEqual({ banned: true, retryAfterSeconds: 1 });
      expect(bans.map((each) => each.scope).sort()).toEqual(['ip', 'user']);
      expect(bans[0]).toMatchObject({ user, clientIp: ip, banSeconds: 1 });

      await advance(1100);
      expect(await throttle.isBanned(user, ip)).toEqual({ banned: false });
      // A fresh window after the ban: one more failure does not ban again at once.
      await throttle.recordFailure(user, ip);
      expect(await throttle.isBanned(user, ip)).toEqual({ banned: false });
    });

    it('forgets failures older than the window', async () => {
      const { throttle, advance } = await setup();
      const user = unique('bob');
      const ip = uniqueIp();
      await throttle.recordFailure(user, ip);
      await throttle.recordFailure(user, ip);
      await advance(2100);
      await throttle.recordFailure(user, ip);
      expect(await throttle.isBanned(user, ip)).toEqual({ banned: false });
    });

    it('bans a user guessed at from many addresses, wherever they come from next', async () => {
      const { throttle } = await setup();
      const user = unique('carol');
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await throttle.recordFailure(user, uniqueIp());
      }
      expect((await throttle.isBanned(user, uniqueIp())).banned).toBe(true);
      expect((await throttle.isBanned(unique('someone-else'), uniqueIp())).banned).toBe(false);
      expect(bans.map((each) => each.scope)).toEqual(['user']);
    });

    it('bans an address spraying many users, for every user, counting ::ffff: as IPv4', async () => {
      const { throttle } = await setup();
      const ip = uniqueIp();
      await throttle.recordFailure(unique('u'), ip);
      await throttle.recordFailure(unique('u'), `::ffff:${ip}`);
      await throttle.recordFailure(unique('u'), ip);
      expect((await throttle.isBanned(unique('fresh'), ip)).banned).toBe(true);
      expect((await throttle.isBanned(unique('fresh'), `::ffff:${ip}`)).banned).toBe(true);
      expect((await throttle.isBanned(unique('fresh'), uniqueIp())).banned).toBe(false);
      expect(bans.map((each) => each.scope)).toEqual(['ip']);
    });

    it("resets the user's count on success, but not the address's", async () => {
      const { throttle } = await setup();
      const user = unique('dave');
      await throttle.recordFailure(user, uniqueIp());
      await throttle.recordFailure(user, uniqueIp());
      await throttle.recordSuccess(user, uniqueIp());
      await throttle.recordFailure(user, uniqueIp());
      expect((await throttle.isBanned(user, uniqueIp())).banned).toBe(false);

      // An attacker's own valid account does not wash the address's failures away.
      const ip = uniqueIp();
      await throttle.recordFailure(unique('victim'), ip);
      await throttle.recordFailure(unique('victim'), ip);
      await throttle.recordSuccess(unique('attacker'), ip);
      await throttle.recordFailure(unique('victim'), ip);
      expect((await throttle.isBanned(unique('anyone'), ip)).banned).toBe(true);
    });

    it('does not lift an active ban on success', async () => {
      const { throttle } = await setup();
      const user = unique('erin');
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await throttle.recordFailure(user, uniqueIp());
      }
      await throttle.recordSuccess(user, uniqueIp());
      expect((await throttle.isBanned(user, uniqueIp())).banned).toBe(true);
    });
  });
}
