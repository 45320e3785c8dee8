import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyError } from '../errors.ts';
import {
  createRedisClient,
  type RedisClient,
  waitForRedisReady,
} from '../sessions/redis/redis-connection.ts';
import { contractSettings, describeLoginThrottleContract } from './login-throttle.contract.ts';
import { RedisLoginThrottle } from './login-throttle-redis.ts';
import { findFreePort } from '../../test/fixtures/gatehouse/free-port.ts';
import { scanKeys } from '../../test/fixtures/redis/scan-keys.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `gatehouse-test:${randomUUID()}:`;
let client: RedisClient;

const keysUnderPrefix = (): Promise<string[]> => scanKeys(client, `${prefix}*`);

beforeAll(async () => {
  client = createRedisClient({ mode: 'standalone', url: REDIS_URL, keyPrefix: prefix });
  await waitForRedisReady(client, 5000);
});

afterAll(async () => {
  const keys = await keysUnderPrefix();
  if (keys.length > 0) await client.del(...keys);
  await client.quit();
});

describeLoginThrottleContract('redis', (settings, onBan) =>
  Promise.resolve({
    throttle: new RedisLoginThrottle({ client, keyPrefix: prefix, ...settings, onBan }),
    // Redis expires keys on its own clock: let real time pass.
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    dispose: () => Promise.resolve(),
  }),
);

describe('RedisLoginThrottle', () => {
  it('keeps counters under the documented keys, with the window as TTL and no user name', async () => {
    const throttle = new RedisLoginThrottle({ client, keyPrefix: prefix, ...contractSettings });
    const user = `frank-${randomUUID()}@example.com`;
    await throttle.recordFailure(user, '::ffff:192.0.2.44');
    const userKey = `${prefix}throttle:u:${createHash('sha256').update(user).digest('base64url')}`;
    const ipKey = `${prefix}throttle:ip:192.0.2.44`;
    expect(await client.get(userKey)).toBe('1');
    expect(await client.get(ipKey)).toBe('1');
    for (const key of [userKey, ipKey]) {
      const ttl = await client.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(contractSettings.findTimeMs);
    }
    expect((await keysUnderPrefix()).some((key) => key.includes('frank'))).toBe(false);

    // A second failure keeps the window's original expiry rather than extending it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await throttle.recordFailure(user, '192.0.2.44');
    expect(await client.get(userKey)).toBe('2');
    expect(await client.pttl(userKey)).toBeLessThanOrEqual(contractSettings.findTimeMs - 250);
    await client.del(userKey, ipKey);
  });

  it('fails closed with a DependencyError when Redis is unreachable', async () => {
    // Nothing listens there: the port was free a moment ago.
    const port = await findFreePort();
    const down = createRedisClient({
      mode: 'standalone',
      url: `redis://127.0.0.1:${port}`,
      keyPrefix: prefix,
    });
    try {
      const throttle = new RedisLoginThrottle({ client: down, keyPrefix: prefix });
      for (const attempt of [
        () => throttle.isBanned('alice', '192.0.2.1'),
        () => throttle.recordFailure('alice', '192.0.2.1'),
        () => throttle.recordSuccess('alice', '192.0.2.1'),
      ]) {
        const error: unknown = await attempt().then(
          () => 'resolved',
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(DependencyError);
        expect((error as DependencyError).dependency).toBe('redis');
      }
    } finally {
      down.disconnect();
    }
  });
});
