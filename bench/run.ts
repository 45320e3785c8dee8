/**
 * The benchmark suite (issue 8; docs/benchmarks.md explains what and why).
 *
 *   node bench/run.ts [--quick] [--scenarios a,a2,b,c,d,e,f,g,h,t] [--runs N] [--duration 10s]
 *                     [--warmup 5s] [--connections 64] [--no-half-load] [--server-cpu 0]
 *                     [--load-cpu 1] [--redis-url redis://127.0.0.1:6379] [--results-dir DIR]
 *                     [--half-load-generator openloop|node] [--keep-awake auto|on|off]
 *
 * Each scenario: its server(s) start pinned to the server core; one request checks the answer
 * has the expected status; a warm-up wrk run (discarded, but it must answer right too); N
 * measured wrk runs (wrk pinned to the load core) with the server's CPU time read from /proc
 * around each; then up to 3 runs of the open-loop generator at half the median saturating rate
 * (the one with the median p99 is reported, all are kept in the JSON): openloop
 * (bench/openloop/openloop.c, built by scripts/bench/ensure-tools.sh) unless
 * `--half-load-generator node` asks for the Node one (bench/rate-load.ts), which cannot hold
 * (a)'s rate (issue 17). While it runs, idle spinners may keep both cores from halting: with
 * `--keep-awake auto` (the default) the runner first measures a reference bare node:http server
 * at that same rate with and without them and keeps whichever gives the lower p99 (bench/
 * keep-awake.ts says why); `on` and `off` (or `--no-keep-awake`) force it.
 * Medians of the runs are reported. A scenario answering any wrong status FAILS and is not
 * measured further: wrong answers are never reported as speed.
 *
 * `--quick` is the CI regression guard: (a′), (b), (c), a 2 s warm-up and 2 runs of 3 s, no
 * half-load; it exits 1 only when a scenario fails or (b) or (c) drops under 40% of (a′) (guardMinimumRatio in report.ts).
 * The full run exits 1 when a scenario fails; missed targets are reported, not fatal.
 *
 * `t` (not in the full run) is (c) with OpenTelemetry tracing on and every check sampled
 * (issue #20): `--scenarios c,t` shows what tracing costs; with tracing off (c) is unchanged.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.ts';
import { createRedisClient, waitForRedisReady } from '../src/sessions/redis/redis-connection.ts';
import { machineInfo } from './machine-info.ts';
import type { PolicyScaleResult } from './policy-scale.ts';
import { readMemory, readTotalCpuSeconds } from './proc-stats.ts';
import { probe } from './probe.ts';
import { runPinnedRateLoad } from './rate-load.ts';
import { keepAwakeChooser, type KeepAwakeChoice, type KeepAwakeChooser } from './keep-awake.ts';
import { keepCoresAwake, runOpenLoop } from './openloop.ts';
import { benchToolPaths } from './tool-paths.ts';
import type { RateLoadResult } from './rate-load.ts';
import {
  markdownTable,
  markdownTargets,
  medianHalfLoad,
  mediansOf,
  regressionGuard,
  targetChecks,
} from './report.ts';
import type { RunMeasurement, ScenarioResult } from './report.ts';
import { BenchContext, selectScenarios, smallPolicySet } from './scenarios.ts';
import type { RunningTarget, Scenario } from './scenarios.ts';
import { deleteKeysWithPrefix } from './session-minter.ts';
import { runWrk } from './wrk.ts';
import type { WrkResult } from './wrk.ts';

const execFileAsync = promisify(execFile);
const repoRoot = new URL('..', import.meta.url).pathname;

export interface RunOptions {
  readonly quick: boolean;
  readonly groups: readonly string[];
  readonly runs: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly halfLoad: boolean;
  readonly halfLoadGenerator: 'openloop' | 'node';
  readonly keepAwake: 'auto' | 'on' | 'off';
  readonly serverCpu: string;
  readonly loadCpu: string;
  readonly redisUrl: string;
  readonly resultsDirectory: string | undefined;
  readonly largePolicies: number;
  readonly largeHosts: number;
}

const allGroups = ['a', 'a2', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const quickGroups = ['a2', 'b', 'c'];

function seconds(text: string): number {
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : parseDuration(text) / 1000;
}

export function parseRunOptions(args: readonly string[]): RunOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      scenarios: { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '64' },
      'no-half-load': { type: 'boolean', default: false },
      'half-load-generator': { type: 'string', default: 'openloop' },
      'keep-awake': { type: 'string', default: 'auto' },
      'no-keep-awake': { type: 'boolean', default: false },
      'server-cpu': { type: 'string', default: '0' },
      'load-cpu': { type: 'string', default: '1' },
      'redis-url': {
        type: 'string',
        default: process.env['GATEHOUSE_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      },
      'results-dir': { type: 'string' },
      policies: { type: 'string', default: '10000' },
      hosts: { type: 'string', default: '5000' },
    },
    strict: true,
  });
  const quick = values.quick;
  const generator = values['half-load-generator'];
  if (generator !== 'openloop' && generator !== 'node') {
    throw new Error(`--half-load-generator must be openloop or node, got "${generator}"`);
  }
  const keepAwake = values['no-keep-awake'] ? 'off' : values['keep-awake'];
  if (keepAwake !== 'auto' && keepAwake !== 'on' && keepAwake !== 'off') {
    throw new Error(`--keep-awake must be auto, on or off, got "${keepAwake}"`);
  }
  return {
    quick,
    groups:
      values.scenarios
        ?.split(',')
        .map((group) => group.trim())
        .filter((group) => group !== '') ?? (quick ? quickGroups : allGroups),
    runs: Number(values.runs ?? (quick ? 2 : 5)),
    durationSeconds: seconds(values.duration ?? (quick ? '3s' : '10s')),
    warmupSeconds: seconds(values.warmup ?? (quick ? '2s' : '5s')),
    connections: Number(values.connections),
    halfLoad: !quick && !values['no-half-load'],
    halfLoadGenerator: generator,
    keepAwake,
    serverCpu: values['server-cpu'],
    loadCpu: values['load-cpu'],
    redisUrl: values['redis-url'],
    resultsDirectory: values['results-dir'],
    largePolicies: Number(values.policies),
    largeHosts: Number(values.hosts),
  };
}

function say(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

interface RedisProcess {
  readonly pid: number | undefined;
  readonly version: string;
}

async function inspectRedis(redisUrl: string): Promise<RedisProcess> {
  const client = createRedisClient({ mode: 'standalone', url: redisUrl, keyPrefix: 'bench:' });
  try {
    await waitForRedisReady(client, 5_000);
    const info = await client.info('server');
    const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
    const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
    // A Redis in another container or host has no /proc entry here: no Redis CPU figures then.
    return {
      pid: Number.isInteger(pid) && existsSync(`/proc/${String(pid)}/stat`) ? pid : undefined,
      version,
    };
  } finally {
    client.disconnect();
  }
}

class ScenarioFailure extends Error {}

function checkAnswers(
  scenario: Scenario,
  phase: string,
  result: WrkResult,
  expected: number,
): void {
  if (result.unexpectedStatuses > 0) {
    throw new ScenarioFailure(
      `${String(result.unexpectedStatuses)} of ${String(result.requests)} answers during the ${phase} were not ${String(expected)} (first: ${String(result.firstUnexpectedStatus)})`,
    );
  }
  if (result.requests === 0) throw new ScenarioFailure(`no request completed during the ${phase}`);
  const errors = result.errors.connect + result.errors.write + result.errors.timeout;
  if (errors > result.requests * 0.001) {
    throw new ScenarioFailure(
      `${String(errors)} connect/write/timeout errors during the ${phase} of ${scenario.id}`,
    );
  }
}

async function runPolicyScale(
  context: BenchContext,
  options: RunOptions,
): Promise<PolicyScaleResult> {
  const large = await context.policySet('large', context.settings.largePolicySet);
  const small = await context.policySet('small', smallPolicySet);
  const { stdout } = await execFileAsync(
    'taskset',
    [
      '-c',
      options.serverCpu,
      process.execPath,
      '--expose-gc',
      join(repoRoot, 'bench', 'policy-scale.ts'),
      '--dir',
      large.directory,
      '--samples',
      large.samplesFile,
      '--baseline-dir',
      small.directory,
      '--baseline-samples',
      small.samplesFile,
      '--rounds',
      options.quick ? '3' : '5',
    ],
    { maxBuffer: 4 * 1024 * 1024, timeout: 600_000 },
  );
  return JSON.parse(stdout) as PolicyScaleResult;
}

async function measure(
  scenario: Scenario,
  context: BenchContext,
  options: RunOptions,
  redis: RedisProcess,
  keepAwake: KeepAwakeChooser,
): Promise<ScenarioResult> {
  const base = { id: scenario.id, group: scenario.group, label: scenario.label };
  let target: RunningTarget | undefined;
  const runs: RunMeasurement[] = [];
  try {
    say(`${scenario.label}: starting`);
    target = await scenario.start(context);
    const { request } = target;
    const expected = request.expectedStatus;
    const probed = await probe(request);
    if (probed.status !== expected) {
      throw new ScenarioFailure(
        `answered ${String(probed.status)} instead of ${String(expected)} before the warm-up: ${probed.body.replace(/\s+/g, ' ').slice(0, 200)}`,
      );
    }
    const wrkOptions = {
      connections: options.connections,
      timeoutSeconds: 5,
      cpu: options.loadCpu,
    };
    say(`${scenario.label}: warm-up ${String(options.warmupSeconds)} s`);
    const warmup = await runWrk(
      request,
      { ...wrkOptions, durationSeconds: options.warmupSeconds },
      context.settings.scratchDirectory,
    );
    checkAnswers(scenario, 'warm-up', warmup, expected);

    const redisPid = scenario.usesRedis ? redis.pid : undefined;
    for (let index = 0; index < options.runs; index++) {
      const cpuBefore = readTotalCpuSeconds(target.cpuPids());
      const redisBefore = redisPid === undefined ? 0 : readTotalCpuSeconds([redisPid]);
      const result = await runWrk(
        request,
        { ...wrkOptions, durationSeconds: options.durationSeconds },
        context.settings.scratchDirectory,
      );
      const cpu = readTotalCpuSeconds(target.cpuPids()) - cpuBefore;
      const redisCpu = redisPid === undefined ? 0 : readTotalCpuSeconds([redisPid]) - redisBefore;
      checkAnswers(scenario, `run ${String(index + 1)}`, result, expected);
      const measurement: RunMeasurement = {
        requests: result.requests,
        requestsPerSecond: result.requestsPerSecond,
        latencyMs: result.latencyMs,
        cpuUsPerRequest: (cpu * 1e6) / result.requests,
        ...(redisPid === undefined
          ? {}
          : { redisCpuUsPerRequest: (redisCpu * 1e6) / result.requests }),
        errors:
          result.errors.connect + result.errors.read + result.errors.write + result.errors.timeout,
        unexpectedStatuses: result.unexpectedStatuses,
      };
      runs.push(measurement);
      say(
        `${scenario.label}: run ${String(index + 1)}/${String(options.runs)}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.latencyMs.p99.toFixed(2)} ms, ${measurement.cpuUsPerRequest.toFixed(1)} µs CPU/req`,
      );
    }
    const medians = mediansOf(runs, readMemory(target.memoryPid).peakRssBytes);

    let halfLoad: RateLoadResult | undefined;
    let keepAwakeChoice: KeepAwakeChoice | undefined;
    const halfLoadRuns: RateLoadResult[] = [];
    if (options.halfLoad && scenario.halfLoad) {
      const rate = medians.requestsPerSecond / 2;
      keepAwakeChoice = await keepAwake.choose(rate);
      const rateOptions = {
        url: target.request.url,
        rate,
        durationSeconds: options.durationSeconds,
        warmupSeconds: Math.min(options.warmupSeconds, 3),
        connections: options.connections,
        headers: target.request.headers,
        expectedStatus: expected,
      };
      const openLoop = context.settings.openLoopBinary;
      // As many runs as the saturating figures (at most 3), reported by their median p99.
      const count = Math.min(options.runs, 3);
      for (let index = 0; index < count; index++) {
        say(
          `${scenario.label}: half load ${String(index + 1)}/${String(count)}, ${rate.toFixed(0)} req/s open loop for ${String(options.durationSeconds)} s`,
        );
        const wake =
          openLoop !== undefined && keepAwakeChoice.keepAwake
            ? keepCoresAwake(openLoop, [options.serverCpu, options.loadCpu])
            : undefined;
        let measured: RateLoadResult;
        try {
          measured =
            openLoop === undefined
              ? await runPinnedRateLoad(rateOptions, options.loadCpu)
              : await runOpenLoop(rateOptions, options.loadCpu, openLoop);
        } finally {
          wake?.();
        }
        if (measured.unexpectedStatuses > 0 || measured.errors > 0) {
          throw new ScenarioFailure(
            `at half load ${String(measured.unexpectedStatuses)} answers were not ${String(expected)} (first ${String(measured.firstUnexpectedStatus)}) and ${String(measured.errors)} failed${measured.firstError === undefined ? '' : ` (${measured.firstError})`}`,
          );
        }
        halfLoadRuns.push({ ...measured, coresKeptAwake: wake !== undefined });
      }
      halfLoad = medianHalfLoad(halfLoadRuns);
    }
    await target.stop();
    target = undefined;

    let policyScale: PolicyScaleResult | undefined;
    if (scenario.id === 'f-10k') {
      say(`${scenario.label}: in-process snapshot rebuild and decide() cost`);
      policyScale = await runPolicyScale(context, options);
    }
    return {
      ...base,
      status: 'ok',
      runs,
      medians,
      ...(halfLoad === undefined || keepAwakeChoice === undefined
        ? {}
        : { halfLoad, halfLoadRuns, keepAwake: keepAwakeChoice }),
      ...(policyScale === undefined ? {} : { policyScale }),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (process.env['BENCH_DEBUG'] !== undefined) console.error(error);
    say(`${scenario.label}: FAILED: ${message}`);
    return { ...base, status: 'failed', failure: message, runs };
  } finally {
    await target?.stop();
  }
}

async function resultsPath(directory: string): Promise<string> {
  await mkdir(directory, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  for (let attempt = 1; ; attempt++) {
    const path = join(
      directory,
      attempt === 1 ? `${date}.json` : `${date}-${String(attempt)}.json`,
    );
    if (!existsSync(path)) return path;
  }
}

export async function runSuite(options: RunOptions): Promise<number> {
  const selected = selectScenarios(options.groups);
  if (availableParallelism() < 2 && options.serverCpu !== options.loadCpu) {
    throw new Error(
      'this machine has one CPU: pass --server-cpu 0 --load-cpu 0 (and expect worse numbers)',
    );
  }
  // The runner's own fixtures (JWKS, identity provider) stay off the server core.
  try {
    execFileSync('taskset', ['-pc', options.loadCpu, String(process.pid)], { stdio: 'ignore' });
  } catch {
    say('could not pin the runner to the load core (taskset -p); continuing');
  }
  const tools = benchToolPaths();
  const oauth2ProxyBinary = tools.OAUTH2_PROXY;
  const openLoopBinary = tools.OPENLOOP;
  const openLoopNeeded =
    options.halfLoad &&
    options.halfLoadGenerator === 'openloop' &&
    selected.some((scenario) => scenario.halfLoad);
  if (openLoopNeeded && !existsSync(openLoopBinary)) {
    throw new Error(
      `openloop is not built (${openLoopBinary}): run scripts/bench/ensure-tools.sh openloop (make bench does), or pass --no-half-load`,
    );
  }
  if (selected.some((scenario) => scenario.group === 'h') && !existsSync(oauth2ProxyBinary)) {
    throw new Error(
      `oauth2-proxy is not built (${oauth2ProxyBinary}): run scripts/bench/ensure-tools.sh (make bench does)`,
    );
  }
  const redis = await inspectRedis(options.redisUrl);
  const scratchDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  const context = new BenchContext({
    serverCpu: options.serverCpu,
    redisUrl: options.redisUrl,
    scratchDirectory,
    oauth2ProxyBinary,
    ...(openLoopNeeded ? { openLoopBinary } : {}),
    largePolicySet: {
      policies: options.largePolicies,
      rulesPerPolicy: 10,
      hosts: options.largeHosts,
    },
  });
  const machine = machineInfo({ oauth2ProxyBinary, redisVersion: redis.version });
  const startedAt = new Date().toISOString();
  say(
    `${String(selected.length)} scenario(s); server core ${options.serverCpu}, load core ${options.loadCpu}; scratch ${scratchDirectory}`,
  );
  say(
    `load average at start: ${machine.loadAverageAtStart.join(' ')} (anything near the core count makes the numbers noisy)`,
  );

  const results: ScenarioResult[] = [];
  let keepScratch = false;
  let keepAwake: KeepAwakeChooser | undefined;
  try {
    keepAwake = await keepAwakeChooser(
      openLoopNeeded ? options.keepAwake : 'off',
      context,
      options,
      openLoopBinary,
      say,
    );
    let group: string | undefined;
    for (const scenario of selected) {
      if (group !== undefined && scenario.group !== group) await context.releaseGroup();
      group = scenario.group;
      const result = await measure(scenario, context, options, redis, keepAwake);
      if (result.status === 'failed') keepScratch = true;
      results.push(result);
    }
  } finally {
    await keepAwake?.stop();
    await context.close();
    await deleteKeysWithPrefix(options.redisUrl, context.sessionKeyPrefix).catch(() => 0);
    // BENCH_KEEP_SCRATCH keeps the servers' logs (say, with BENCH_SERVER_NODE_OPTIONS=--trace-gc).
    if (keepScratch || process.env['BENCH_KEEP_SCRATCH'] !== undefined) {
      say(`kept the scratch directory (server logs): ${scratchDirectory}`);
    } else {
      await rm(scratchDirectory, { recursive: true, force: true });
    }
  }

  const checks = targetChecks(results);
  const guard = regressionGuard(results);
  const document = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `node bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    mode: options.quick ? 'quick' : 'full',
    options,
    machine,
    results,
    targets: checks,
    ...(options.quick ? { guard } : {}),
  };
  const directory =
    options.resultsDirectory ??
    (options.quick
      ? join(tmpdir(), 'gatehouse-bench-results')
      : join(repoRoot, 'bench', 'results'));
  const path = await resultsPath(directory);
  await writeFile(path, `${JSON.stringify(document, null, 2)}\n`);

  const output = [
    '',
    `## gatehouse benchmarks (${options.quick ? 'quick' : 'full'}), ${startedAt}`,
    '',
    `${machine.cpuModel}, ${String(machine.cpus)} CPUs, ${String(machine.memoryGiB)} GiB, Linux ${machine.kernel}; load average at start ${machine.loadAverageAtStart.join(' ')}`,
    Object.entries(machine.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', '),
    `${String(options.runs)} runs × ${String(options.durationSeconds)} s after a ${String(options.warmupSeconds)} s warm-up, ${String(options.connections)} connections; medians`,
    ...(openLoopNeeded
      ? [
          `half load: idle spinners --keep-awake ${options.keepAwake}${options.keepAwake === 'auto' ? ", chosen per rate on (a)'s bare server (see each row)" : ''}`,
        ]
      : []),
    '',
    markdownTable(results),
    '',
    // The quick run measures three scenarios: its open targets would only be noise.
    markdownTargets(options.quick ? checks.filter((check) => check.value !== null) : checks),
    '',
  ];
  const policy = results.find((result) => result.policyScale !== undefined)?.policyScale;
  if (policy !== undefined) {
    output.push(
      `(f) in process: ${String(policy.large.objects)} objects load+validate ${policy.large.loadMs.toFixed(0)} ms, buildSnapshot ${policy.large.buildSnapshotMs.toFixed(0)} ms (median), decide() ${policy.large.decideNs.toFixed(0)} ns vs ${policy.baseline?.decideNs.toFixed(0) ?? '–'} ns for 10 policies; heap ${(policy.heapUsedBytes / 2 ** 20).toFixed(0)} MB, RSS ${(policy.rssBytes / 2 ** 20).toFixed(0)} MB`,
      '',
    );
  }
  if (options.quick) {
    output.push(
      guard.passed
        ? 'Regression guard: PASSED'
        : `Regression guard: FAILED\n- ${guard.reasons.join('\n- ')}`,
      '',
    );
  }
  output.push(`Results: ${path}`, '');
  process.stdout.write(output.join('\n'));

  if (options.quick) return guard.passed ? 0 : 1;
  return results.some((result) => result.status === 'failed') ? 1 : 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await runSuite(parseRunOptions(process.argv.slice(2)));
  } catch (error) {
    say(`ERROR: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
}
