/**
 * How many cases each property tries. CI runs a few thousand (the default); the nightly-style
 * `make fuzz` target sets `FAST_CHECK_RUNS=200000`. Properties whose single case is expensive
 * (large inputs, YAML parsing) take a fraction of the budget, named where they are declared.
 */
const configured = Number(process.env['FAST_CHECK_RUNS'] ?? 2000);

/** The run budget; a missing or nonsense value falls back to the CI default. */
export const baseRuns = Number.isFinite(configured) && configured >= 1 ? configured : 2000;

/** `fraction` of the budget, at least 1 case. */
export function runs(fraction = 1): number {
  return Math.max(1, Math.floor(baseRuns * fraction));
}

/**
 * The vitest timeout for a property of `count` cases: the CI budget (20 s) is enough for the
 * default, the long runs get time in proportion, so `make fuzz` needs no other setting.
 */
export function timeoutFor(count: number, msPerCase = 2): number {
  return Math.max(20_000, count * msPerCase);
}
