/**
 * Durations in the configuration are written the way operators write them in Helm values and
 * Go tools (`500ms`, `30s`, `10m`, `8h`, `7d`, or combined `1h30m`); a bare integer means
 * seconds. The loaded configuration carries milliseconds so no consumer parses them again.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const WHOLE_SECONDS = /^\d+$/;

/** An operator-facing explanation used in validation messages. */
export const DURATION_EXAMPLES = 'e.g. 500ms, 30s, 10m, 8h, 7d';

/**
 * Parses `text` into milliseconds, or returns `undefined` when it is not a duration.
 * Negative values are not durations: every timeout and lifetime in gatehouse is ≥ 0.
 */
export function tryParseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') {
    return Number.isSafeInteger(text) && text >= 0 ? checked(text * 1_000) : undefined;
  }
  const trimmed = text.trim();
  if (WHOLE_SECONDS.test(trimmed)) return checked(Number(trimmed) * 1_000);
  if (trimmed === '') return undefined;
  // Sticky, so the parts must cover the whole text; `ms` precedes `m` and `s` in the
  // alternation so `500ms` is not read as `500m` followed by a stray `s`.
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  while (part.lastIndex < trimmed.length) {
    const match = part.exec(trimmed);
    if (match === null) return undefined;
    const [, amount, unit] = match as unknown as [string, string, Unit];
    total += Number(amount) * UNIT_MS[unit];
  }
  return checked(Math.round(total));
}

/** Parses `text` into milliseconds; throws a `RangeError` an operator understands otherwise. */
export function parseDuration(text: string | number): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) {
    throw new RangeError(`${JSON.stringify(text)} is not a duration (${DURATION_EXAMPLES})`);
  }
  return ms;
}

/** Formats milliseconds the way they are written in the configuration (`90000` → `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}

function checked(ms: number): number | undefined {
  return Number.isSafeInteger(ms) ? ms : undefined;
}
