import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { DependencyError } from '../../errors.ts';
import { definedFields } from '../../defined-fields.ts';

/**
 * Builds the ioredis client for standalone Redis, Sentinel or Cluster.
 *
 * Failure behaviour is chosen so that a Redis outage fails requests FAST (a 503 within about a
 * second, docs/architecture.md invariant 1) instead of holding them while ingress-nginx's own auth
 * subrequest timeout runs out:
 * - `enableOfflineQueue: false`: while the connection is down, commands are rejected at once
 *   rather than queued. A queued command would also be sent later, after the caller already gave
 *   up on it: a late `SET NX` would hold a refresh lock nobody releases, a late `GETDEL` would
 *   burn a login state. The cost is that commands sent before the first connection is ready fail
 *   too, so start-up awaits `waitForRedisReady` (and readiness reports the outage meanwhile).
 * - `commandTimeout` (default 1000 ms): a connected but stalled server cannot hold a request.
 * - `autoResendUnfulfilledCommands: false` and `maxRetriesPerRequest: 1`: commands in flight when
 *   the connection drops fail instead of being replayed on the next connection.
 * - Reconnection never gives up (a replica must heal without a restart), backing off
 *   exponentially with jitter up to 2 s so replicas do not reconnect in lockstep.
 * - `READONLY` replies (a failed-over primary that became a replica, as Sentinel and managed
 *   services do) trigger a reconnect so the client finds the new primary.
 * - No auto-pipelining. It batches the commands of one event-loop turn into one write, but
 *   ioredis's pipeline machinery makes about 3 KB of garbage per command live long enough to
 *   reach the old generation: with a Redis read per check (`sessions.cache.ttl: 0`) that was a
 *   Mark-Compact every 1.6 s even at half load, incremental-marking steps of up to 20 ms, a p99
 *   of 30 ms and 60 MB more RSS (issue #17; reproduced with ioredis alone: 24 Mark-Compacts in
 *   15 s at 10,000 HMGETs/s with it, 2 without). Without it the p99 was 2.2 ms; the cost is
 *   Redis CPU (one read per command instead of per batch), which the per-replica session cache
 *   keeps small. It also fails one batch's commands together (the soak's ~60 checks per
 *   timed-out read; ioredis issue #1850).
 */
