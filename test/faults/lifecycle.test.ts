/**
 * Issue 9, item 3: the process lifecycle of `gatehouse serve` as Kubernetes drives it, with
 * sessions in a private Redis.
 *
 * SIGTERM under load: `/readyz` fails at once (so the endpoint is dropped) while checks keep
 * being answered for `server.shutdownDelay`; then the listeners close, the requests in flight
 * finish (none reset), Redis connections are closed and the process exits 0 within
 * delay + `server.shutdownTimeout`. The load stands in for the ingress: it stops sending new
 * requests during the delay, as ingress-nginx does once the endpoint is gone, except for a batch
 * deliberately held in flight across the close (Redis paused with DEBUG SLEEP).
 *
 * A bug that throws from a timer or leaves a rejected promise unhandled must end the process
 * (exit 70, a fatal log line naming the error) so Kubernetes restarts it, rather than leave it
 * half alive: test/faults/fixtures/crash-after-start.ts runs `serve` and then fails that way.
 */
import { createServer } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, retryOnTakenPort } from '../fixtures/gatehouse/free-port.ts';
import { nginxAuthTarget } from '../fixtures/gatehouse/checks.ts';
import { send, statusOrRefused as statusOf } from '../fixtures/gatehouse/http-client.ts';
import { shopHost, testPolicies } from '../fixtures/gatehouse/policies.ts';
import {
  runNode,
  runOnFreshPorts,
  within,
  type NodeRun,
  type ServePorts,
} from '../fixtures/process/child.ts';
import { RedisProcess, waitFor } from '../fixtures/redis/redis-process.ts';
import { latency, startLoad, tally, type Sample } from './support/load-loop.ts';
import { mintSessions, openSessionStore, type MintedSession } from './support/minted-sessions.ts';

const SHUTDOWN_DELAY_MS = 1000;
const SHUTDOWN_TIMEOUT_MS = 5000;
const keyPrefix = 'faults-lifecycle:';
const protectedUrl = `https://${shopHost}/orders`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process a test started; afterEach kills what is still running. */
const runs: NodeRun[] = [];

function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

let directory: string;
let redis: RedisProcess;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gatehouse-lifecycle-'));
  // DEBUG SLEEP (to hold checks in flight across the close) is off by default since Redis 7.
  redis = await RedisProcess.start({
    name: 'redis',
    parentDirectory: directory,
    config: ['save ""', 'appendonly no', 'enable-debug-command local'],
  });
  await mkdir(join(directory, 'policies'));
  await writeFile(join(directory, 'policies', 'policies.yaml'), testPolicies);
});
afterEach(() => {
  for (const run of runs.splice(0)) if (run.child.exitCode === null) run.child.kill('SIGKILL');
});
afterAll(async () => {
  await redis.stop('SIGKILL');
  await rm(directory, { recursive: true, force: true });
});

/** A configuration file for `serve` on `ports`, sessions in the private Redis. */
async function writeConfig(name: string, ports: ServePorts): Promise<string> {
  const file = join(directory, `${name}.yaml`);
  await writeFile(
    file,
    `
listeners:
  main: { host: 127.0.0.1, port: ${String(ports.mainPort)} }
  operations: { host: 127.0.0.1, port: ${String(ports.operationsPort)} }
log: { level: info }
policy: { files: { directory: ${join(directory, 'policies')} } }
sessions:
  store: redis
  cache: { ttl: 0s }
  redis: { url: 'redis://127.0.0.1:${String(redis.port)}', keyPrefix: '${keyPrefix}' }
`,
  );
  return file;
}

/**
 * Runs `serve` (or the crash fixture, which runs it) on fresh ports until `ready`, retried on
 * other ports if one was taken before gatehouse bound it.
 */
async function start(
  name: string,
  args: (file: string, ports: ServePorts) => readonly string[],
  ready: (run: NodeRun, ports: ServePorts) => boolean | Promise<boolean>,
  env: Readonly<Record<string, string>> = {},
): Promise<{ run: NodeRun; ports: ServePorts }> {
  const started = await runOnFreshPorts({
    name,
    prepare: async (ports) => args(await writeConfig(name, ports), ports),
    ready,
    env,
  });
  runs.push(started.run);
  return started;
}

