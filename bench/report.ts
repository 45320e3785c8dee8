/**
 * Results: per-scenario medians, the ratios of issue 8's targets, the CI regression guard, and
 * the Markdown table printed at the end of a run. Pure: the runner hands in measurements.
 */
import type { PolicyScaleResult } from './policy-scale.ts';
import type { KeepAwakeChoice } from './keep-awake.ts';
import type { RateLoadResult } from './rate-load.ts';
import { median, relativeSpread } from './stats.ts';

export interface RunMeasurement {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
  };
  /** Server-core CPU (user + system) per request, microseconds. */
  readonly cpuUsPerRequest: number;
  /** Redis server CPU per request, microseconds (scenarios using Redis; absent otherwise). */
  readonly redisCpuUsPerRequest?: number;
  /** Socket errors and timeouts. */
  readonly errors: number;
  readonly unexpectedStatuses: number;
}

export interface ScenarioMedians {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly cpuUsPerRequest: number;
  readonly redisCpuUsPerRequest?: number;
  readonly peakRssMb: number;
  /** (max − min) / median of the runs' requests per second. */
  readonly rpsSpread: number;
}

export interface ScenarioResult {
  readonly id: string;
  readonly group: string;
  readonly label: string;
  readonly status: 'ok' | 'failed';
  readonly failure?: string;
  readonly runs: readonly RunMeasurement[];
  readonly medians?: ScenarioMedians;
  /** The half-load run with the median p99 (`medianHalfLoad`), the figures reported. */
  readonly halfLoad?: RateLoadResult;
  /** Every half-load run, in order. */
  readonly halfLoadRuns?: readonly RateLoadResult[];
  /** Whether idle spinners ran during them, and the calibration that chose (bench/keep-awake.ts). */
  readonly keepAwake?: KeepAwakeChoice;
  readonly policyScale?: PolicyScaleResult;
}

/**
 * The half-load run reported: the one with the median p99 (the lower middle one of an even
 * count), so its p50, p99, p99.9 and send lag are one run's consistent figures. One 10 s window
 * at ~20,000 req/s is at the mercy of a single stall of the VM; several runs are judged by their
 * middle, as the saturating figures are.
 */
export function medianHalfLoad(runs: readonly RateLoadResult[]): RateLoadResult {
  const sorted = [...runs].sort((a, b) => a.latencyMs.p99 - b.latencyMs.p99);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (middle === undefined) throw new Error('no half-load run to report');
  return middle;
}

export function mediansOf(runs: readonly RunMeasurement[], peakRssBytes: number): ScenarioMedians {
  const redis = runs.map((run) => run.redisCpuUsPerRequest).filter((value) => value !== undefined);
  const rps = runs.map((run) => run.requestsPerSecond);
  return {
    requestsPerSecond: median(rps),
    p50Ms: median(runs.map((run) => run.latencyMs.p50)),
    p99Ms: median(runs.map((run) => run.latencyMs.p99)),
    p999Ms: median(runs.map((run) => run.latencyMs.p999)),
    cpuUsPerRequest: median(runs.map((run) => run.cpuUsPerRequest)),
    ...(redis.length === 0 ? {} : { redisCpuUsPerRequest: median(redis) }),
    peakRssMb: peakRssBytes / (1024 * 1024),
    rpsSpread: relativeSpread(rps),
  };
}

export interface TargetCheck {
  readonly name: string;
  /** null when a scenario it needs did not run or failed. */
  readonly value: number | null;
  readonly target: string;
  readonly met: boolean | null;
}

function rps(results: readonly ScenarioResult[], id: string): number | null {
  const found = results.find((result) => result.id === id);
  return found?.status === 'ok' && found.medians !== undefined
    ? found.medians.requestsPerSecond
    : null;
}

function ratio(results: readonly ScenarioResult[], over: string, under: string): number | null {
  const top = rps(results, over);
  const bottom = rps(results, under);
  return top === null || bottom === null || bottom === 0 ? null : top / bottom;
}

function atLeast(name: string, value: number | null, minimum: number, shown: string): TargetCheck {
  return { name, value, target: shown, met: value === null ? null : value >= minimum };
}

function below(name: string, value: number | null, maximum: number, shown: string): TargetCheck {
  return { name, value, target: shown, met: value === null ? null : value < maximum };
}

function peakRssMb(results: readonly ScenarioResult[], id: string): number | null {
  const found = results.find((result) => result.id === id);
  return found?.status === 'ok' && found.medians !== undefined ? found.medians.peakRssMb : null;
}

function halfLoadP99(results: readonly ScenarioResult[], id: string): number | null {
  const found = results.find((result) => result.id === id);
  return found?.status === 'ok' && found.halfLoad !== undefined
    ? found.halfLoad.latencyMs.p99
    : null;
}

/**
 * The targets one run can judge: issue 8's, tightened by issue 17 ((b)/(a′), (d)/(h) ≥ 1.2,
 * (c)'s peak RSS, and (a)'s half-load tail, which says whether the generator can be trusted).
 * The soak is `make soak-load`.
 */
