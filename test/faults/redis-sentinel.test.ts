/**
 * Issue 9, item 1: a Sentinel failover under load loses no session.
 *
 * A primary, its replica and three sentinels (quorum 2, down-after 1 s, failover-timeout 3 s)
 * run as private processes on random loopback ports; gatehouse uses `mode: sentinel` with no
 * session cache, so every check reads Redis. Sessions are minted before the failover and known
 * to have reached the replica (a write + WAIT on the primary after them: replication is ordered).
 * The primary is SIGKILLed mid-load. Asserted:
 * - during the failover, a check that fails answers 503 (fail closed), never 401: gatehouse
 *   never reads "no session" from a server that lost its data;
 * - the error window (kill → last failed check) is bounded, and every session minted before
 *   the failover authenticates afterwards.
 *
 * `FAULTS_LONG=1` fails over three times: the killed primary is restarted (empty, no
 * persistence), Sentinel turns it into a replica of the new primary, and it is the next victim.
 *
 * Issue 18: Sentinels with a password, as Bitnami's chart runs them (`auth.sentinel: true`). A
 * second group whose servers and Sentinels each require their own password: without
 * `sessions.redis.sentinelPassword` gatehouse refuses to start and says which setting is missing;
 * with it (as `sentinelPasswordFile`) sessions work and survive a failover.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../fixtures/gatehouse/checks.ts';
import { shopHost } from '../fixtures/gatehouse/policies.ts';
import { startTestGatehouse, type TestGatehouse } from '../fixtures/gatehouse/start.ts';
import { waitFor, type RedisProcess } from '../fixtures/redis/redis-process.ts';
import { startSentinelGroup, type SentinelGroup } from '../fixtures/redis/sentinel-group.ts';
import { errorWindow, startLoad, tally, tallyStatuses } from './support/load-loop.ts';
import { mintSessions, openSessionStore, type MintedSession } from './support/minted-sessions.ts';

const long = process.env['FAULTS_LONG'] === '1';
const FAILOVERS = long ? 3 : 1;
const SESSIONS = long ? 200 : 50;
const CONCURRENCY = 20;
/** down-after 1 s + election + ioredis back-off (≤ 2 s), with room for a loaded machine. */
const ERROR_WINDOW_LIMIT_MS = 15_000;
const keyPrefix = 'faults-sentinel:';
const protectedUrl = `https://${shopHost}/orders`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `sentinels: [...]` of a gatehouse configuration naming the group's sentinels. */
function sentinelsYaml(group: SentinelGroup): string {
  const sentinels = group.sentinelAddresses
    .map((address) => `{ host: ${address.host}, port: ${String(address.port)} }`)
    .join(', ');
  return `[${sentinels}]`;
}

/**
 * Every write so far has reached a replica: WAIT counts acknowledgements of the writes of its
 * own connection, so write on that connection first; the replication stream is ordered, so the
 * writes of other connections before it are acknowledged too.
 */
async function waitForReplication(primary: RedisProcess): Promise<void> {
  const client = primary.adminClient();
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.set(`${keyPrefix}replication-barrier`, String(Date.now()));
    const acknowledged = await client.call('WAIT', 1, 2000);
    expect(acknowledged).toBe(1);
  } finally {
    client.disconnect();
  }
}

