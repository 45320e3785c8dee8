/**
 * The conditions a `match` may add to its path and methods (issue #19): request headers and query
 * parameters with Gateway API's HTTPRouteMatch semantics, and `sourceCIDRs`. All conditions of a
 * match must hold (Gateway API: "Multiple match types are ANDed together"). Compiled once per
 * snapshot (policy/snapshot.ts), evaluated by rule-index.ts only for candidates whose host, path
 * and method already match.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { ParsedQuery } from './query.ts';
import type { LinearRegex } from './regex.ts';

export interface ValueCondition {
  /** The name as the policy wrote it. */
  readonly name: string;
  /** What is looked up: the lower-cased header name (headers are case-insensitive, RFC 9110 §5.1), the query name as written (case-sensitive). */
  readonly key: string;
  readonly type: 'Exact' | 'RegularExpression';
  readonly value: string;
  /** Compiled `value` for `RegularExpression`; null for `Exact`. */
  readonly regex: LinearRegex | null;
}

export function valueHolds(condition: ValueCondition, value: string): boolean {
  return condition.regex === null ? value === condition.value : condition.regex.test(value);
}

/** `sourceCIDRs`, as a `node:net` BlockList (which also matches IPv4-mapped IPv6 spellings). */
export class SourceRanges {
  readonly cidrs: readonly string[];
  readonly #ranges = new BlockList();

  /** @throws Error when an entry is not `address/prefix` (validate.ts refuses those first). */
  constructor(cidrs: readonly string[]) {
    this.cidrs = Object.freeze([...cidrs]);
    for (const cidr of cidrs) {
      const slash = cidr.indexOf('/');
      const address = cidr.slice(0, slash).toLowerCase();
      const prefix = Number(cidr.slice(slash + 1));
      const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
      if (slash === -1 || family === null || !Number.isInteger(prefix)) {
        throw new Error(`sourceCIDRs: "${cidr}" is not a CIDR`);
      }
      this.#ranges.addSubnet(address, prefix, family);
    }
    Object.freeze(this);
  }

  contains(address: string): boolean {
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
    return family !== null && this.#ranges.check(address, family);
  }
}

/** The conditions of one match beyond its path and methods; null on a match that has none. */
export interface MatchConditions {
  readonly headers: readonly ValueCondition[];
  readonly query: readonly ValueCondition[];
  readonly sources: SourceRanges | null;
}

/** What the conditions read from a request. */
export interface ConditionFacts {
  /** Lower-case names; a header sent several times is one value joined with `, ` (RFC 9110 §5.3). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The parsed query, computed on first use. */
  query(): ParsedQuery;
  /** The client address a trusted proxy reported, or null when gatehouse cannot know it. */
  readonly sourceAddress: string | null;
}

/** A condition gatehouse cannot evaluate without guessing: the request is refused. */
export interface Ambiguity {
  readonly problem: string;
}

/**
 * Whether every condition holds: true, false, or an Ambiguity. An unknown client address does
 * not satisfy `sourceCIDRs` on an Allow rule and does on a Deny rule: fail closed both ways, so
 * a proxy that is not trusted (or does not report the client) never opens a range-limited
 * allow, and never lets a request escape a range-limited denial.
 */
export function conditionsHold(
  conditions: MatchConditions,
  facts: ConditionFacts,
  deny: boolean,
): boolean | Ambiguity {
  for (const header of conditions.headers) {
    const value = facts.headers[header.key];
    if (value === undefined || !valueHolds(header, value)) return false;
  }
  const { sources } = conditions;
  if (sources !== null) {
    if (facts.sourceAddress === null) {
      if (!deny) return false;
    } else if (!sources.contains(facts.sourceAddress)) return false;
  }
  // Last: an ambiguous parameter matters only when every other condition holds.
  let ambiguity: Ambiguity | null = null;
  if (conditions.query.length > 0) {
    const query = facts.query();
    for (const param of conditions.query) {
      const found = query.lookup(param.key);
      if (found.kind === 'ambiguous') ambiguity ??= { problem: found.problem };
      else if (found.kind === 'absent' || !valueHolds(param, found.value)) return false;
    }
  }
  return ambiguity ?? true;
}
