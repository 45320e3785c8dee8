/**
 * The soak (issue 8 item 2): one scenario at HALF its saturating rate for 10 minutes, open loop.
 * Passes when no request failed or answered a wrong status, and the server's resident set grew
 * by less than 10% between the end of the warm-up and the end of the run (a leak shows as steady
 * growth; a warm heap settles).
 *
 *   node bench/soak.ts [--scenario c] [--minutes 10] [--warmup-minutes 1] [--connections 64]
 *                      [--server-cpu 0] [--load-cpu 1] [--redis-url URL] [--results-dir DIR]
 *                      [--keep-awake auto|on|off]
 *
 * The saturating rate is measured first with a 10 s wrk run on the same server; the load is then
 * sent by openloop, with idle spinners keeping the cores awake when this machine's calibration
 * says they help, as for the half-load figures (bench/keep-awake.ts).
 * RSS is sampled
 * from /proc every 5 s; the figure judged is the largest sample of the last minute against the
 * first sample after the warm-up.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { probe } from './probe.ts';
import { readMemory } from './proc-stats.ts';
import { keepAwakeChooser, keepAwakeLine } from './keep-awake.ts';
import { keepCoresAwake, runOpenLoop } from './openloop.ts';
import type { RateLoadResult } from './rate-load.ts';
import { BenchContext, scenarios } from './scenarios.ts';
import { deleteKeysWithPrefix } from './session-minter.ts';
import { benchToolPaths } from './tool-paths.ts';
import { runWrk } from './wrk.ts';

export interface RssSample {
  /** Seconds since the soak's load started. */
  readonly atSeconds: number;
  readonly rssBytes: number;
}

export interface SoakVerdict {
  readonly passed: boolean;
  readonly baselineRssBytes: number;
  readonly finalRssBytes: number;
  readonly growth: number;
  readonly reasons: readonly string[];
}

export const maximumRssGrowth = 0.1;