export interface RedisConnectionOptions {
  readonly mode: 'standalone' | 'sentinel' | 'cluster';
  /** Standalone: `redis://[user:password@]host:port[/db]`; `rediss://` enables TLS. */
  readonly url?: string;
  /** Sentinel: the sentinels to ask for the primary. */
  readonly sentinels?: readonly RedisNode[];
  /** Sentinel: the monitored primary's name (`sentinel monitor <name> ...`). */
  readonly sentinelName?: string;
  /**
   * Sentinel: credentials of the Sentinels themselves (Sentinel's own `requirepass` / ACL), not of
   * the Redis servers (`username` / `password`). Bitnami's chart sets the Sentinels' password to
   * the Redis password by default; without it every Sentinel answers `NOAUTH`.
   */
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
  /** Cluster: seed nodes; the rest of the topology is discovered. */
  readonly clusterNodes?: readonly RedisNode[];
  readonly username?: string;
  readonly password?: string;
  /** `true` for TLS with the system's CAs, or Node TLS options (CA, servername...). */
  readonly tls?: boolean | ConnectionOptions;
  /** Prefix of every key and of the revocation channel (used by the store, not the client). */
  readonly keyPrefix: string;
  readonly commandTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

export type RedisClient = Redis | Cluster;

export const DEFAULT_COMMAND_TIMEOUT_MS = 1000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
const MAX_RETRY_DELAY_MS = 2000;

/** Exponential back-off with "equal jitter": between half and all of min(50·2^n, 2 s). */
export function redisRetryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function createRedisClient(options: RedisConnectionOptions, logger?: Logger): RedisClient {
  const tls = tlsOptions(options.tls);
  const common: RedisOptions = {
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: false,
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
    connectionName: 'gatehouse',
    ...definedFields({ username: options.username, password: options.password, tls }),
  };
  const retryStrategy = (attempt: number): number => redisRetryDelayMs(attempt);
  let client: RedisClient;
  switch (options.mode) {
    case 'standalone': {
      const url = options.url ?? 'redis://127.0.0.1:6379';
      client = new Redis(url, { ...common, enableOfflineQueue: false, retryStrategy });
      break;
    }
    case 'sentinel': {
      if (options.sentinels === undefined || options.sentinels.length === 0) {
        throw new TypeError('redis sentinel mode needs at least one sentinel');
      }
      if (options.sentinelName === undefined) {
        throw new TypeError('redis sentinel mode needs sentinelName');
      }
      client = new Redis({
        ...common,
        enableOfflineQueue: false,
        retryStrategy,
        sentinels: options.sentinels.map((node) => ({ host: node.host, port: node.port })),
        name: options.sentinelName,
        sentinelRetryStrategy: retryStrategy,
        ...definedFields({
          sentinelUsername: options.sentinelUsername,
          sentinelPassword: options.sentinelPassword,
        }),
        ...(tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: tls }),
      });
      break;
    }
    case 'cluster': {
      if (options.clusterNodes === undefined || options.clusterNodes.length === 0) {
        throw new TypeError('redis cluster mode needs at least one node');
      }
      const { enableAutoPipelining: _pipelining, ...nodeOptions } = common;
      const clusterOptions: ClusterOptions = {
        enableOfflineQueue: false,
        enableAutoPipelining: false,
        clusterRetryStrategy: retryStrategy,
        slotsRefreshTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        redisOptions: nodeOptions,
      };
      client = new Cluster(
        options.clusterNodes.map((node) => ({ host: node.host, port: node.port })),
        clusterOptions,
      );
      break;
    }
  }
  attachLogging(client, logger);
  return client;
}

/**
 * Resolves once the client is ready for commands; rejects with `DependencyError` after
 * `timeoutMs`, its message ending with the client's last error (`NOAUTH ...`, `ECONNREFUSED ...`)
 * and that error as its cause. The client keeps reconnecting in the background either way.
 */
export function waitForRedisReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (error: unknown): void => {
      if (error instanceof Error) lastError = error;
    };
    const onReady = (): void => {
      clearTimeout(timer);
      client.off('error', onError);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      client.off('error', onError);
      const detail = lastError === undefined ? '' : ` (last error: ${lastError.message})`;
      reject(
        new DependencyError('redis', `redis not ready after ${timeoutMs} ms${detail}`, {
          cause: lastError,
        }),
      );
    }, timeoutMs);
    timer.unref();
    client.once('ready', onReady);
    client.on('error', onError);
  });
}

/**
 * Whether a Redis error (or one in its `cause` chain) is a refused authentication, and by whom:
 * `sentinel` when a Sentinel refused it (ioredis wraps those in "All sentinels are unreachable"
 * / "failed to connect to sentinel"), `server` when a Redis server did, undefined otherwise.
 */
export function redisAuthenticationFailure(error: unknown): 'sentinel' | 'server' | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const message = current.message;
    if (/\b(NOAUTH|WRONGPASS)\b|invalid password|Authentication required/i.test(message)) {
      return /sentinel/i.test(message) ? 'sentinel' : 'server';
    }
    current = current.cause;
  }
  return undefined;
}

function tlsOptions(tls: RedisConnectionOptions['tls']): ConnectionOptions | undefined {
  if (tls === undefined || tls === false) return undefined;
  return tls === true ? {} : tls;
}

/**
 * ioredis emits `error` on every failed reconnect attempt; without a listener Node would print
 * them as unhandled. Messages are logged, never the options (they hold the password).
 */
function attachLogging(client: RedisClient, logger: Logger | undefined): void {
  let failing = false;
  client.on('error', (error: unknown) => {
    if (failing) return; // one line per outage, not one per retry
    failing = true;
    logger?.warn({ err: error }, 'redis connection failing');
  });
  client.on('ready', () => {
    if (failing) logger?.info('redis connection restored');
    failing = false;
  });
}
