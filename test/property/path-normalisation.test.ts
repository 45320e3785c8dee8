/**
 * Path normalisation against an independent model of how nginx routes a path (docs/architecture.md, decision
 * semantics 1). nginx (`ngx_http_parse_complex_uri`, `merge_slashes on`, the default) and Envoy
 * (`normalize_path` + `merge_slashes`) percent-decode the path, merge repeated slashes and resolve
 * dot-segments before they pick a location or route. If gatehouse judged any other path, a request
 * could be matched against one rule and routed to another: the CVE-2021-41773 / CVE-2026-34908
 * family of auth bypasses. The upstream, though, receives the raw path (nginx `proxy_pass`
 * without a URI, Caddy), so gatehouse refuses dot-segments instead of resolving them: whenever
 * normalisePath() accepts a path, decoding its result must give exactly what the model gives for
 * the raw path AND what merging slashes alone gives (no dot-segment was resolved), and
 * normalising again changes nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalisePath } from '../../src/authz/path.ts';
import { runs, timeoutFor } from './runs.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Percent-decodes every escape to bytes and reads them as UTF-8, the way nginx decodes `$uri`.
 * Null when the bytes are not UTF-8 or an escape is malformed (nginx answers 400 to the latter).
 */
function percentDecode(raw: string): string | null {
  const bytes: number[] = [];
  for (let index = 0; index < raw.length; index++) {
    const char = raw.charAt(index);
    if (char === '%') {
      const hex = raw.slice(index + 1, index + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(...Buffer.from(char, 'utf8'));
    }
  }
  try {
    return strictUtf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

/** RFC 3986 §5.2.4 remove_dot_segments, transcribed step by step (input and output buffers). */
function removeDotSegments(path: string): string {
  let input = path;
  let output = '';
  while (input !== '') {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) {
      input = input.slice(3);
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '/..') {
      input = '/';
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', input.startsWith('/') ? 1 : 0);
      const end = next === -1 ? input.length : next;
      output += input.slice(0, end);
      input = input.slice(end);
    }
  }
  return output === '' ? '/' : output;
}

/**
 * What nginx routes: decode, merge slashes (nginx merges while it parses, so `/a//../b` is `/b`),
 * then resolve dot-segments. Null when nginx would not route the path at all.
 */
function routedByNginx(raw: string): string | null {
  const decoded = percentDecode(raw);
  if (decoded === null) return null;
  return removeDotSegments(decoded.replace(/\/{2,}/g, '/'));
}

/** Pieces of path segments that a routable path may contain: text, dots, escapes of every class. */
const routablePiece = fc.constantFrom(
  'a',
  'b',
  'admin',
  'public',
  'x1',
  'a.b',
  '...',
  'a..',
  '~u',
  '.',
  '..',
  // encoded unreserved characters (decoded by both), including decoded dots
  '%41',
  '%61',
  '%2d',
  '%5F',
  '%7e',
  '%7E',
  '%2e',
  '%2E',
  // encoded reserved and other characters (kept encoded by gatehouse)
  '%20',
  '%25',
  '%3a',
  '%3F',
  '%23',
  '%40',
  '%C3%A9',
  '%e2%82%ac',
  '%F0%9F%98%80',
  // raw sub-delimiters, allowed in a path segment
  '!',
  '$',
  '&',
  "'",
  '(',
  ')',
  '*',
  '+',
  ',',
  '=',
  ':',
  '@',
);

/** What must be refused: encoded separators, controls, broken or overlong UTF-8, raw oddities. */
const hostilePiece = fc.constantFrom(
  '%2f',
  '%2F',
  '%5c',
  '%3b',
  ';',
  '\\',
  '%00',
  '%0a',
  '%7f',
  '%C2%85',
  '%c0%ae',
  '%e0%80%af',
  '%ed%a0%80',
  '%ff',
  '%',
  '%4',
  '%zz',
  '\t',
  'é',
);

/** Mostly routable pieces, so that most cases reach the comparison with the model. */
const piece = fc.oneof(
  { weight: 6, arbitrary: routablePiece },
  { weight: 1, arbitrary: hostilePiece },
);

/** A segment: one to three pieces, or exactly `.`, `..` or empty (a repeated slash). */
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.array(piece, { minLength: 1, maxLength: 3 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', '', '%2e%2e', '.%2e') },
);

const structuredPath = fc
  .tuple(fc.array(segment, { maxLength: 8 }), fc.boolean())
  .map(([segments, trailing]) => `/${segments.join('/')}${trailing ? '/' : ''}`);

/** Anything at all behind a leading slash, for idempotence and "never throws". */
const arbitraryPath = fc.string({ unit: 'binary', maxLength: 200 }).map((text) => `/${text}`);

const CASES = runs();

describe('normalisePath (property)', () => {
  it(
    `accepts a path only when decoding the result gives the path nginx routes (${String(CASES)} cases)`,
    () => {
      fc.assert(
        fc.property(structuredPath, (raw) => {
          const result = normalisePath(raw);
          if (!result.ok) return;
          const routed = routedByNginx(raw);
          expect(routed, 'nginx would not route what gatehouse accepted').not.toBeNull();
          expect(decodeURIComponent(result.value)).toBe(routed);
          // ...and that is the raw path the upstream receives, up to merged slashes: no
          // dot-segment was resolved on the way.
          expect(routed).toBe(percentDecode(raw)?.replace(/\/{2,}/g, '/'));
          // Nothing gatehouse accepts decodes to a separator, a backslash or a control character.
          // eslint-disable-next-line no-control-regex -- looking for control characters
          expect(routed).not.toMatch(/[\\;\u0000-\u001f\u007f-\u009f]/);
        }),
        { numRuns: CASES },
      );
    },
    timeoutFor(CASES),
  );

  it(
    `is idempotent and never throws, on structured and arbitrary paths (${String(CASES)} cases each)`,
    () => {
      for (const paths of [structuredPath, arbitraryPath]) {
        fc.assert(
          fc.property(paths, (raw) => {
            const once = normalisePath(raw);
            if (!once.ok) {
              expect(once.problem).toEqual(expect.any(String));
              return;
            }
            expect(once.value.startsWith('/')).toBe(true);
            expect(once.value).not.toMatch(/\/\/|\/\.\.?(?:\/|$)/);
            expect(normalisePath(once.value)).toEqual(once);
          }),
          { numRuns: CASES },
        );
      }
    },
    timeoutFor(2 * CASES),
  );
});
