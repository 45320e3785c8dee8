import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyError } from '../../errors.ts';
import { Metrics } from '../../metrics/metrics.ts';
import { InstrumentedSessionStore } from '../instrumented-store.ts';
import { SessionCache } from '../session-cache.ts';
import { describeSessionStoreContract } from '../session-store.contract.ts';
import type { ContractSetup } from '../session-store.contract.ts';
import { issueTicket } from '../ticket.ts';
import {
  createRedisClient,
  redisAuthenticationFailure,
  redisRetryDelayMs,
  waitForRedisReady,
} from './redis-connection.ts';
import { RedisSessionStore } from './redis-store.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `gatehouse-test:${randomUUID()}:`;
const admin = new Redis(REDIS_URL, { lazyConnect: true });

async function keysUnderPrefix(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

async function dump(): Promise<string> {
  const lines: string[] = [];
  for (const key of await keysUnderPrefix()) {
    const type = await admin.type(key);
    const value =
      type === 'hash'
        ? JSON.stringify(await admin.hgetall(key))
        : type === 'set'
          ? JSON.stringify(await admin.smembers(key))
          : type === 'string'
            ? await admin.get(key)
            : type;
    lines.push(`${key} ${value ?? ''}`);
  }
  return lines.join('\n');
}

async function makeStore(setup: ContractSetup, keyPrefix = prefix): Promise<RedisSessionStore> {
  const client = createRedisClient({ mode: 'standalone', url: REDIS_URL, keyPrefix });
  await waitForRedisReady(client, 5000);
  return new RedisSessionStore({ client, keyPrefix, ...setup });
}

beforeAll(async () => {
  await admin.connect();
});

afterAll(async () => {
  const keys = await keysUnderPrefix();
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

describeSessionStoreContract('redis', async (setup) => {
  const store = await makeStore(setup);
  const replicas: RedisSessionStore[] = [];
  return {
    store,
    replica: async () => {
      const replica = await makeStore(setup);
      replicas.push(replica);
      return replica;
    },
    storageTtlOf: (key) => admin.pttl(`${prefix}s:${key}`),
    dump,
    dispose: async () => {
      await Promise.all([store, ...replicas].map((each) => each.close()));
    },
  };
});

// As main.ts wires a replica: the per-replica cache over the instrumented Redis store. Under a
// prefix of its own: the contract's clock starts again, and must not meet the keys of the run above.
const cachedPrefix = `${prefix}cached:`;
describeSessionStoreContract('redis behind the instrumented store and the cache', async (setup) => {
  const metrics = new Metrics({ collectProcessMetrics: false });
  const openReplica = async (): Promise<SessionCache> =>
    new SessionCache({
      store: new InstrumentedSessionStore(await makeStore(setup, cachedPrefix), metrics),
      now: setup.now,
    });
  const store = await openReplica();
  const replicas: SessionCache[] = [];
  return {
    store,
    replica: async () => {
      const replica = await openReplica();
      replicas.push(replica);
      return replica;
    },
    storageTtlOf: (key) => admin.pttl(`${cachedPrefix}s:${key}`),
    dump,
    dispose: async () => {
      await Promise.all([store, ...replicas].map((each) => each.close()));
    },
  };
});

describe('RedisSessionStore', () => {
  const setup = { now: Date.now, idleTimeoutMs: 60_000, absoluteLifetimeMs: 600_000 };
  const identity = { user: 'u', groups: [], claims: {} };

  it('lets login state expire with its TTL', async () => {
    const store = await makeStore(setup);
    try {
      await store.putLoginState('short-lived', 'value', 50);
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(await store.takeLoginState('short-lived')).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('ignores garbage published on the revocation channel', async () => {
    const store = await makeStore(setup);
    try {
      const received: (readonly string[])[] = [];
      store.onRevocation((keys) => received.push(keys));
      await store.revocationsReady();
      const channel = `${prefix}revocations`;
      await admin.publish(channel, 'not json');
      await admin.publish(channel, '{"keys":[]}');
      await admin.publish(channel, JSON.stringify(['../../etc', 42]));
      const ticket = issueTicket();
      const created = await store.create(
        { provider: 'p', subject: 's', identity, tokens: {} },
        ticket,
      );
      await store.delete(created.key);
      await expect.poll(() => received.length, { timeout: 1000 }).toBe(1);
      expect(received).toEqual([[created.key]]);
    } finally {
      await store.close();
    }
  });

  it('prunes index entries whose session expired on its own', async () => {
    const store = await makeStore(setup);
    try {
      const ticket = issueTicket();
      const created = await store.create(
        { provider: 'p', subject: 'prune-me', identity, tokens: {} },
        ticket,
      );
      await admin.del(`${prefix}s:${created.key}`); // as if its TTL ran out
      expect(await store.listKeysByUser('p\u0000prune-me')).toEqual([]);
      const index = (await keysUnderPrefix()).filter((key) => key.startsWith(`${prefix}u:`));
      const members = await Promise.all(index.map((key) => admin.smembers(key)));
      expect(members.flat()).not.toContain(created.key);
    } finally {
      await store.close();
    }
  });

  it('lists a session stored before the listing existed, with what it lacks unknown', async () => {
    const store = await makeStore(setup);
    try {
      const ticket = issueTicket();
      const created = await store.create(
        {
          provider: 'p',
          subject: 'pre-listing',
          identity: { ...identity, user: 'pre-listing-user' },
          tokens: {},
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
        },
        ticket,
      );
      // As an older gatehouse wrote it: no listing fields, no user-name index entry.
      await admin.hdel(`${prefix}s:${created.key}`, 'p', 'c', 'l', 'ua', 'n');
      const [listing] = await store.listByUser('p\u0000pre-listing');
      expect(listing).toEqual({
        key: created.key,
        provider: 'p',
        createdAt: null,
        lastUsedAt: created.createdAt,
        idleExpiresAt: created.idleExpiresAt,
        absoluteExpiresAt: created.absoluteExpiresAt,
        userAgent: null,
      });
      // It still works, and still ends with its user; ending it cleans the indexes it has.
      expect(await store.get(ticket)).not.toBeNull();
      expect(await store.deleteByUser('p\u0000pre-listing')).toEqual([created.key]);
    } finally {
      await store.close();
    }
  });

  it('shows as unknown a device summary it did not write', async () => {
    const store = await makeStore(setup);
    try {
      const created = await store.create(
        { provider: 'p', subject: 'foreign-ua', identity, tokens: {} },
        issueTicket(),
      );
      await admin.hset(`${prefix}s:${created.key}`, 'ua', '<img src=x onerror=alert(1)>');
      const [listing] = await store.listByUser('p\u0000foreign-ua');
      expect(listing?.userAgent).toBeNull();
    } finally {
      await store.close();
    }
  });

  it("ends a provider's sessions only under its own key prefix, glob characters and all", async () => {
    // Installations sharing a Redis: `g?:` read as a pattern would also cover `gX:`.
    const store = await makeStore(setup, `${prefix}g?:`);
    const neighbour = await makeStore(setup, `${prefix}gX:`);
    try {
      const mine = await store.create(
        { provider: 'glob-idp', subject: 'a', identity, tokens: {} },
        issueTicket(),
      );
      const theirs = await neighbour.create(
        { provider: 'glob-idp', subject: 'a', identity, tokens: {} },
        issueTicket(),
      );
      expect(await store.deleteByProvider('glob-idp')).toEqual([mine.key]);
      expect(await neighbour.listByUser('glob-idp\u0000a')).toHaveLength(1);
      expect(await neighbour.deleteByProvider('glob-idp')).toEqual([theirs.key]);
      const revoked = { issuer: 'ci', jti: 'neighbours-token', until: Date.now() + 60_000 };
      await neighbour.revokeToken(revoked);
      expect(await neighbour.listRevokedTokens()).toEqual([revoked]);
      expect(await store.listRevokedTokens()).toEqual([]);
    } finally {
      await Promise.all([store.close(), neighbour.close()]);
    }
  });

  it('fails fast with DependencyError when Redis is unreachable', async () => {
    const port = await closedPort();
    const client = createRedisClient({
      mode: 'standalone',
      url: `redis://127.0.0.1:${String(port)}`,
      keyPrefix: prefix,
    });
    const store = new RedisSessionStore({ client, keyPrefix: prefix, ...setup });
    try {
      const ticket = issueTicket();
      for (const attempt of [
        () => store.get(ticket),
        () => store.create({ provider: 'p', subject: 's', identity, tokens: {} }, ticket),
        () => store.takeLoginState('state'),
        () => store.rememberOnce('jti', 'x', 1000),
        () => store.withLock('lock', 1000, () => Promise.resolve(1)),
        () => store.ping(),
      ]) {
        const started = Date.now();
        const error: unknown = await attempt().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(DependencyError);
        expect((error as DependencyError).dependency).toBe('redis');
        expect((error as DependencyError).status).toBe(503);
        expect(Date.now() - started).toBeLessThan(1500);
      }
      const notReady: unknown = await waitForRedisReady(client, 300).catch(
        (caught: unknown) => caught,
      );
      expect(notReady).toBeInstanceOf(DependencyError);
      // The client's last error is named, so a start-up failure says why.
      expect((notReady as Error).message).toMatch(
        /not ready after 300 ms \(last error: .*ECONNREFUSED/,
      );
    } finally {
      await store.close();
    }
  });

  it('tells a refused authentication, by a Sentinel or by a server, from other failures', () => {
    const sentinel = new Error(
      'All sentinels are unreachable. Retrying from scratch after 1508ms. Last error: NOAUTH Authentication required.',
    );
    expect(redisAuthenticationFailure(sentinel)).toBe('sentinel');
    expect(
      redisAuthenticationFailure(
        new DependencyError('redis', 'redis not ready after 10 ms', { cause: sentinel }),
      ),
    ).toBe('sentinel');
    expect(
      redisAuthenticationFailure(
        new Error(
          'failed to connect to sentinel 10.0.0.1:26379 because WRONGPASS invalid username-password pair',
        ),
      ),
    ).toBe('sentinel');
    expect(redisAuthenticationFailure(new Error('NOAUTH Authentication required.'))).toBe('server');
    expect(redisAuthenticationFailure(new Error('connect ECONNREFUSED 127.0.0.1:6379'))).toBe(
      undefined,
    );
    expect(redisAuthenticationFailure('NOAUTH')).toBe(undefined);
  });

  it('backs off exponentially with jitter, capped at 2 s', () => {
    expect(redisRetryDelayMs(1, () => 0)).toBe(50);
    expect(redisRetryDelayMs(1, () => 1)).toBe(100);
    expect(redisRetryDelayMs(3, () => 1)).toBe(400);
    expect(redisRetryDelayMs(100, () => 1)).toBe(2000);
    expect(redisRetryDelayMs(100, () => 0)).toBe(1000);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
