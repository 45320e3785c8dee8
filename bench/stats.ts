/**
 * Small statistics for benchmark runs. Medians across runs, because one run disturbed by a
 * neighbour (the machine is shared) must not move the reported figure; nearest-rank percentiles
 * for latency samples, because they are always a value that was actually observed.
 */

/** The median of `values` (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  const lower = sorted[middle - 1] ?? Number.NaN;
  return (lower + upper) / 2;
}

/**
 * Nearest-rank percentile (`p` in 0..100) of an ASCENDING array: the smallest sample such that
 * at least p% of the samples are at or below it. NaN when empty.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0] ?? Number.NaN;
  // The epsilon keeps float error (0.999 * 1000 = 999.0000000000001) from adding a rank.
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length, rank) - 1] ?? Number.NaN;
}

/** The relative spread of runs, (max − min) / median, so a reader can judge the noise. */
export function relativeSpread(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const middle = median(values);
  return (Math.max(...values) - Math.min(...values)) / middle;
}
