/**
 * Issue 9, item 1: a standalone Redis goes away under load and comes back.
 *
 * - Fail closed (docs/architecture.md security invariant 1): while Redis is gone, no check that needs it
 *   answers 2xx. gatehouse answers 503 at once (ioredis offline queue off, redis-connection.ts),
 *   which ingress-nginx and Envoy treat as "deny".
 * - The process stays up (`/healthz` 200) and says it cannot serve (`/readyz` 503, `sessions`
 *   false), and it neither crashes (no unhandled rejection) nor leaks (RSS, Redis connections).
 * - It recovers by itself within 5 s of Redis answering again (reconnect back-off ≤ 2 s).
 * - The per-replica session cache (docs/architecture.md "a few seconds") keeps serving a session read in
 *   the last `sessions.cache.ttl`, and nothing else.
 * - A new sign-in cannot start (its login state cannot be stored) and says so.
 *
 * Redis runs with `appendonly yes`, so SIGTERM writes the sessions to disk and the restarted
 * server on the same port has them again: the test asserts recovery of EXISTING sessions, the
 * case that matters (a Redis without persistence loses every session on restart, by design).
 *
 * `FAULTS_LONG=1` (make faults-long) runs more and longer outages.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIdentityProvider } from '../../dev/identity-provider.ts';
import type { DevIdentityProvider } from '../../dev/identity-provider.ts';
import { nginxCheck } from '../fixtures/gatehouse/checks.ts';
import { send } from '../fixtures/gatehouse/http-client.ts';
import { shopHost } from '../fixtures/gatehouse/policies.ts';
import { startTestGatehouse, type TestGatehouse } from '../fixtures/gatehouse/start.ts';
import { RedisProcess, waitFor } from '../fixtures/redis/redis-process.ts';
import { errorWindow, startLoad, tally, within, type Sample } from './support/load-loop.ts';
import { mintSessions, openSessionStore, type MintedSession } from './support/minted-sessions.ts';

const long = process.env['FAULTS_LONG'] === '1';
const CYCLES = long ? 10 : 3;
const OUTAGE_MS = long ? 4000 : 1200;
const CONCURRENCY = 20;
const RECOVERY_LIMIT_MS = 5000;

const protectedUrl = `https://${shopHost}/orders`;
/**
 * Live memory after a full collection: the V8 heap plus memory held outside it (Buffers,
 * sockets' native objects). RSS alone mostly shows V8 growing its heap to the load, so a leak is
 * judged on what survives GC. `gc` is not exposed to vitest workers; V8's flag can be set at run
 * time and the function taken from a fresh context.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
function heapAfterGc(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let directory: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gatehouse-faults-'));
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await rm(directory, { recursive: true, force: true });
});

interface Stack {
  readonly redis: RedisProcess;
  readonly gatehouse: TestGatehouse;
  readonly sessions: readonly MintedSession[];
  close(): Promise<void>;
}

async function startStack(
  name: string,
  options: { cacheTtl: string; sessions: number; now?: () => number; extraYaml?: string },
): Promise<Stack> {
  const redis = await RedisProcess.start({
    name,
    parentDirectory: directory,
    // Sessions survive a restart: SIGTERM makes redis-server write and fsync the AOF.
    config: ['appendonly yes', 'appendfsync always', 'save ""'],
  });
  const keyPrefix = `faults-${name}:`;
  const gatehouse = await startTestGatehouse({
    logLevel: 'warn',
    ...(options.now === undefined ? {} : { now: options.now }),
    configYaml: `
sessions:
  store: redis
  cache: { ttl: ${options.cacheTtl} }
  redis: { url: 'redis://127.0.0.1:${String(redis.port)}', keyPrefix: '${keyPrefix}' }
${options.extraYaml ?? ''}`,
  });
  const store = await openSessionStore({
    mode: 'standalone',
    url: `redis://127.0.0.1:${String(redis.port)}`,
    keyPrefix,
  });
  // The minting store's connection is named `gatehouse` too: close it so that the connections
  // counted on the private Redis below are the instance's own.
  const sessions = await mintSessions(store, options.sessions).finally(() => store.close());
  return {
    redis,
    gatehouse,
    sessions,
    close: async () => {
      await gatehouse.close();
      await redis.stop('SIGKILL');
    },
  };
}

async function readiness(gatehouse: TestGatehouse): Promise<{ status: number; body: unknown }> {
  const response = await fetch(gatehouse.opsUrl('/readyz'));
  return { status: response.status, body: await response.json() };
}

/** Connections gatehouse holds on the private Redis, by client name. */
async function gatehouseConnections(redis: RedisProcess): Promise<Record<string, number>> {
  const list = String(await redis.command('CLIENT', 'LIST'));
  const counts: Record<string, number> = {};
  for (const name of list.matchAll(/ name=(gatehouse\S*)/g)) {
    const key = name[1] ?? '';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('Redis stops and starts again under load (no session cache)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('outage', { cacheTtl: '0s', sessions: CONCURRENCY });
  });
  afterAll(async () => {
    await stack.close();
  });

  it(
    'never answers 2xx while Redis is down, stays alive, recovers within 5 s, and does not leak',
    async () => {
      const { redis, gatehouse, sessions } = stack;
      const check = (worker: number) =>
        nginxCheck(gatehouse, protectedUrl, [
          ['Cookie', sessions[worker % sessions.length]!.cookie],
        ]);
      expect((await check(0)).status).toBe(200);
      expect(await gatehouseConnections(redis)).toEqual({
        gatehouse: 1,
        'gatehouse-revocations': 1,
      });

      const load = startLoad({ concurrency: CONCURRENCY, send: check });
      const cycles: {
        exitedAt: number;
        restartAt: number;
        readyAt: number;
        endAt: number;
        readyz: { status: number; body: unknown };
        healthz: number;
      }[] = [];
      let connectionWarnings = 0;
      let errorLines = 0;
      let rssAfterWarmUp = 0;
      let samplesAfterWarmUp = 0;
      let heapAfterWarmUp = 0;
      try {
        await sleep(500);
        for (let cycle = 0; cycle < CYCLES; cycle += 1) {
          await redis.stop('SIGTERM');
          const exitedAt = performance.now();
          await sleep(OUTAGE_MS / 2);
          const readyz = await readiness(gatehouse);
          const healthz = (await fetch(gatehouse.opsUrl('/healthz'))).status;
          await sleep(OUTAGE_MS / 2);
          const restartAt = performance.now();
          await redis.start();
          const readyAt = performance.now();
          // Recovered: a check sent after Redis answered PING has succeeded. Keep the load on
          // briefly after, so a relapse would show.
          await waitFor(
            `a successful check after Redis came back (cycle ${String(cycle + 1)})`,
            () =>
              Promise.resolve(
                load.samples.some((sample) => sample.startedAt >= readyAt && sample.status === 200)
                  ? true
                  : undefined,
              ),
            RECOVERY_LIMIT_MS + 2000,
          );
          await sleep(500);
          cycles.push({ exitedAt, restartAt, readyAt, endAt: performance.now(), readyz, healthz });
          // The captured log holds every line in memory (one error per failed check): count and
          // drop it each cycle so that the memory figures below are gatehouse's, not the capture's.
          connectionWarnings += gatehouse.logs.matching({ msg: 'redis connection failing' }).length;
          errorLines += gatehouse.logs.matching({ level: 'error' }).length;
          gatehouse.logs.clear();
          if (cycle === 0) {
            rssAfterWarmUp = process.memoryUsage().rss;
            heapAfterWarmUp = heapAfterGc();
            samplesAfterWarmUp = load.samples.length;
          }
        }
      } finally {
        await load.stop();
      }
      const samples: readonly Sample[] = load.samples;

      const figures = cycles.map((cycle, index) => {
        const down = within(samples, cycle.exitedAt, cycle.restartAt);
        const afterReady = samples.filter(
          (sample) => sample.endedAt >= cycle.readyAt && sample.startedAt < cycle.endAt,
        );
        const recovery = errorWindow(afterReady, cycle.readyAt);
        return {
          cycle: index + 1,
          down: tally(down),
          recoveryMs: recovery.windowMs,
          readyz: cycle.readyz,
        };
      });
      console.info(
        `[faults] redis outage, ${String(CYCLES)} cycles × ${String(OUTAGE_MS)} ms down, ${String(samples.length)} checks: ${JSON.stringify(figures.map(({ readyz: _readyz, ...rest }) => rest))}`,
      );

      for (const [index, cycle] of cycles.entries()) {
        const down = within(samples, cycle.exitedAt, cycle.restartAt);
        // Fail closed: every check answered while Redis was gone is a 503, none a 2xx.
        expect(down.length, `checks while down, cycle ${String(index + 1)}`).toBeGreaterThan(0);
        expect(tally(down)).toEqual({ '503': down.length });
        expect(cycle.healthz).toBe(200);
        expect(cycle.readyz.status).toBe(503);
        expect(cycle.readyz.body).toMatchObject({ checks: { sessions: false } });
        expect(figures[index]!.recoveryMs).toBeLessThan(RECOVERY_LIMIT_MS);
      }
      // No request went unanswered: gatehouse kept its listener through every outage.
      expect(samples.filter((sample) => sample.status === null)).toEqual([]);

      // After the last recovery the instance is whole again: ready, and one connection of each kind.
      await waitFor(
        'readiness after the last outage',
        async () => ((await readiness(gatehouse)).status === 200 ? true : undefined),
        5000,
      );
      await waitFor(
        'gatehouse reconnected its command and subscriber connections',
        async () => {
          const connections = await gatehouseConnections(redis);
          return connections['gatehouse'] === 1 && connections['gatehouse-revocations'] === 1
            ? true
            : undefined;
        },
        5000,
      );

      // Bounded memory over the outages after the first. Live memory after GC is the leak
      // detector: a leak of the failed requests (hundreds of 503s a second) would show as
      // megabytes per outage. The load loop itself keeps every sample (about 130 bytes each), so
      // that much growth is expected. RSS is reported and only loosely bounded (measured: 40-95
      // MiB over the first outages, flat after): it mostly shows V8 and the allocator keeping
      // memory they grew into under 20 concurrent clients.
      const rssGrowthMb = (process.memoryUsage().rss - rssAfterWarmUp) / 2 ** 20;
      const heapGrowth = heapAfterGc() - heapAfterWarmUp;
      const samplesKept = (samples.length - samplesAfterWarmUp) * 200;
      console.info(
        `[faults] memory over ${String(CYCLES - 1)} further outage(s): rss ${rssGrowthMb.toFixed(1)} MiB, live (heap + external) ${(heapGrowth / 2 ** 20).toFixed(1)} MiB (load samples kept: up to ${(samplesKept / 2 ** 20).toFixed(1)} MiB)`,
      );
      expect(heapGrowth).toBeLessThan(4 * 2 ** 20 + samplesKept);
      expect(rssGrowthMb).toBeLessThan(256);
      expect(unhandled).toEqual([]);

      // One warning per outage, not one per retry or per failed check.
      console.info(
        `[faults] log: ${String(connectionWarnings)} 'redis connection failing' warning(s), ${String(errorLines)} error line(s) (one per failed check)`,
      );
      expect(connectionWarnings).toBeGreaterThanOrEqual(1);
      expect(connectionWarnings).toBeLessThanOrEqual(CYCLES);
    },
    long ? 240_000 : 60_000,
  );
});