describe('Sentinel failover under load', () => {
  let group: SentinelGroup;
  let gatehouse: TestGatehouse;
  let sessions: MintedSession[];

  beforeAll(async () => {
    group = await startSentinelGroup();
    gatehouse = await startTestGatehouse({
      logLevel: 'warn',
      configYaml: `
sessions:
  store: redis
  cache: { ttl: 0s }
  redis: { mode: sentinel, sentinelName: ${group.masterName}, sentinels: ${sentinelsYaml(group)}, keyPrefix: '${keyPrefix}' }
`,
    });
    const store = await openSessionStore({
      mode: 'sentinel',
      sentinels: group.sentinelAddresses,
      sentinelName: group.masterName,
      keyPrefix,
    });
    try {
      sessions = await mintSessions(store, SESSIONS);
    } finally {
      await store.close();
    }
    await waitForReplication(group.primary);
  }, 60_000);

  afterAll(async () => {
    await gatehouse.close();
    await group.close();
  });

  it(
    'loses no session, answers 503 (never 401, never 2xx for a failure) during a bounded window',
    async () => {
      const check = (session: MintedSession) =>
        nginxCheck(gatehouse, protectedUrl, [['Cookie', session.cookie]]);
      for (const session of sessions) expect((await check(session)).status).toBe(200);

      let next = 0;
      const load = startLoad({
        concurrency: CONCURRENCY,
        send: async () => check(sessions[(next += 1) % sessions.length]!),
      });
      const rounds: {
        killedPort: number;
        windowMs: number;
        failoverMs: number;
        failures: Record<string, number>;
      }[] = [];
      let [primary, replica] = [group.primary, group.replica];
      try {
        await sleep(500);
        for (let round = 0; round < FAILOVERS; round += 1) {
          const killedAt = performance.now();
          await primary.stop('SIGKILL');
          await group.waitForMaster(replica.port, 30_000);
          const failoverMs = performance.now() - killedAt;
          // The window closes when checks succeed again; keep the load on a little past that.
          await waitFor(
            'checks succeeding on the new primary',
            () =>
              Promise.resolve(
                load.samples.some(
                  (sample) => sample.startedAt > killedAt + failoverMs && sample.status === 200,
                )
                  ? true
                  : undefined,
              ),
            ERROR_WINDOW_LIMIT_MS,
          );
          await sleep(1000);
          const after = load.samples.filter((sample) => sample.endedAt >= killedAt);
          const window = errorWindow(after, killedAt);
          rounds.push({
            killedPort: primary.port,
            windowMs: window.windowMs,
            failoverMs: Math.round(failoverMs),
            failures: tally(after.filter((sample) => sample.status !== 200)),
          });
          if (round + 1 < FAILOVERS) {
            // The old primary returns empty; Sentinel reconfigures it as a replica of the new one.
            await primary.start();
            const returning = primary;
            await waitFor(
              'the old primary to resync as a replica',
              async () =>
                (await returning.info('replication')).get('master_link_status') === 'up'
                  ? true
                  : undefined,
              30_000,
              100,
            );
            await waitForReplication(replica);
            [primary, replica] = [replica, primary];
            // Sentinel must see the returned replica as healthy before it can promote it.
            await waitFor(
              'the sentinels to consider the returned replica for promotion',
              async () => {
                for (const sentinel of group.sentinels) {
                  const replicas = (await sentinel.command(
                    'SENTINEL',
                    'REPLICAS',
                    group.masterName,
                  )) as string[][];
                  const entry = replicas.find((fields) => fields.includes(String(replica.port)));
                  const flags = entry?.[entry.indexOf('flags') + 1] ?? '';
                  if (flags !== 'slave') return undefined;
                }
                return true;
              },
              30_000,
              100,
            );
          }
        }
      } finally {
        await load.stop();
      }
      console.info(
        `[faults] sentinel: ${String(FAILOVERS)} failover(s) under ${String(CONCURRENCY)} concurrent checks, ${String(load.samples.length)} checks: ${JSON.stringify(rounds)}`,
      );

      for (const round of rounds) {
        // Fail closed, and never "signed out": a failed check is a 503, not a 401 or a 2xx.
        expect(Object.keys(round.failures).every((outcome) => outcome === '503')).toBe(true);
        expect(round.windowMs).toBeLessThan(ERROR_WINDOW_LIMIT_MS);
      }
      // Every session minted before the failover(s) still authenticates: none lost.
      const after = await Promise.all(
        sessions.map(async (session) => (await check(session)).status),
      );
      expect(tallyStatuses(after)).toEqual({ '200': sessions.length });
    },
    long ? 240_000 : 60_000,
  );
});

describe('Sentinels with a password', () => {
  const serverPassword = 'server-secret-7c1d';
  const sentinelPassword = 'sentinel-secret-93ab';
  const authKeyPrefix = 'faults-sentinel-auth:';
  let group: SentinelGroup;
  let secretsDir: string;
  let sentinelPasswordFile: string;

  beforeAll(async () => {
    // Different passwords for servers and Sentinels, so each setting is shown to reach its own.
    group = await startSentinelGroup({ serverPassword, sentinelPassword });
    secretsDir = await mkdtemp(join(tmpdir(), 'gatehouse-sentinel-secrets-'));
    sentinelPasswordFile = join(secretsDir, 'sentinel-password');
    await writeFile(sentinelPasswordFile, `${sentinelPassword}\n`, { mode: 0o600 });
  }, 60_000);

  afterAll(async () => {
    await group.close();
    await rm(secretsDir, { recursive: true, force: true });
  });

  const configYaml = (sentinelAuth: string) => `
sessions:
  store: redis
  cache: { ttl: 0s }
  redis:
    mode: sentinel
    sentinelName: ${group.masterName}
    sentinels: ${sentinelsYaml(group)}
    password: ${serverPassword}
    keyPrefix: '${authKeyPrefix}'
${sentinelAuth}
`;

  it('refuses to start without sessions.redis.sentinelPassword, and names that setting', async () => {
    const failure = await startTestGatehouse({ configYaml: configYaml('') }).then(
      async (started) => {
        await started.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toMatch(/NOAUTH/);
    expect(message).toContain('set sessions.redis.sentinelPassword');
  }, 30_000);

  it('with sentinelPasswordFile, sessions work and survive a failover', async () => {
    const gatehouse = await startTestGatehouse({
      logLevel: 'warn',
      configYaml: configYaml(`    sentinelPasswordFile: ${sentinelPasswordFile}`),
    });
    try {
      const store = await openSessionStore({
        mode: 'sentinel',
        sentinels: group.sentinelAddresses,
        sentinelName: group.masterName,
        password: serverPassword,
        sentinelPassword,
        keyPrefix: authKeyPrefix,
      });
      let sessions: MintedSession[];
      try {
        sessions = await mintSessions(store, 20);
      } finally {
        await store.close();
      }
      await waitForReplication(group.primary);
      const check = async (session: MintedSession) =>
        (await nginxCheck(gatehouse, protectedUrl, [['Cookie', session.cookie]])).status;
      const checkAll = async () => tallyStatuses(await Promise.all(sessions.map(check)));
      expect(await checkAll()).toEqual({ '200': sessions.length });

      await group.primary.stop('SIGKILL');
      // The new primary is found through the password-protected Sentinels.
      await group.waitForMaster(group.replica.port, 30_000);
      await waitFor(
        'checks succeeding on the new primary',
        async () => ((await check(sessions[0]!)) === 200 ? true : undefined),
        ERROR_WINDOW_LIMIT_MS,
        100,
      );
      expect(await checkAll()).toEqual({ '200': sessions.length });
    } finally {
      await gatehouse.close();
    }
  }, 60_000);
});
