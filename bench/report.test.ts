import { describe, expect, it } from 'vitest';
import {
  markdownTable,
  medianHalfLoad,
  mediansOf,
  regressionGuard,
  targetChecks,
} from './report.ts';
import type { RateLoadResult } from './rate-load.ts';
import type { RunMeasurement, ScenarioResult } from './report.ts';

function run(requestsPerSecond: number, p99 = 3): RunMeasurement {
  return {
    requests: requestsPerSecond * 10,
    requestsPerSecond,
    latencyMs: { p50: 1, p99, p999: p99 * 2, max: 20 },
    cpuUsPerRequest: 1e6 / requestsPerSecond,
    errors: 0,
    unexpectedStatuses: 0,
  };
}

function ok(id: string, group: string, rps: number): ScenarioResult {
  const runs = [run(rps), run(rps * 1.02), run(rps * 0.5)];
  return {
    id,
    group,
    label: `(${id}) x`,
    status: 'ok',
    runs,
    medians: mediansOf(runs, 80 * 1024 * 1024),
  };
}

describe('mediansOf', () => {
  it('reports the median run, not the mean dragged down by a disturbed one', () => {
    const medians = mediansOf([run(10_000), run(10_200), run(5_000)], 100 * 1024 * 1024);
    expect(medians.requestsPerSecond).toBe(10_000);
    expect(medians.peakRssMb).toBe(100);
    expect(medians.rpsSpread).toBeCloseTo(0.52);
  });
});

describe('medianHalfLoad', () => {
  const halfLoad = (p99: number, p50: number): RateLoadResult => ({
    targetRate: 20_000,
    scheduled: 200_000,
    completed: 200_000,
    achievedRate: 20_000,
    latencyMs: { p50, p99, p999: p99 * 3, max: p99 * 5 },
    sendLagMs: { p99: 0.07, max: 0.3 },
    errors: 0,
    unexpectedStatuses: 0,
    firstUnexpectedStatus: 0,
  });

  it('reports the run with the median p99, whole, not one stalled window', () => {
    const stalled = halfLoad(29.7, 0.08);
    const middle = halfLoad(0.85, 0.09);
    expect(medianHalfLoad([stalled, middle, halfLoad(0.78, 0.08)])).toBe(middle);
    // An even count takes the lower middle run; a single run is itself.
    expect(medianHalfLoad([stalled, middle])).toBe(middle);
    expect(medianHalfLoad([stalled])).toBe(stalled);
    expect(() => medianHalfLoad([])).toThrow(/no half-load run/);
  });
});

describe('regressionGuard', () => {
  it('passes when (b) and (c) keep 40% of the framework limit', () => {
    expect(
      regressionGuard([ok('a2', 'a2', 10_000), ok('b', 'b', 7_000), ok('c', 'c', 4_100)]).passed,
    ).toBe(true);
  });

  it('fails on a gross regression of (c) and says by how much', () => {
    const verdict = regressionGuard([
      ok('a2', 'a2', 10_000),
      ok('b', 'b', 7_000),
      ok('c', 'c', 3_000),
    ]);
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toEqual([
      "(c) reached 30% of (a′)'s requests per second; the guard needs 40%",
    ]);
  });

  it('fails when a scenario answered the wrong status, whatever the speed', () => {
    const failed: ScenarioResult = {
      id: 'c',
      group: 'c',
      label: '(c) session, cache hit',
      status: 'failed',
      failure: 'expected 200, got 401',
      runs: [],
    };
    const verdict = regressionGuard([ok('a2', 'a2', 10_000), ok('b', 'b', 7_000), failed]);
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toEqual(['(c) session, cache hit: expected 200, got 401']);
  });
});

describe('targetChecks', () => {
  it('judges the ratios of one run and leaves unmeasured targets open', () => {
    const checks = targetChecks([
      ok('a', 'a', 20_000),
      ok('a2', 'a2', 12_000),
      ok('c', 'c', 10_800),
    ]);
    const byName = new Map(checks.map((check) => [check.name, check]));
    expect(byName.get('(c) / (a′) req/s')?.met).toBe(true);
    expect(byName.get('(c) / (a) req/s')?.value).toBeCloseTo(0.54);
    expect(byName.get('(c) / (h) oauth2-proxy req/s')?.met).toBeNull();
    // (b) did not run: its ratio is open, not failed.
    expect(byName.get('(b) / (a′) req/s')?.met).toBeNull();
  });

  it("holds (c)'s peak RSS to 1.3 × (a′)'s, the bound itself included", () => {
    const withRss = (id: string, mb: number): ScenarioResult => ({
      ...ok(id, id, 10_000),
      medians: mediansOf([run(10_000)], mb * 1024 * 1024),
    });
    const rssCheck = (c: number) =>
      targetChecks([withRss('a2', 100), withRss('c', c)]).find(
        (check) => check.name === '(c) peak RSS / (a′) peak RSS',
      );
    expect(rssCheck(130)?.met).toBe(true);
    expect(rssCheck(131)?.met).toBe(false);
  });
});

describe('markdownTable', () => {
  it('shows a failed scenario loudly instead of numbers', () => {
    const table = markdownTable([
      {
        id: 'c',
        group: 'c',
        label: '(c) session',
        status: 'failed',
        failure: 'got 401 | twice',
        runs: [],
      },
    ]);
    expect(table).toContain('| (c) session | **FAILED**: got 401 \\| twice |');
  });
});
