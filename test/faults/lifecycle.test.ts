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
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../fixtures/gatehouse/free-port.ts';
import { nginxAuthTarget } from '../fixtures/gatehouse/checks.ts';
import { send } from '../fixtures/gatehouse/http-client.ts';
import { shopHost, testPolicies } from '../fixtures/gatehouse/policies.ts';
import { RedisProcess, waitFor } from '../fixtures/redis/redis-process.ts';
import { latency, startLoad, tally, type Sample } from './support/load-loop.ts';
import { mintSessions, openSessionStore, type MintedSession } from './support/minted-sessions.ts';

const projectRoot = new URL('../../', import.meta.url).pathname;
const node = join(projectRoot, 'node_modules/.bin/node');
const SHUTDOWN_DELAY_MS = 1000;
const SHUTDOWN_TIMEOUT_MS = 5000;
const keyPrefix = 'faults-lifecycle:';
const protectedUrl = `https://${shopHost}/orders`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  readonly child: ChildProcess;
  readonly output: { stdout: string; stderr: string };
  readonly exited: Promise<number | null>;
}

const runs: Run[] = [];

/** Runs node with only the variables given (no GATEHOUSE_* of the test process leaks in). */
function runNode(args: readonly string[], env: Readonly<Record<string, string>> = {}): Run {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('GATEHOUSE_')),
  );
  const child = spawn(node, args, {
    cwd: projectRoot,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  const run = { child, output, exited };
  runs.push(run);
  return run;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) =>
      setTimeout(() => {
        reject(new Error(`${what}: not within ${String(ms)} ms`));
      }, ms).unref(),
    ),
  ]);
}

async function statusOf(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 'refused';
  }
}

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

/** A configuration file for `serve` on fresh ports, sessions in the private Redis. */
async function writeConfig(
  name: string,
): Promise<{ file: string; main: string; operations: string }> {
  const [mainPort, operationsPort] = [await findFreePort(), await findFreePort()];
  const file = join(directory, `${name}.yaml`);
  await writeFile(
    file,
    `
listeners:
  main: { host: 127.0.0.1, port: ${String(mainPort)} }
  operations: { host: 127.0.0.1, port: ${String(operationsPort)} }
log: { level: info }
policy: { files: { directory: ${join(directory, 'policies')} } }
sessions:
  store: redis
  cache: { ttl: 0s }
  redis: { url: 'redis://127.0.0.1:${String(redis.port)}', keyPrefix: '${keyPrefix}' }
`,
  );
  return {
    file,
    main: `http://127.0.0.1:${String(mainPort)}`,
    operations: `http://127.0.0.1:${String(operationsPort)}`,
  };
}

async function waitUntilReady(run: Run, operations: string): Promise<void> {
  await waitFor(
    'gatehouse ready',
    async () => {
      if (run.child.exitCode !== null) {
        throw new Error(`gatehouse exited:\n${run.output.stdout}${run.output.stderr}`);
      }
      return (await statusOf(`${operations}/readyz`)) === 200 ? true : undefined;
    },
    15_000,
    50,
  );
}

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
    const { file, main, operations } = await writeConfig('sigterm');
    const run = runNode(['src/cli/gatehouse.ts', 'serve', '--config', file], {
      GATEHOUSE_SERVER__SHUTDOWN_DELAY: `${String(SHUTDOWN_DELAY_MS / 1000)}s`,
      GATEHOUSE_SERVER__SHUTDOWN_TIMEOUT: `${String(SHUTDOWN_TIMEOUT_MS / 1000)}s`,
    });
    await waitUntilReady(run, operations);
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
      const { file, operations } = await writeConfig(`crash-${mode}`);
      const run = runNode(['test/faults/fixtures/crash-after-start.ts', mode, file, operations]);
      // The fixture crashes as soon as it is ready: wait for the exit, then check it got there.
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
    const { file, main } = await writeConfig('port-taken');
    // Something else already listens on gatehouse's main port.
    const blocker = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(Number(new URL(main).port), '127.0.0.1', resolve),
    );
    try {
      const started = performance.now();
      const run = runNode(['src/cli/gatehouse.ts', 'serve', '--config', file]);
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
