/**
 * Regular expressions that policies apply to request data (issue #19: `RegularExpression` paths,
 * header and query values). A pattern is written by a tenant and the input by anyone on the
 * internet, so a backtracking engine (JavaScript's RegExp) would let one request with a crafted
 * path pin a CPU (ReDoS, e.g. `(a+)+$` on `aaaa…!`). re2js is a port of RE2/J: it compiles to an
 * automaton and matches in time linear in the input, whatever the pattern
 * (https://github.com/google/re2/wiki/WhyRE2), and its syntax is RE2's, the one Envoy's
 * `safe_regex` and the API server's CEL `matches()` (Go regexp) use, so a pattern means the same
 * in the CRD check, in gatehouse and in Envoy routes. No backreferences, no lookarounds.
 *
 * Matches are anchored at both ends (a full match), as Envoy's `safe_regex` route matches are:
 * `/api/.*` never matches `/x/api/y` by accident. Compiled once, when a snapshot is built.
 */
import { createRequire } from 'node:module';
import type * as Re2js from 're2js';
import { maxPatternLength } from '../policy/resources.ts';

/**
 * re2js, loaded on the first pattern compiled: most installations have no regular expression in
 * any policy, and the engine is 0.6 MB of heap in every replica otherwise (issue #17). Its
 * CommonJS build, so the load is synchronous like the compile that needs it.
 */
let engine: typeof Re2js | undefined;
function re2js(): typeof Re2js {
  engine ??= createRequire(import.meta.url)('re2js') as typeof Re2js;
  return engine;
}

export interface LinearRegex {
  /** The pattern as written in the policy. */
  readonly source: string;
  /** True when the pattern matches the whole of `input`. */
  test(input: string): boolean;
}

export type RegexCompilation =
  | { readonly ok: true; readonly regex: LinearRegex }
  | { readonly ok: false; readonly problem: string };

/** Compiles an RE2 pattern, or says why it is not one (the compiler's message, for operators). */
export function compileLinearRegex(pattern: string): RegexCompilation {
  if (pattern.length > maxPatternLength) {
    return { ok: false, problem: `is longer than ${String(maxPatternLength)} characters` };
  }
  const { RE2JS, RE2JSException } = re2js();
  let compiled: Re2js.RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (error) {
    if (error instanceof RE2JSException) {
      return { ok: false, problem: `is not a valid RE2 regular expression: ${error.message}` };
    }
    throw error;
  }
  return {
    ok: true,
    regex: Object.freeze({
      source: pattern,
      test: (input: string) => compiled.matches(input),
    }),
  };
}

/** Like compileLinearRegex, for patterns already validated (policy/validate.ts): throws if not. */
export function linearRegex(pattern: string): LinearRegex {
  const compiled = compileLinearRegex(pattern);
  if (!compiled.ok) throw new Error(`regular expression "${pattern}" ${compiled.problem}`);
  return compiled.regex;
}
