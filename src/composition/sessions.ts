/**
 * The session store the configuration names (memory, or Redis in any topology), counted by
 * InstrumentedSessionStore and fronted by the per-replica SessionCache everything else reads
 * sessions through.
 */
import type { Config } from '../config/schema.ts';
import { InstrumentedSessionStore } from '../sessions/instrumented-store.ts';
import { MemorySessionStore } from '../sessions/memory/memory-store.ts';
import {
  createRedisClient,
  redisAuthenticationFailure,
  waitForRedisReady,
  type RedisClient,
} from '../sessions/redis/redis-connection.ts';
import { RedisSessionStore } from '../sessions/redis/redis-store.ts';
import { SessionCache } from '../sessions/session-cache.ts';
import type { Tracing } from '../tracing/tracing.ts';
import type { Runtime } from './runtime.ts';
import { definedFields } from '../defined-fields.ts';

export interface Sessions {
  /** The per-replica cache over the instrumented store: what sign-in, checks and refresh use. */
  readonly store: SessionCache;
  /** The store's Redis client, null for the memory store (the Basic-auth throttle shares it). */
  readonly redis: RedisClient | null;
  /** Closes the backing store (and its Redis connections). */
  close(): Promise<void>;
}

type SessionSettings = Pick<Config, 'sessions' | 'signIn'>;

/**
 * Opens the store; a Redis that stays unreachable fails the start with a message naming a fix.
 * With `tracing`, every store call made during a traced check is a child span of it.
 */
export async function openSessions(
  config: SessionSettings,
  runtime: Runtime,
  tracing?: Tracing,
): Promise<Sessions> {
  const { metrics, now } = runtime;
  const { store: backingStore, redis } = await openBackingStore(config, runtime);
  // What every replica applies at once (issue #20): counted here, where it arrives.
  backingStore.onRevocation((keys) => {
    metrics.revocationsReceived.inc({ kind: 'session' }, keys.length);
  });
  backingStore.onTokenRevocation((tokens) => {
    metrics.revocationsReceived.inc({ kind: 'token' }, tokens.length);
  });
  const store = new SessionCache({
    store: new InstrumentedSessionStore(backingStore, metrics, tracing?.tracer),
    onLookup: (hit) => {
      metrics.countSessionCacheLookup(hit);
    },
    onRefresh: (result) => {
      metrics.sessionCacheRefreshes.inc({ result });
    },
    ttlMs: config.sessions.cache.ttl,
    maxEntries: config.sessions.cache.maxEntries,
    now,
  });
  return { store, redis, close: () => backingStore.close() };
}

/** The session store, and its Redis client when there is one. */
async function openBackingStore(
  config: SessionSettings,
  runtime: Runtime,
): Promise<{
  readonly store: MemorySessionStore | RedisSessionStore;
  readonly redis: RedisClient | null;
}> {
  const { logger, now } = runtime;
  const timing = {
    idleTimeoutMs: config.sessions.idleTimeout,
    absoluteLifetimeMs: config.sessions.absoluteLifetime,
    now,
    logger: logger.child({ component: 'sessions' }),
  };
  if (config.sessions.store === 'memory') {
    // Pending login states are bounded by signIn.maxPending; the memory store must hold as many.
    const maxEntries = Math.max(10_000, config.signIn.maxPending);
    return { store: new MemorySessionStore({ ...timing, maxEntries }), redis: null };
  }
  const redis = config.sessions.redis;
  const client = createRedisClient(
    {
      mode: redis.mode,
      ...(redis.url === '' ? {} : { url: redis.url }),
      sentinels: redis.sentinels,
      sentinelName: redis.sentinelName,
      ...definedFields({
        sentinelUsername: redis.sentinelUsername,
        sentinelPassword: redis.sentinelPassword,
        username: redis.username,
        password: redis.password,
      }),
      clusterNodes: redis.clusterNodes,
      tls: redis.tls,
      keyPrefix: redis.keyPrefix,
    },
    logger.child({ component: 'redis' }),
  );
  try {
    // The client fails commands fast instead of queueing them while disconnected, so the first
    // commands must wait for the connection; a Redis that stays away fails the start loudly.
    await waitForRedisReady(client, 10_000);
  } catch (error) {
    client.disconnect();
    throw new Error(
      `Redis is not reachable (sessions.redis, mode ${redis.mode}): ${error instanceof Error ? error.message : String(error)}. ` +
        startFailureHint(redis, redisAuthenticationFailure(error)),
      { cause: error },
    );
  }
  return {
    store: new RedisSessionStore({ client, keyPrefix: redis.keyPrefix, ...timing }),
    redis: client,
  };
}

/** What to fix when Redis stays unreachable at start, by who refused the credentials, if anyone. */
function startFailureHint(
  redis: Config['sessions']['redis'],
  refusedBy: 'sentinel' | 'server' | undefined,
): string {
  if (refusedBy === 'sentinel') {
    return redis.sentinelPassword === undefined
      ? "The Sentinels require a password: set sessions.redis.sentinelPassword (or sentinelPasswordFile; sentinelUsername for an ACL user). It is the Sentinels' own password, not sessions.redis.password, though Bitnami's chart uses the Redis password for both."
      : "The Sentinels refuse sessions.redis.sentinelPassword (and sentinelUsername): check them against the Sentinels' requirepass or ACL.";
  }
  if (refusedBy === 'server') {
    return redis.password === undefined
      ? 'Redis requires a password: set sessions.redis.password (or passwordFile; username for an ACL user).'
      : 'Redis refuses sessions.redis.password (and username): check them against its requirepass or ACL.';
  }
  return 'Check the address and credentials, or use sessions.store: memory for a single local replica.';
}
