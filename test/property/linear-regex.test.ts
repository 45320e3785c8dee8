/**
 * The regular expressions of policies (issue #19: `RegularExpression` paths, header and query
 * values) run on request data anyone can send, so they must run in time linear in the input
 * whatever the pattern (src/authz/regex.ts). Two properties:
 *
 * 1. patterns that make a backtracking engine take exponential time (ReDoS: `(a+)+$`,
 *    `(a|aa)*b`, `(.*a){12}`) finish on inputs of 100 000 characters within a generous bound
 *    (JavaScript's own RegExp would not finish `(a+)+$` on 40 characters in a day), and the time
 *    grows no faster than the input: 8× the input costs well under 64× the time;
 * 2. on patterns both engines read the same way, a policy pattern matches exactly when
 *    JavaScript's `^(?:pattern)$` does: anchored at both ends, nothing more, nothing less.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileLinearRegex } from '../../src/authz/regex.ts';
import type { LinearRegex } from '../../src/authz/regex.ts';
import { runs, timeoutFor } from './runs.ts';

function compiled(pattern: string): LinearRegex {
  const result = compileLinearRegex(pattern);
  if (!result.ok) throw new Error(`${pattern}: ${result.problem}`);
  return result.regex;
}

/** Milliseconds of the fastest of three runs: the least disturbed by other processes. */
function fastest(regex: LinearRegex, input: string): number {
  let best = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = performance.now();
    regex.test(input);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

const evilPatterns: [string, (length: number) => string][] = [
  ['(a+)+$', (length) => `${'a'.repeat(length)}!`],
  ['(a|aa)*b', (length) => 'a'.repeat(length)],
  ['(.*a){12}', (length) => 'a'.repeat(length)],
  ['/api/(\\w+\\s?)*$', (length) => `/api/${'word '.repeat(length / 5)}!`],
];

describe('policy regular expressions run in linear time', () => {
  it.each(evilPatterns)(
    '%s on 100 000 characters finishes fast, and 8× the input costs less than 64× the time',
    (pattern, input) => {
      const regex = compiled(pattern);
      const long = input(100_000);
      const started = performance.now();
      regex.test(long);
      // Generous: linear matching takes milliseconds; backtracking would never return.
      expect(performance.now() - started).toBeLessThan(5_000);
      const small = fastest(regex, input(10_000));
      const large = fastest(regex, input(80_000));
      expect(large).toBeLessThan(Math.max(small, 1) * 64);
    },
    60_000,
  );
});

/** Patterns from a grammar whose meaning is the same to RE2 and to JavaScript. */
const atom: fc.Arbitrary<string> = fc.constantFrom('a', 'b', '/', '-', '.', '[ab]', '[^a]', '\\d');
const pattern: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(tie('expr'), tie('expr')).map(([left, right]) => `${left}${right}`),
    fc.tuple(tie('expr'), tie('expr')).map(([left, right]) => `(?:${left}|${right})`),
    fc
      .tuple(tie('expr'), fc.constantFrom('*', '+', '?', '{1,2}'))
      .map(([inner, repeat]) => `(?:${inner})${repeat}`),
  ),
})).expr;
const subject = fc.string({ unit: fc.constantFrom('a', 'b', '/', '-', '1', 'x'), maxLength: 12 });

describe('policy regular expressions are anchored full matches', () => {
  const CASES = runs(0.5);
  it(
    'match exactly when ^(?:pattern)$ does in JavaScript',
    () => {
      fc.assert(
        fc.property(pattern, subject, (source, input) => {
          const reference = new RegExp(`^(?:${source})$`);
          expect(compiled(source).test(input)).toBe(reference.test(input));
        }),
        { numRuns: CASES },
      );
    },
    timeoutFor(CASES, 4),
  );

  it('refuse what RE2 cannot run in linear time, with the compiler message', () => {
    for (const source of ['(a)\\1', '(?=a)a', '(?<!a)b', 'a{1001}']) {
      const result = compileLinearRegex(source);
      expect(result.ok, source).toBe(false);
      if (!result.ok) expect(result.problem).toMatch(/is not a valid RE2 regular expression/);
    }
    expect(compileLinearRegex('a'.repeat(1025))).toEqual({
      ok: false,
      problem: 'is longer than 1024 characters',
    });
  });
});
