import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PendingCounts, TalliedHistogram } from './hot-path-metrics.ts';

const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

function histograms() {
  const tallied = new Registry();
  const reference = new Registry();
  const config = { name: 'x_duration_seconds', help: 'Help.', labelNames: ['dialect'] };
  return {
    tallied: new TalliedHistogram({ ...config, buckets, registers: [tallied] }),
    reference: new Histogram({ ...config, buckets, registers: [reference] }),
    text: async () => ({ tallied: await tallied.metrics(), reference: await reference.metrics() }),
  };
}

describe('TalliedHistogram', () => {
  it('exposes exactly what a prom-client histogram exposes for the same observations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom('nginx', 'forward-auth', 'ext-authz'),
            fc.oneof(
              fc.constantFrom(...buckets, 0, 2, 1e-9),
              fc.double({ min: 0, max: 3, noNaN: true }),
            ),
          ),
          { maxLength: 200 },
        ),
        async (observations) => {
          const { tallied, reference, text } = histograms();
          for (const [dialect, seconds] of observations) {
            tallied.series({ dialect }).observe(seconds);
            reference.observe({ dialect }, seconds);
          }
          const rendered = await text();
          expect(rendered.tallied).toBe(rendered.reference);
          // The JSON form too (`registry.getMetricsAsJSON()`), but for prom-client's exemplar slot.
          const plain = (
            values: readonly { metricName?: string; labels: object; value: number }[],
          ) => values.map(({ metricName, labels, value }) => ({ metricName, labels, value }));
          expect(plain((await tallied.get()).values)).toEqual(
            plain((await reference.get()).values),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('records observe(labels, value) too, refuses other forms and unknown labels', async () => {
    const { tallied, reference, text } = histograms();
    tallied.observe({ dialect: 'nginx' }, 0.003);
    reference.observe({ dialect: 'nginx' }, 0.003);
    const rendered = await text();
    expect(rendered.tallied).toBe(rendered.reference);
    expect(rendered.tallied).toMatch(/^x_duration_seconds_count\{dialect="nginx"\} 1$/m);
    expect(() => {
      tallied.observe(0.1);
    }).toThrow(/observe\(labels, seconds\)/);
    expect(() => tallied.series({ route: '/' })).toThrow(/has no label route/);
  });

  it('starts every series again from zero on reset', async () => {
    const { tallied } = histograms();
    const series = tallied.series({ dialect: 'nginx' });
    series.observe(0.002);
    tallied.reset();
    const values = (await tallied.get()).values;
    expect(values.every((value) => value.value === 0)).toBe(true);
  });
});

describe('PendingCounts', () => {
  it('adds what each slot counted to the counter at every scrape, once', async () => {
    const registry = new Registry();
    const counts = new PendingCounts<'result'>();
    const counter = new Counter({
      name: 'x_lookups_total',
      help: 'Help.',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        counts.flushInto(this);
      },
    });
    const hits = counts.slot({ result: 'hit' });
    const misses = counts.slot({ result: 'miss' });
    hits.pending += 3;
    counter.inc({ result: 'miss' }); // direct increments still count
    expect(await registry.metrics()).toMatch(/x_lookups_total\{result="hit"\} 3\n/);
    hits.pending += 1;
    misses.pending += 2;
    const text = await registry.metrics();
    expect(text).toMatch(/x_lookups_total\{result="hit"\} 4\n/);
    expect(text).toMatch(/x_lookups_total\{result="miss"\} 3\n/);
    const values = (await counter.get()).values;
    expect(Object.fromEntries(values.map((value) => [value.labels.result, value.value]))).toEqual({
      hit: 4,
      miss: 3,
    });
  });
});