describe('Redis down with the session cache on (ttl 5s)', () => {
  let stack: Stack;
  let offset = 0;
  beforeAll(async () => {
    stack = await startStack('cached', {
      cacheTtl: '5s',
      sessions: 2,
      now: () => Date.now() + offset,
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('serves a session read in the last 5 s from memory, and nothing else, until the entry expires', async () => {
    const { redis, gatehouse, sessions } = stack;
    const [seen, unseen] = sessions;
    const check = (session: MintedSession) =>
      nginxCheck(gatehouse, protectedUrl, [['Cookie', session.cookie]]);
    expect((await check(seen!)).status).toBe(200);

    await redis.stop('SIGTERM');
    // docs/architecture.md: a replica may trust its cached copy for a few seconds, so the session read
    // just now still passes; a session this replica has not read cannot be checked: 503.
    expect((await check(seen!)).status).toBe(200);
    expect((await check(unseen!)).status).toBe(503);
    expect((await readiness(gatehouse)).status).toBe(503);

    offset += 5001; // past sessions.cache.ttl: the cached copy is no longer trusted
    expect((await check(seen!)).status).toBe(503);

    await redis.start();
    await waitFor(
      'checks succeeding again',
      async () => ((await check(unseen!)).status === 200 ? true : undefined),
      RECOVERY_LIMIT_MS,
    );
    expect((await check(seen!)).status).toBe(200);
    expect(unhandled).toEqual([]);
  });
});

describe('signing in while Redis is down', () => {
  let stack: Stack;
  let idp: DevIdentityProvider;
  beforeAll(async () => {
    idp = await startDevIdentityProvider({
      clients: [
        {
          clientId: 'gatehouse',
          clientSecret: 'gatehouse-secret',
          redirectUris: ['https://auth.shop.test/oauth2/callback'],
        },
      ],
    });
    stack = await startStack('sign-in', {
      cacheTtl: '0s',
      sessions: 0,
      extraYaml: `
redirects: { allowedDomains: [${shopHost}] }
providers:
  - { name: dev, issuer: '${idp.issuer}', clientId: gatehouse, clientSecret: gatehouse-secret }
`,
    });
  });
  afterAll(async () => {
    await stack.close();
    await idp.close();
  });

  it('answers 503 with the request id instead of sending the browser to a login that cannot finish', async () => {
    const { redis, gatehouse } = stack;
    const start = () =>
      send(gatehouse.url(''), {
        path: `/oauth2/start?rd=${encodeURIComponent(protectedUrl)}`,
        headers: [['Accept', 'text/html']],
      });
    await waitFor(
      'the provider discovered',
      async () => ((await readiness(gatehouse)).status === 200 ? true : undefined),
      10_000,
    );
    expect((await start()).status).toBe(302);

    await redis.stop('SIGTERM');
    const during = await start();
    // The login state cannot be stored, so the provider is not even asked: a redirect would
    // send the user through a login whose callback must fail.
    expect(during.status).toBe(503);
    expect(during.headers.location).toBeUndefined();
    expect(during.headers['set-cookie']).toBeUndefined();
    // gatehouse's own id, the one it answered with (and logged the failure under).
    const requestId = String(during.headers['x-request-id']);
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(during.body).toContain(requestId);
    console.info(
      `[faults] /oauth2/start while Redis is down: ${String(during.status)} ${String(during.headers['content-type'])}: ${JSON.stringify(during.body)}`,
    );

    await redis.start();
    await waitFor(
      'sign-in working again',
      async () => ((await start()).status === 302 ? true : undefined),
      RECOVERY_LIMIT_MS,
    );
  });
});
