import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { collectProcessMetrics, defaultProcessMetrics } from './process-metrics.ts';

/** Metric names of a registry's text exposition. */
async function namesOf(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return [...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1] ?? '').sort();
}

describe('collectProcessMetrics', () => {
  it("is prom-client's default metrics but its GC histogram, and follows its list", async () => {
    // A prom-client upgrade that adds or renames a default metric fails here first.
    expect([...defaultProcessMetrics, 'gc']).toEqual(collectDefaultMetrics.metricsList);
    const ours = new Registry();
    const stop = collectProcessMetrics(ours, 'x_');
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs, prefix: 'x_' });
    try {
      expect(await namesOf(ours)).toEqual(await namesOf(theirs));
    } finally {
      stop();
    }
  });

  it('counts every collection, by kind', async () => {
    const registry = new Registry();
    const stop = collectProcessMetrics(registry, 'x_');
    try {
      // Enough garbage for several scavenges, then the profiler's once-a-second read.
      let keep: unknown[] = [];
      for (let round = 0; round < 200; round++) {
        keep = Array.from({ length: 20_000 }, (_, index) => ({ index, round }));
      }
      expect(keep.length).toBe(20_000);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const text = await registry.metrics();
      const minor = /^x_nodejs_gc_duration_seconds_count\{kind="minor"\} (\d+)$/m.exec(text);
      expect(Number(minor?.[1] ?? 0)).toBeGreaterThan(1);
    } finally {
      stop();
    }
  });
});
