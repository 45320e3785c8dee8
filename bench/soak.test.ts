import { describe, expect, it } from 'vitest';
import { judgeSoak } from './soak.ts';
import type { RssSample } from './soak.ts';

const clean = {
  errors: 0,
  unexpectedStatuses: 0,
  firstUnexpectedStatus: 0,
  targetRate: 3000,
  achievedRate: 2990,
};
const mb = 1024 * 1024;

function samples(rssAt: (seconds: number) => number): RssSample[] {
  return Array.from({ length: 120 }, (_, index) => ({
    atSeconds: (index + 1) * 5,
    rssBytes: rssAt((index + 1) * 5),
  }));
}

describe('judgeSoak', () => {
  it('passes a heap that grows during warm-up and then settles', () => {
    const verdict = judgeSoak(
      samples((s) => (s < 60 ? 80 + s : 140) * mb),
      60,
      600,
      clean,
    );
    expect(verdict.passed).toBe(true);
    expect(verdict.growth).toBe(0);
  });

  it('fails a steady leak after the warm-up', () => {
    const verdict = judgeSoak(
      samples((s) => (100 + s * 0.05) * mb),
      60,
      600,
      clean,
    );
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons[0]).toMatch(/^RSS grew 26\.\d% after the warm-up/);
  });

  it('fails when the server could not keep up with the half-load rate', () => {
    const verdict = judgeSoak(
      samples(() => 100 * mb),
      60,
      600,
      { ...clean, achievedRate: 1800 },
    );
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons[0]).toMatch(/^held only 1800 of 3000 req\/s/);
  });

  it('fails on a single failed request, whatever the memory', () => {
    const verdict = judgeSoak(
      samples(() => 100 * mb),
      60,
      600,
      { ...clean, errors: 1 },
    );
    expect(verdict.reasons).toEqual(['1 requests failed']);
  });
});
