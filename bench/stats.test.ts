import { describe, expect, it } from 'vitest';
import { median, percentileOfSorted, relativeSpread } from './stats.ts';

describe('median', () => {
  it('ignores one disturbed run among five', () => {
    expect(median([10_000, 10_200, 3_000, 9_900, 10_100])).toBe(10_000);
  });
  it('averages the two middle runs of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('is NaN without runs, so a missing figure never looks like zero', () => {
    expect(median([])).toBeNaN();
  });
});

describe('percentileOfSorted', () => {
  const samples = Float64Array.from({ length: 1000 }, (_, index) => index + 1);
  it('reports an observed sample (nearest rank)', () => {
    expect(percentileOfSorted(samples, 50)).toBe(500);
    expect(percentileOfSorted(samples, 99)).toBe(990);
    expect(percentileOfSorted(samples, 99.9)).toBe(999);
    expect(percentileOfSorted(samples, 100)).toBe(1000);
  });
  it('puts one slow request in a thousand at the maximum, not at p99.9', () => {
    const withOutlier = Float64Array.from(samples);
    withOutlier.fill(1);
    withOutlier[999] = 250;
    expect(percentileOfSorted(withOutlier, 99.9)).toBe(1);
    expect(percentileOfSorted(withOutlier, 100)).toBe(250);
  });
});

describe('relativeSpread', () => {
  it('is the range over the median', () => {
    expect(relativeSpread([90, 100, 110])).toBeCloseTo(0.2);
  });
});
