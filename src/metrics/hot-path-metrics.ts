import type { Counter } from 'prom-client';
import {
  Histogram,
  type HistogramConfiguration,
  type LabelValues,
  type MetricObjectWithValues,
  type MetricType,
  type MetricValueWithName,
} from 'prom-client';

/**
 * Counts and durations recorded on every check as plain numbers, and handed to prom-client only
 * when Prometheus scrapes. prom-client's `labels(...).inc()` and `.observe()` hash and validate
 * the label object on every call, even on a label-bound child (prom-client 15, lib/counter.js
 * `labels` binds the object, `inc` hashes it again): about 5% of a guest check's CPU (issue #17).
 * Here a label set is resolved once into a slot, and the hot path only adds to numbers in it.
 */

/** One label set of a counter; `pending` is added to the counter at the next scrape. */
export interface CountSlot {
  pending: number;
}

/** Slots of one prom-client counter, flushed into it by the counter's `collect` hook. */
export class PendingCounts<T extends string> {
  readonly #slots: { readonly labels: LabelValues<T>; readonly slot: CountSlot }[] = [];

  /** A new slot for these labels; the caller keeps it (one per label set). */
  slot(labels: LabelValues<T>): CountSlot {
    const slot: CountSlot = { pending: 0 };
    this.#slots.push({ labels, slot });
    return slot;
  }

  /** Adds what each slot counted since the last scrape to the counter (its `collect` hook). */
  flushInto(counter: Counter<T>): void {
    for (const { labels, slot } of this.#slots) {
      if (slot.pending === 0) continue;
      counter.inc(labels, slot.pending);
      slot.pending = 0;
    }
  }
}

/** One label set of a `TalliedHistogram`. */
export class DurationSeries<T extends string> {
  readonly labels: LabelValues<T>;
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last counts those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: LabelValues<T>, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    // A bucket's bound is inclusive (`le`), as in prom-client's findBound.
    let index = 0;
    while (index < bounds.length && value > (bounds[index] ?? 0)) index++;
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.sum += value;
    this.count += 1;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/**
 * A prom-client histogram whose series are `DurationSeries`: the same name, help, buckets and
 * exposition (`_bucket{le}`, `_sum`, `_count`), but an observation is a bucket search and three
 * additions. `observe(labels, value)` still works (it finds the series by its label values).
 */
export class TalliedHistogram<T extends string> extends Histogram<T> {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #labelNames: readonly T[];
  readonly #series = new Map<string, DurationSeries<T>>();

  constructor(
    config: HistogramConfiguration<T> & { readonly buckets: readonly number[]; labelNames: T[] },
  ) {
    super(config);
    this.#name = config.name;
    this.#help = config.help;
    this.#bounds = Object.freeze([...config.buckets].sort((a, b) => a - b));
    this.#labelNames = Object.freeze([...config.labelNames]);
    // prom-client's own observe would record where nothing exports from; route it here.
    const observe = (labels: unknown, value?: unknown): void => {
      if (typeof value !== 'number' || labels === null || typeof labels !== 'object') {
        throw new TypeError(`${this.#name}: observe(labels, seconds) is the only form supported`);
      }
      this.series(labels).observe(value);
    };
    this.observe = observe;
  }

  /** The series of these label values, created on first use; keep it for the hot path. */
  series(labels: LabelValues<T>): DurationSeries<T> {
    const key = this.#labelNames.map((name) => String(labels[name] ?? '')).join('\u0000');
    let series = this.#series.get(key);
    if (series === undefined) {
      for (const name of Object.keys(labels)) {
        if (!this.#labelNames.includes(name as T)) {
          throw new Error(`${this.#name} has no label ${name}`);
        }
      }
      series = new DurationSeries(Object.freeze({ ...labels }), this.#bounds);
      this.#series.set(key, series);
    }
    return series;
  }

  override get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    return Promise.resolve({
      name: this.#name,
      help: this.#help,
      // prom-client declares MetricType as an enum its JavaScript does not export; the registry
      // writes this string into `# TYPE`.
      type: 'histogram' as unknown as MetricType,
      aggregator: 'sum',
      collect: () => undefined,
      values: this.#values(),
    });
  }

  /** prom-client's Registry prefers this to `get()` when rendering the text exposition. */
  getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    return this.get();
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    if (!(#series in this)) return;
    for (const series of this.#series.values()) series.reset();
  }

  #values(): MetricValueWithName<T>[] {
    const values: MetricValueWithName<T>[] = [];
    const bucket = `${this.#name}_bucket`;
    for (const series of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, index) => {
        cumulative += series.counts[index] ?? 0;
        values.push({
          metricName: bucket,
          labels: { le: bound, ...series.labels },
          value: cumulative,
        });
      });
      values.push(
        {
          metricName: bucket,
          labels: { le: '+Inf', ...series.labels },
          value: series.count,
        },
        { metricName: `${this.#name}_sum`, labels: series.labels, value: series.sum },
        { metricName: `${this.#name}_count`, labels: series.labels, value: series.count },
      );
    }
    return values;
  }
}
