/**
 * The session backend contract (src/sessions/session-store.contract.ts, a block per role) against
 * the two Redis topologies gatehouse supports besides a standalone server:
 * - Sentinel: a primary, one replica and three sentinels (test/fixtures/redis/sentinel-group.ts);
 *   the store finds the primary through the sentinels, as `mode: sentinel` does;
 * - Cluster: three primaries, the slots split between them (test/fixtures/redis/redis-cluster.ts);
 *   a session's keys and its indexes land in different slots, and revocations cross the cluster
 *   bus to a subscriber on whichever node it connected to.
 * Every process is private (random loopback ports, own directories) and started once for the
 * file; the shared Redis at 127.0.0.1:6379 is not touched. No fault is injected here: failovers
 * are test/faults/redis-sentinel.test.ts's and test/faults/redis-cluster.test.ts's.
 */
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import {
  createRedisClient,
  waitForRedisReady,
  type RedisConnectionOptions,
} from '../../../src/sessions/redis/redis-connection.ts';
import { RedisSessionStore } from '../../../src/sessions/redis/redis-store.ts';
import {
  describeSessionStoreContract,
  type ContractSetup,
} from '../../../src/sessions/session-store.contract.ts';
import { startRedisCluster, type RedisCluster } from '../../fixtures/redis/redis-cluster.ts';
import { startSentinelGroup, type SentinelGroup } from '../../fixtures/redis/sentinel-group.ts';

const silent = pino({ level: 'silent' });

let sentinel: SentinelGroup | undefined;
let cluster: RedisCluster | undefined;
/** Direct connections for reading what the store wrote (TTLs, the at-rest dump). */
let sentinelAdmin: Redis | undefined;
let clusterAdmin: Cluster | undefined;

beforeAll(async () => {
  const [group, nodes] = await Promise.allSettled([
    startSentinelGroup(),
    startRedisCluster({ primaries: 3, replicas: false }),
  ]);
  if (group.status === 'fulfilled') sentinel = group.value;
  if (nodes.status === 'fulfilled') cluster = nodes.value;
  if (group.status === 'rejected') throw group.reason;
  if (nodes.status === 'rejected') throw nodes.reason;
  sentinelAdmin = new Redis({ host: '127.0.0.1', port: group.value.primary.port });
  clusterAdmin = new Cluster(nodes.value.seeds.map((seed) => ({ ...seed })));
  for (const admin of [sentinelAdmin, clusterAdmin]) admin.on('error', () => undefined);
  await Promise.all([
    waitForRedisReady(sentinelAdmin, 10_000),
    waitForRedisReady(clusterAdmin, 10_000),
  ]);
}, 90_000);

afterAll(async () => {
  sentinelAdmin?.disconnect();
  clusterAdmin?.disconnect();
  await Promise.all([sentinel?.close(), cluster?.close()]);
});

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} did not start`);
  return value;
}

interface Topology {
  /** How gatehouse would connect (`sessions.redis`), without the key prefix. */
  readonly connection: () => Omit<RedisConnectionOptions, 'keyPrefix'>;
  readonly admin: () => Redis | Cluster;
  /** The servers holding data: the primary, or every cluster primary. */
  readonly dataNodes: () => readonly Redis[];
}

describeTopology('redis sentinel', {
  connection: () => {
    const group = required(sentinel, 'the sentinel group');
    return {
      mode: 'sentinel',
      sentinels: group.sentinelAddresses,
      sentinelName: group.masterName,
    };
  },
  admin: () => required(sentinelAdmin, 'the sentinel group'),
  dataNodes: () => [required(sentinelAdmin, 'the sentinel group')],
});

describeTopology('redis cluster', {
  connection: () => ({ mode: 'cluster', clusterNodes: required(cluster, 'the cluster').seeds }),
  admin: () => required(clusterAdmin, 'the cluster'),
  dataNodes: () => required(clusterAdmin, 'the cluster').nodes('master'),
});

function describeTopology(name: string, topology: Topology): void {
  const keyPrefix = `gatehouse-contract:${randomUUID()}:`;

  async function openStore(setup: ContractSetup): Promise<RedisSessionStore> {
    const client = createRedisClient({ ...topology.connection(), keyPrefix }, silent);
    try {
      await waitForRedisReady(client, 10_000);
    } catch (error) {
      client.disconnect();
      throw error;
    }
    return new RedisSessionStore({ client, keyPrefix, ...setup });
  }

  async function keysUnderPrefix(): Promise<string[]> {
    const keys: string[] = [];
    for (const node of topology.dataNodes()) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
    }
    return keys;
  }

  async function dump(): Promise<string> {
    const admin = topology.admin();
    const lines: string[] = [];
    for (const key of await keysUnderPrefix()) {
      const type = await admin.type(key);
      const value =
        type === 'hash'
          ? JSON.stringify(await admin.hgetall(key))
          : type === 'set'
            ? JSON.stringify(await admin.smembers(key))
            : type === 'zset'
              ? JSON.stringify(await admin.zrange(key, 0, -1))
              : type === 'string'
                ? await admin.get(key)
                : type;
      lines.push(`${key} ${value ?? ''}`);
    }
    return lines.join('\n');
  }

  describeSessionStoreContract(name, async (setup) => {
    const store = await openStore(setup);
    const replicas: RedisSessionStore[] = [];
    return {
      store,
      replica: async () => {
        const replica = await openStore(setup);
        replicas.push(replica);
        return replica;
      },
      storageTtlOf: (key) => topology.admin().pttl(`${keyPrefix}s:${key}`),
      dump,
      dispose: async () => {
        await Promise.all([store, ...replicas].map((each) => each.close()));
      },
    };
  });
}
