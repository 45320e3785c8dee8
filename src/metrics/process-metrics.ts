import { createRequire } from 'node:module';
import { GCProfiler } from 'node:v8';
import { Histogram, type Registry } from 'prom-client';

/**
 * prom-client's default process metrics, except its garbage-collection histogram, which is
 * replaced by one fed from `v8.GCProfiler`.
 *
 * prom-client's `nodejs_gc_duration_seconds` observes `gc` performance entries. Node builds a
 * JavaScript entry for every collection, with deprecated accessors wrapped per entry (DEP0152),
 * and those entries lived long enough to be promoted: in bench scenario (c) they were 73% of the
 * bytes reaching the old generation, and a server without them peaked at 142 MB of RSS instead of
 * 161 (issue #17). prom-client's observer also records only the first entry of each batch it is
 * handed. `GCProfiler` keeps its records in C++; they are read once a second and every
 * collection is counted.
 */

/** prom-client 15's default metrics (lib/defaultMetrics.js) but `gc`, in its order. */
export const defaultProcessMetrics = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
] as const;

type DefaultMetric = (
  registry: Registry,
  config: { readonly prefix: string; readonly eventLoopMonitoringPrecision: number },
) => void;

/** V8's collection types (GCProfiler `gcType`) as prom-client's `kind` label names them. */
const gcKinds: Readonly<Record<string, string>> = {
  Scavenge: 'minor',
  MinorMarkSweep: 'minor',
  MarkSweepCompact: 'major',
  IncrementalMarking: 'incremental',
  ProcessWeakCallbacks: 'weakcb',
};

/** How often the profiler's records are read (and its buffer emptied). */
const GC_READ_INTERVAL_MS = 1000;

/**
 * Registers the process metrics with `prefix` in `registry`. Returns the function that stops the
 * GC profiler (the interval is unreferenced, so a forgotten one never holds the process open).
 */
export function collectProcessMetrics(registry: Registry, prefix: string): () => void {
  const require = createRequire(import.meta.url);
  const config = { prefix, eventLoopMonitoringPrecision: 10 };
  for (const name of defaultProcessMetrics) {
    // prom-client exports only collectDefaultMetrics (all or nothing); its package has no
    // `exports` map, and process-metrics.test.ts fails when its list of metrics changes.
    (require(`prom-client/lib/metrics/${name}.js`) as DefaultMetric)(registry, config);
  }
  const histogram = new Histogram({
    name: `${prefix}nodejs_gc_duration_seconds`,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: [0.001, 0.01, 0.1, 1, 2, 5],
    registers: [registry],
  });
  const children = new Map<string, Histogram.Internal<'kind'>>();
  const profiler = new GCProfiler();
  profiler.start();
  const read = (): void => {
    const result = profiler.stop();
    profiler.start();
    for (const record of result.statistics) {
      const kind = gcKinds[record.gcType] ?? 'other';
      let child = children.get(kind);
      if (child === undefined) {
        child = histogram.labels({ kind });
        children.set(kind, child);
      }
      // `cost` is in microseconds.
      child.observe(record.cost / 1e6);
    }
  };
  const timer = setInterval(read, GC_READ_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    profiler.stop();
  };
}
