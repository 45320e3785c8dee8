/**
 * Signed-in sessions for scenarios (c) and (d), created the way a login creates them
 * (`RedisSessionStore.create` with a fresh `issueTicket`), directly in Redis: the benchmark
 * measures checks, not logins. The cookie value is the ticket text, sent as `_gatehouse`.
 * Everything lives under a per-run key prefix and is removed by `cleanUp`.
 */
import { createRedisClient, waitForRedisReady } from '../src/sessions/redis/redis-connection.ts';
import { RedisSessionStore } from '../src/sessions/redis/redis-store.ts';
import { issueTicket } from '../src/sessions/ticket.ts';

export interface MintedSession {
  /** `v1.<id>.<secret>`: the `_gatehouse` cookie value. */
  readonly ticket: string;
}

export interface SessionMinterOptions {
  readonly redisUrl: string;
  /** `sessions.redis.keyPrefix` of the gatehouse under test. */
  readonly keyPrefix: string;
  /** The configured provider name the session claims to come from. */
  readonly provider: string;
}

export async function mintSession(options: SessionMinterOptions): Promise<MintedSession> {
  const client = createRedisClient({
    mode: 'standalone',
    url: options.redisUrl,
    keyPrefix: options.keyPrefix,
  });
  try {
    await waitForRedisReady(client, 5_000);
    const store = new RedisSessionStore({
      client,
      keyPrefix: options.keyPrefix,
      idleTimeoutMs: 8 * 3600_000,
      absoluteLifetimeMs: 7 * 24 * 3600_000,
    });
    const ticket = issueTicket();
    await store.create(
      {
        provider: options.provider,
        subject: 'bench-user-0001',
        identity: {
          user: 'bench-user',
          email: 'bench-user@example.com',
          name: 'Bench User',
          preferredUsername: 'bench-user',
          groups: ['staff', 'bench-readers'],
          claims: { department: 'engineering' },
        },
        // No tokens close to expiry: the check must not turn into a refresh.
        tokens: {},
      },
      ticket,
    );
    return { ticket: ticket.text };
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under `prefix` (SCAN, never KEYS: Redis is shared with other work). */
export async function deleteKeysWithPrefix(redisUrl: string, prefix: string): Promise<number> {
  if (prefix.length < 8)
    throw new Error(`refusing to delete keys under the short prefix "${prefix}"`);
  const client = createRedisClient({ mode: 'standalone', url: redisUrl, keyPrefix: prefix });
  let deleted = 0;
  try {
    await waitForRedisReady(client, 5_000);
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}
