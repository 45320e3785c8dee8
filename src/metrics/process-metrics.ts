import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';

/**
 * prom-client's default process metrics, except its garbage-collection histogram
 * (`nodejs_gc_duration_seconds`).
 *
 * That histogram observes `gc` performance entries. Node builds a JavaScript entry for every
 * collection, with deprecated accessors wrapped per entry (DEP0152), and those entries lived long
 * enough to be promoted: in bench scenario (c) they were 73% of the bytes reaching the old
 * generation, and a server without them peaked at 142 MB of RSS instead of 161 (issue #17).
 * prom-client's observer also kept only the first entry of each batch it was handed, so the
 * histogram undercounted anyway. `v8.GCProfiler`, the other source of per-collection durations,
 * was tried in its place and grew the process by 180 MB in 12 s of allocation churn. Pauses
 * still show in `nodejs_eventloop_lag_*` and the heap in `nodejs_heap_*`; `node --trace-gc`
 * attributes them when needed (docs/monitoring.md).
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

/** Registers the process metrics, named with `prefix`, in `registry`. */
export function collectProcessMetrics(registry: Registry, prefix: string): void {
  const require = createRequire(import.meta.url);
  const config = { prefix, eventLoopMonitoringPrecision: 10 };
  for (const name of defaultProcessMetrics) {
    // prom-client exports only collectDefaultMetrics (all or nothing); its package has no
    // `exports` map, and process-metrics.test.ts fails when its list of metrics changes.
    (require(`prom-client/lib/metrics/${name}.js`) as DefaultMetric)(registry, config);
  }
}