/** `gatehouse serve` is ready when its operations listener answers /readyz with 200. */
const readyzOk = async (_run: NodeRun, ports: ServePorts): Promise<boolean> =>
  (await statusOf(`${ports.operations}/readyz`)) === 200;

/** gatehouse's connections on the private Redis (the test's own are named otherwise). */
async function gatehouseConnections(): Promise<string[]> {
  const list = String(await redis.command('CLIENT', 'LIST'));
  return [...list.matchAll(/ name=(gatehouse\S*)/g)].map((match) => match[1] ?? '');
}

describe('SIGTERM under load', () => {
  let sessions: MintedSession[];
  beforeAll(async () => {
    const store = await openSessionStore({
      mode: 'standalone',
      url: `redis://127.0.0.1:${String(redis.port)}`,
      keyPrefix,
    });
    try {
      sessions = await mintSessions(store, 20);
    } finally {
      await store.close();
    }
  });

  it('fails /readyz first, answers through the delay, finishes in-flight checks, closes Redis, exits 0', async () => {
    const { run, ports } = await start(
      'sigterm',
      (file) => ['src/cli/gatehouse.ts', 'serve', '--config', file],
      readyzOk,
      {
        GATEHOUSE_SERVER__SHUTDOWN_DELAY: `${String(SHUTDOWN_DELAY_MS / 1000)}s`,
        GATEHOUSE_SERVER__SHUTDOWN_TIMEOUT: `${String(SHUTDOWN_TIMEOUT_MS / 1000)}s`,
      },
    );
    const { main, operations } = ports;
    expect((await gatehouseConnections()).sort()).toEqual(['gatehouse', 'gatehouse-revocations']);

    const check = (session: MintedSession) =>
      send(main, {
        path: nginxAuthTarget(protectedUrl),
        headers: [
          ['X-Original-Method', 'GET'],
          ['X-Original-URL', protectedUrl],
          ['Cookie', session.cookie],
        ],
      });
    const load = startLoad({
      concurrency: 20,
      send: (worker) => check(sessions[worker % sessions.length]!),
    });
    await sleep(500);

    const signalledAt = performance.now();
    run.child.kill('SIGTERM');
    // Readiness fails at once: Kubernetes takes the pod out of the endpoints during the delay.
    await waitFor(
      '/readyz failing after SIGTERM',
      async () => ((await statusOf(`${operations}/readyz`)) === 503 ? true : undefined),
      1000,
      5,
    );
    const readyzFailedMs = performance.now() - signalledAt;

    // The ingress stops sending once the endpoint is gone, well inside the delay.
    await sleep(SHUTDOWN_DELAY_MS * 0.6 - (performance.now() - signalledAt));
    const loadSamples: readonly Sample[] = await load.stop();
    const delaySamples = loadSamples.filter((sample) => sample.startedAt >= signalledAt);

    // Checks in flight when the listeners close: Redis sleeps 700 ms (under the 1 s command
    // timeout), so checks sent 150 ms before the close are answered about 550 ms after it.
    await sleep(SHUTDOWN_DELAY_MS * 0.8 - (performance.now() - signalledAt));
    const pause = redis.command('DEBUG', 'SLEEP', '0.7');
    await sleep(50);
    const inFlightSentAt = performance.now();
    const inFlight = await Promise.allSettled(
      sessions.slice(0, 10).map((session) => check(session)),
    );
    const inFlightAnsweredAt = performance.now();
    await pause;

    const code = await within(
      run.exited,
      SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS + 1000,
      'exit after SIGTERM',
    );
    const exitMs = performance.now() - signalledAt;
    const connectionsAfter = await gatehouseConnections();
    console.info(
      `[faults] SIGTERM: /readyz 503 after ${readyzFailedMs.toFixed(0)} ms; ${String(delaySamples.length)} checks during the delay ${JSON.stringify(tally(delaySamples))} latency ${JSON.stringify(latency(delaySamples))}; ` +
        `${String(inFlight.length)} in flight across the close answered ${(inFlightAnsweredAt - signalledAt).toFixed(0)} ms after SIGTERM; exit ${String(code)} after ${exitMs.toFixed(0)} ms`,
    );

    expect(readyzFailedMs).toBeLessThan(250);
    expect(delaySamples.length).toBeGreaterThan(0);
    expect(tally(loadSamples)).toEqual({ '200': loadSamples.length });
    // In flight across the close: sent before it, answered after it, every one a 200.
    expect(inFlightSentAt - signalledAt).toBeLessThan(SHUTDOWN_DELAY_MS);
    expect(inFlightAnsweredAt - signalledAt).toBeGreaterThan(SHUTDOWN_DELAY_MS);
    expect(
      inFlight.map((result) =>
        result.status === 'fulfilled' ? result.value.status : String(result.reason),
      ),
    ).toEqual(Array.from({ length: inFlight.length }, () => 200));
    // Then the listener is gone and the process ended cleanly, its Redis connections with it.
    expect(await statusOf(`${main}/healthz`)).toBe('refused');
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS);
    expect(connectionsAfter).toEqual([]);
    const lines = logLines(run.output.stdout);
    expect(lines.some((line) => line['msg'] === 'gatehouse stopped')).toBe(true);
    expect(lines.filter((line) => line['level'] === 'error' || line['level'] === 'fatal')).toEqual(
      [],
    );
    expect(lines.some((line) => line['msg'] === 'error while closing a dependency')).toBe(false);
  }, 30_000);
});

