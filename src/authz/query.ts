/**
 * The query string as `queryParams` conditions read it (issue #19). Names and values are decoded
 * the way HTML forms encode them and nearly every upstream framework decodes them
 * (application/x-www-form-urlencoded, WHATWG URL §5.1: `&` separates, the first `=` splits, `+`
 * is a space, then percent-decoding as UTF-8), so `?role=%61dmin` is `role=admin` to a policy as
 * it is to the upstream.
 *
 * Where upstreams disagree, gatehouse does not pick one reading (docs/architecture.md, decision
 * semantics 1): a condition on a parameter that the request repeats (Gateway API leaves it
 * undefined: Envoy and Express read the first, PHP the last), spells in another case (ASP.NET
 * reads names case-insensitively), or any condition on a query that holds a `;` (a separator to
 * older Python, Perl and Java servlet readers), a `#`, a malformed percent-escape or invalid
 * UTF-8 is *ambiguous*, and decide() refuses the request (403 `ambiguous-query`) rather than guess
 * which reading the upstream makes. Parsed lazily, once per request, only when a candidate rule
 * has a query condition.
 */

export type QueryLookup =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'absent' }
  | { readonly kind: 'ambiguous'; readonly problem: string };

const absent: QueryLookup = Object.freeze({ kind: 'absent' });

/** `%XX` and `+` decoding as application/x-www-form-urlencoded; null when not valid UTF-8. */
function decodeComponent(raw: string): string | null {
  const spaced = raw.includes('+') ? raw.replaceAll('+', ' ') : raw;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    // A `%` without two hex digits, or bytes that are not UTF-8: WHATWG keeps the first
    // literally and replaces the second with U+FFFD; other readers fail or pass the bytes on.
    return null;
  }
}

export class ParsedQuery {
  /** Decoded name → decoded values, in request order. */
  readonly #params: ReadonlyMap<string, readonly string[]>;
  /** Lower-cased decoded name → how many parameters carry it in any case. */
  readonly #folded: ReadonlyMap<string, number>;
  /** Why every query condition is ambiguous for this request, or null. */
  readonly #problem: string | null;

  private constructor(
    params: ReadonlyMap<string, readonly string[]>,
    folded: ReadonlyMap<string, number>,
    problem: string | null,
  ) {
    this.#params = params;
    this.#folded = folded;
    this.#problem = problem;
  }

  static readonly empty: ParsedQuery = new ParsedQuery(new Map(), new Map(), null);

  /** @param raw the query after `?`, as the proxy sent it; undefined when there is none. */
  static parse(raw: string | undefined): ParsedQuery {
    if (raw === undefined || raw === '') return ParsedQuery.empty;
    if (raw.includes(';')) {
      return new ParsedQuery(
        new Map(),
        new Map(),
        'the query holds a ";", a separator to some readers only',
      );
    }
    if (raw.includes('#')) {
      return new ParsedQuery(
        new Map(),
        new Map(),
        'the query holds a "#", which ends it for some readers only',
      );
    }
    const params = new Map<string, string[]>();
    const folded = new Map<string, number>();
    for (const pair of raw.split('&')) {
      if (pair === '') continue;
      const equals = pair.indexOf('=');
      const name = decodeComponent(equals === -1 ? pair : pair.slice(0, equals));
      const value = decodeComponent(equals === -1 ? '' : pair.slice(equals + 1));
      if (name === null || value === null) {
        return new ParsedQuery(
          new Map(),
          new Map(),
          `the query parameter "${pair.slice(0, 64)}" has a malformed percent-escape or is not UTF-8`,
        );
      }
      if (name.includes('\0') || value.includes('\0')) {
        return new ParsedQuery(new Map(), new Map(), 'the query holds a NUL character');
      }
      const values = params.get(name);
      if (values === undefined) params.set(name, [value]);
      else values.push(value);
      const lower = name.toLowerCase();
      folded.set(lower, (folded.get(lower) ?? 0) + 1);
    }
    return new ParsedQuery(params, folded, null);
  }

  /** The one value of `name` (case-sensitive, decoded), its absence, or why it is ambiguous. */
  lookup(name: string): QueryLookup {
    if (this.#problem !== null) return { kind: 'ambiguous', problem: this.#problem };
    const values = this.#params.get(name);
    const spellings = this.#folded.get(name.toLowerCase()) ?? 0;
    const count = values?.length ?? 0;
    if (count > 1) {
      return {
        kind: 'ambiguous',
        problem: `the query parameter "${name}" is given ${String(count)} times`,
      };
    }
    if (spellings > count) {
      return {
        kind: 'ambiguous',
        problem: `the query spells the parameter "${name}" in another case, which some upstreams read as "${name}"`,
      };
    }
    return values?.[0] === undefined ? absent : { kind: 'value', value: values[0] };
  }
}
