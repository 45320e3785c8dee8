import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, tryParseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['8h', 28_800_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['0s', 0],
    ['45', 45_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('reads a bare integer as seconds', () => {
    expect(parseDuration(90)).toBe(90_000);
  });

  it.each(['', 'ten seconds', '-5s', '5 m', '5x', '1.5', 's', '10mm', '1h 30m'])(
    'rejects %j',
    (text) => {
      expect(tryParseDuration(text)).toBeUndefined();
    },
  );

  it('rejects negative, fractional and unsafe numbers', () => {
    expect(tryParseDuration(-1)).toBeUndefined();
    expect(tryParseDuration(1.5)).toBeUndefined();
    expect(tryParseDuration(Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });

  it('explains the expected spelling when it throws', () => {
    expect(() => parseDuration('soon')).toThrow(/"soon" is not a duration \(e\.g\. 500ms, 30s/);
  });
});

describe('formatDuration', () => {
  it('writes milliseconds back the way an operator writes them', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(300_000)).toBe('5m');
    expect(formatDuration(5_400_500)).toBe('1h30m500ms');
    expect(parseDuration(formatDuration(694_861_001))).toBe(694_861_001);
  });
});