describe('a bug that escapes every handler', () => {
  for (const [mode, message, logged] of [
    [
      'throw',
      'boom: thrown from a timer',
      'uncaught exception: exiting so the process is restarted',
    ],
    [
      'reject',
      'boom: rejected without a handler',
      'unhandled promise rejection: exiting so the process is restarted',
    ],
  ] as const) {
    it(`${mode === 'throw' ? 'an uncaught exception' : 'an unhandled rejection'} is logged as fatal and exits 70`, async () => {
      // The fixture crashes as soon as it is ready: wait for it to say so (it may have exited
      // already), then for the exit.
      const { run, ports } = await start(
        `crash-${mode}`,
        (file, { operations }) => [
          'test/faults/fixtures/crash-after-start.ts',
          mode,
          file,
          operations,
        ],
        (started) => started.output.stdout.includes('ready, crashing now'),
      );
      const { operations } = ports;
      const code = await within(run.exited, 20_000, `exit after the ${mode}`);
      expect(run.output.stdout, run.output.stderr).toContain('ready, crashing now');
      expect(code, run.output.stderr).toBe(70);
      const fatal = logLines(run.output.stdout).filter((line) => line['level'] === 'fatal');
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ msg: logged, err: { message: message } });
      // It exited although its listeners and Redis connections were open: not half alive.
      expect(await statusOf(`${operations}/healthz`)).toBe('refused');
      await waitFor(
        'the crashed process gone from Redis',
        async () => ((await gatehouseConnections()).length === 0 ? true : undefined),
        2000,
      );
    }, 30_000);
  }
});

describe('a start that fails', () => {
  it('a taken port: one plain line naming the fix, and exit 1 at once (never a half-started process)', async () => {
    // Something else already listens on gatehouse's main port (if a parallel test took that
    // port first, the blocker cannot bind it: pick others).
    const { file, blocker } = await retryOnTakenPort(async () => {
      const [mainPort, operationsPort] = [await findFreePort(), await findFreePort()];
      const file = await writeConfig('port-taken', {
        mainPort,
        operationsPort,
        main: `http://127.0.0.1:${String(mainPort)}`,
        operations: `http://127.0.0.1:${String(operationsPort)}`,
      });
      const blocker = createServer();
      await new Promise<void>((resolve, reject) => {
        blocker.once('error', reject);
        blocker.listen(mainPort, '127.0.0.1', resolve);
      });
      return { file, blocker };
    });
    try {
      const started = performance.now();
      const run = runNode(['src/cli/gatehouse.ts', 'serve', '--config', file]);
      runs.push(run);
      const code = await within(run.exited, 15_000, 'exit after the failed start');
      expect(code, run.output.stdout).toBe(1);
      expect(run.output.stderr).toMatch(
        /^gatehouse: could not start: .*EADDRINUSE.*another process already listens on that port; stop it, or choose other ports \(listeners\.main\.port, listeners\.operations\.port\)\n$/,
      );
      expect(performance.now() - started).toBeLessThan(15_000);
      await waitFor(
        'the failed process gone from Redis',
        async () => ((await gatehouseConnections()).length === 0 ? true : undefined),
        2000,
      );
    } finally {
      await new Promise<void>((resolve) => {
        blocker.close(() => {
          resolve();
        });
      });
    }
  }, 30_000);
});