export function targetChecks(results: readonly ScenarioResult[]): TargetCheck[] {
  const rssA2 = peakRssMb(results, 'a2');
  const rssC = peakRssMb(results, 'c');
  const checks: TargetCheck[] = [
    atLeast('(c) / (a′) req/s', ratio(results, 'c', 'a2'), 0.85, '≥ 0.85'),
    atLeast('(b) / (a′) req/s', ratio(results, 'b', 'a2'), 1.0, '≥ 1.0'),
    atLeast('(c) / (a) req/s', ratio(results, 'c', 'a'), 0.5, '≥ 0.50'),
    atLeast('(d) / (a′) req/s', ratio(results, 'd', 'a2'), 0.75, '≥ 0.75'),
    atLeast('(c) / (h) oauth2-proxy req/s', ratio(results, 'c', 'h'), 1.5, '≥ 1.5'),
    atLeast('(d) / (h) oauth2-proxy req/s', ratio(results, 'd', 'h'), 1.2, '≥ 1.2'),
    below(
      '(c) peak RSS / (a′) peak RSS',
      rssA2 === null || rssC === null ? null : rssC / rssA2,
      1.3 + 1e-9,
      '≤ 1.3',
    ),
    below('(a) p99 at half load, ms (the generator)', halfLoadP99(results, 'a'), 1, '< 1'),
  ];
  for (const id of ['b', 'c', 'd', 'e', 'e-nocache']) {
    checks.push(below(`(${id}) p99 at half load, ms`, halfLoadP99(results, id), 2, '< 2'));
  }
  const large = results.find((result) => result.id === 'f-10k');
  const scale = large?.policyScale;
  checks.push(
    below('(f) decide() 10k / 10 policies', scale?.decideRatio ?? null, 1.2, '< 1.2'),
    below('(f) snapshot rebuild, ms', scale?.large.buildSnapshotMs ?? null, 1000, '< 1000'),
    below(
      '(f) server peak RSS, MB',
      large?.status === 'ok' && large.medians !== undefined ? large.medians.peakRssMb : null,
      300,
      '< 300',
    ),
  );
  const small = results.find((result) => result.id === 'f-10');
  const cpuRatio =
    large?.medians !== undefined &&
    small?.medians !== undefined &&
    large.status === 'ok' &&
    small.status === 'ok'
      ? large.medians.cpuUsPerRequest / small.medians.cpuUsPerRequest
      : null;
  checks.push(below('(f) CPU/request 10k / 10 policies', cpuRatio, 1.2, '< 1.2'));
  return checks;
}

/** The CI regression guard (issue 8 item 4): only gross regressions fail. */
export interface GuardVerdict {
  readonly passed: boolean;
  readonly reasons: readonly string[];
}

/**
 * Gross regressions only: the recorded run (docs/benchmarks.md) has (b) at about 0.75 and (c) at
 * about 0.58 of (a′), and short runs on a 2-core machine swing by ±15%, so 0.4 fails a change
 * that makes the hot path markedly slower without failing on noise.
 */
export const guardMinimumRatio = 0.4;

export function regressionGuard(results: readonly ScenarioResult[]): GuardVerdict {
  const reasons: string[] = [];
  for (const result of results) {
    if (result.status === 'failed') reasons.push(`${result.label}: ${result.failure ?? 'failed'}`);
  }
  for (const id of ['c', 'b']) {
    const value = ratio(results, id, 'a2');
    if (value === null) {
      if (!reasons.some((reason) => reason.startsWith(`(${id})`))) {
        reasons.push(`(${id}) / (a′) could not be computed: a scenario did not run`);
      }
    } else if (value < guardMinimumRatio) {
      reasons.push(
        `(${id}) reached ${(value * 100).toFixed(0)}% of (a′)'s requests per second; the guard needs ${String(guardMinimumRatio * 100)}%`,
      );
    }
  }
  return { passed: reasons.length === 0, reasons };
}

const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);

export function markdownTable(results: readonly ScenarioResult[]): string {
  const lines = [
    '| scenario | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req | Redis µs/req | peak RSS MB | spread | half-load p50 / p99 / p99.9 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const result of results) {
    if (result.status === 'failed' || result.medians === undefined) {
      lines.push(
        `| ${result.label} | **FAILED**: ${(result.failure ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ')} | | | | | | | | |`,
      );
      continue;
    }
    const m = result.medians;
    const half = result.halfLoad;
    const halfText =
      half === undefined
        ? ''
        : // The generator's own send lag (p99) beside every half-load figure (issue #17): a tail
          // no larger than the lag may be the generator's, not the server's.
          `${fixed(half.latencyMs.p50, 2)} / ${fixed(half.latencyMs.p99, 2)} / ${fixed(half.latencyMs.p999, 2)} @ ${fixed(half.targetRate, 0)}/s, send lag p99 ${fixed(half.sendLagMs.p99, 2)} (${half.generator ?? 'node'}${half.coresKeptAwake === true ? ', cores kept awake' : ''})${
            // Not holding the rate means the server (or a busy machine) fell behind: say so.
            half.achievedRate < half.targetRate * 0.95
              ? ` (held only ${fixed(half.achievedRate, 0)}/s)`
              : ''
          }`;
    lines.push(
      `| ${result.label} | ${fixed(m.requestsPerSecond, 0)} | ${fixed(m.p50Ms, 2)} | ${fixed(m.p99Ms, 2)} | ${fixed(m.p999Ms, 2)} | ${fixed(m.cpuUsPerRequest, 1)} | ${fixed(m.redisCpuUsPerRequest, 1)} | ${fixed(m.peakRssMb, 0)} | ${fixed(m.rpsSpread * 100, 0)}% | ${halfText} |`,
    );
  }
  return lines.join('\n');
}

export function markdownTargets(checks: readonly TargetCheck[]): string {
  const lines = ['| target | measured | goal | met |', '| --- | ---: | --- | --- |'];
  for (const check of checks) {
    const met = check.met === null ? 'not measured' : check.met ? 'yes' : '**no**';
    lines.push(
      `| ${check.name} | ${check.value === null ? '–' : check.value.toFixed(2)} | ${check.target} | ${met} |`,
    );
  }
  return lines.join('\n');
}
