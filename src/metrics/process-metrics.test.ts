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
    collectProcessMetrics(ours, 'x_');
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs, prefix: 'x_' });
    const expected = (await namesOf(theirs)).filter(
      (name) => name !== 'x_nodejs_gc_duration_seconds',
    );
    expect(await namesOf(ours)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(10);
  });
});