/** Judges a soak from its RSS samples and the generator's counts (pure). */
export function judgeSoak(
  samples: readonly RssSample[],
  warmupSeconds: number,
  totalSeconds: number,
  load: Pick<
    RateLoadResult,
    'errors' | 'unexpectedStatuses' | 'firstUnexpectedStatus' | 'targetRate' | 'achievedRate'
  >,
): SoakVerdict {
  const reasons: string[] = [];
  // A soak that could not hold its rate was an overload test, not a half-load one: the server
  // (or a busy machine) fell behind and the latencies grew without bound.
  if (load.achievedRate < load.targetRate * 0.95) {
    reasons.push(
      `held only ${load.achievedRate.toFixed(0)} of ${load.targetRate.toFixed(0)} req/s: not half load any more (saturated server or busy machine)`,
    );
  }
  if (load.errors > 0) reasons.push(`${String(load.errors)} requests failed`);
  if (load.unexpectedStatuses > 0) {
    reasons.push(
      `${String(load.unexpectedStatuses)} answers had a wrong status (first ${String(load.firstUnexpectedStatus)})`,
    );
  }
  const baseline = samples.find((sample) => sample.atSeconds >= warmupSeconds);
  const lastMinute = samples.filter((sample) => sample.atSeconds >= totalSeconds - 60);
  if (baseline === undefined || lastMinute.length === 0) {
    reasons.push('not enough RSS samples to judge growth');
    return { passed: false, baselineRssBytes: 0, finalRssBytes: 0, growth: Number.NaN, reasons };
  }
  const final = Math.max(...lastMinute.map((sample) => sample.rssBytes));
  const growth = (final - baseline.rssBytes) / baseline.rssBytes;
  if (growth >= maximumRssGrowth) {
    reasons.push(
      `RSS grew ${(growth * 100).toFixed(1)}% after the warm-up (limit ${String(maximumRssGrowth * 100)}%)`,
    );
  }
  return {
    passed: reasons.length === 0,
    baselineRssBytes: baseline.rssBytes,
    finalRssBytes: final,
    growth,
    reasons,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'c' },
      minutes: { type: 'string', default: '10' },
      'warmup-minutes': { type: 'string', default: '1' },
      connections: { type: 'string', default: '64' },
      'server-cpu': { type: 'string', default: '0' },
      'load-cpu': { type: 'string', default: '1' },
      'redis-url': {
        type: 'string',
        default: process.env['GATEHOUSE_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      },
      'results-dir': { type: 'string', default: join(tmpdir(), 'gatehouse-bench-results') },
      'keep-awake': { type: 'string', default: 'auto' },
    },
    strict: true,
  });
  const scenario = scenarios.find((candidate) => candidate.id === values.scenario);
  if (scenario === undefined)
    throw new Error(
      `unknown scenario ${values.scenario}; ids: ${scenarios.map((s) => s.id).join(', ')}`,
    );
  const keepAwakeMode = values['keep-awake'];
  if (keepAwakeMode !== 'auto' && keepAwakeMode !== 'on' && keepAwakeMode !== 'off') {
    throw new Error(`--keep-awake must be auto, on or off, got "${keepAwakeMode}"`);
  }
  const totalSeconds = Number(values.minutes) * 60;
  const warmupSeconds = Number(values['warmup-minutes']) * 60;
  const say = (message: string) => process.stderr.write(`[soak] ${message}\n`);
  const openLoop = benchToolPaths().OPENLOOP;
  if (!existsSync(openLoop)) {
    throw new Error(
      `openloop is not built (${openLoop}): run scripts/bench/ensure-tools.sh openloop (make soak-load does)`,
    );
  }
  try {
    execFileSync('taskset', ['-pc', values['load-cpu'], String(process.pid)], { stdio: 'ignore' });
  } catch {
    say('could not pin the runner to the load core; continuing');
  }

  const scratchDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-soak-'));
  const context = new BenchContext({
    serverCpu: values['server-cpu'],
    redisUrl: values['redis-url'],
    scratchDirectory,
    oauth2ProxyBinary: join(new URL('..', import.meta.url).pathname, '.tools/oauth2-proxy/missing'),
    largePolicySet: { policies: 10_000, rulesPerPolicy: 10, hosts: 5_000 },
  });
  const chooser = await keepAwakeChooser(
    keepAwakeMode,
    context,
    {
      serverCpu: values['server-cpu'],
      loadCpu: values['load-cpu'],
      connections: Number(values.connections),
    },
    openLoop,
    say,
  );
  const target = await scenario.start(context);
  try {
    const probed = await probe(target.request);
    if (probed.status !== target.request.expectedStatus) {
      throw new Error(
        `${scenario.label} answered ${String(probed.status)}, expected ${String(target.request.expectedStatus)}: ${probed.body.slice(0, 200)}`,
      );
    }
    const saturation = await runWrk(
      target.request,
      {
        connections: Number(values.connections),
        durationSeconds: 10,
        timeoutSeconds: 5,
        cpu: values['load-cpu'],
      },
      scratchDirectory,
    );
    if (saturation.unexpectedStatuses > 0)
      throw new Error(
        `${String(saturation.unexpectedStatuses)} wrong answers while finding the saturating rate`,
      );
    const rate = saturation.requestsPerSecond / 2;
    const keepAwake = await chooser.choose(rate);
    await chooser.stop();
    say(
      `${scenario.label}: saturates at ${saturation.requestsPerSecond.toFixed(0)} req/s; soaking at ${rate.toFixed(0)} req/s for ${values.minutes} min`,
    );

    const samples: RssSample[] = [];
    const started = Date.now();
    const sampler = setInterval(() => {
      samples.push({
        atSeconds: (Date.now() - started) / 1000,
        rssBytes: readMemory(target.memoryPid).rssBytes,
      });
    }, 5_000);
    let load: RateLoadResult;
    // The generator and, where they help, the idle spinners of the half-load figures.
    const wake = keepAwake.keepAwake
      ? keepCoresAwake(openLoop, [values['server-cpu'], values['load-cpu']])
      : undefined;
    try {
      load = await runOpenLoop(
        {
          url: target.request.url,
          rate,
          durationSeconds: totalSeconds - warmupSeconds,
          warmupSeconds,
          connections: Number(values.connections),
          headers: target.request.headers,
          expectedStatus: target.request.expectedStatus,
        },
        values['load-cpu'],
        openLoop,
      );
    } finally {
      wake?.();
      clearInterval(sampler);
    }
    const verdict = judgeSoak(samples, warmupSeconds, totalSeconds, load);
    const document = {
      startedAt: new Date(started).toISOString(),
      scenario: scenario.id,
      saturatingRate: saturation.requestsPerSecond,
      rate,
      harness: { keepAwake },
      minutes: Number(values.minutes),
      warmupMinutes: Number(values['warmup-minutes']),
      load,
      samples,
      verdict,
    };
    await mkdir(values['results-dir'], { recursive: true });
    const path = join(
      values['results-dir'],
      `soak-${new Date(started).toISOString().replaceAll(':', '-')}.json`,
    );
    await writeFile(path, `${JSON.stringify(document, null, 2)}\n`);
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    process.stdout.write(
      `\n## soak: ${scenario.label}, ${rate.toFixed(0)} req/s for ${values.minutes} min\n\n` +
        `${keepAwakeLine(keepAwake)}\n` +
        `requests ${String(load.completed)} measured, errors ${String(load.errors)}, wrong statuses ${String(load.unexpectedStatuses)}; ` +
        `latency p50 ${load.latencyMs.p50.toFixed(2)} ms, p99 ${load.latencyMs.p99.toFixed(2)} ms, p99.9 ${load.latencyMs.p999.toFixed(2)} ms\n` +
        `RSS ${mb(verdict.baselineRssBytes)} MB after warm-up → ${mb(verdict.finalRssBytes)} MB (${(verdict.growth * 100).toFixed(1)}%)\n` +
        `${verdict.passed ? 'Soak: PASSED' : `Soak: FAILED\n- ${verdict.reasons.join('\n- ')}`}\nResults: ${path}\n`,
    );
    return verdict.passed ? 0 : 1;
  } finally {
    await chooser.stop();
    await target.stop();
    await context.close();
    await deleteKeysWithPrefix(values['redis-url'], context.sessionKeyPrefix).catch(() => 0);
    // BENCH_KEEP_SCRATCH keeps the server's log, as bench/run.ts does.
    if (process.env['BENCH_KEEP_SCRATCH'] === undefined) {
      await rm(scratchDirectory, { recursive: true, force: true });
    } else {
      say(`kept the scratch directory (server log): ${scratchDirectory}`);
    }
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (error) {
    process.stderr.write(
      `[soak] ERROR: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 2;
  }
}
