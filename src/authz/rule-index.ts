/**
 * The precompiled host → rules index that decide() searches. Everything costly happens in
 * build(): grouping by host key, sorting by precedence (precedence.ts), method bitmasks. find()
 * does one Map get for the exact host and one per label suffix for wildcards, then a linear scan
 * of an already sorted list, returning the first match: no allocation besides the suffix strings.
 *
 * Guardrails (ClusterAccessPolicy rules with `enforcement: Guardrail`) live in a second index of
 * the same shape, searched by findGuardrail() before find(); find() never returns one. Without
 * guardrails that second search is a single null check.
 *
 * Per host, matches are kept in three precedence-sorted groups: exact paths (by path), prefixes,
 * and regular expressions. Precedence ranks every exact path before every prefix and every prefix
 * before every regular expression (precedence.ts), so the first candidate that matches, searched
 * group by group, is the winner. Header, query and client-address conditions are evaluated only
 * for candidates whose path and method already match (match-conditions.ts).
 */
import type { MatchDescription, MatchedRule, PolicyMode, PolicyRef } from './decision.ts';
import { isWildcardHost, wildcardSuffix } from './host.ts';
import { conditionsHold } from './match-conditions.ts';
import type { ConditionFacts, MatchConditions } from './match-conditions.ts';
import { comparePrecedence } from './precedence.ts';
import type { PathType, PrecedenceFacts } from './precedence.ts';
import type { LinearRegex } from './regex.ts';

export const methodBits: ReadonlyMap<string, number> = new Map(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE'].map(
    (method, index) => [method, 1 << index],
  ),
);

const getBit = methodBits.get('GET') ?? 0;
const headBit = methodBits.get('HEAD') ?? 0;

/**
 * The bitmask of a match's `methods`. `GET` also covers `HEAD`, as nginx `limit_except GET` does
 * and as RFC 9110 §9.3.2 defines HEAD (GET without the body): otherwise a `Deny` written for GET
 * would let HEAD through to the same handler, which most frameworks answer as a GET.
 */
export function methodMaskOf(methods: readonly string[]): number {
  let mask = 0;
  for (const method of methods) mask |= methodBits.get(method) ?? 0;
  return (mask & getBit) === 0 ? mask : mask | headBit;
}

/** One `match` entry of one rule, ready to be tested against a request. */
export interface CompiledMatch extends PrecedenceFacts {
  /** Shared, frozen: decide() puts this very object into the Decision. */
  readonly rule: MatchedRule;
  /** Role scope: the policy's namespace, or "" for a ClusterAccessPolicy (cluster mappings only). */
  readonly scope: string;
  readonly deny: boolean;
  readonly pathType: PathType;
  /** `Exact` value, the prefix without its trailing "/" (`""` for `/`), or the pattern. */
  readonly path: string;
  /** The compiled pattern of a `RegularExpression` path; null otherwise. */
  readonly pathRegex: LinearRegex | null;
  /** Bitmask of methodBits; 0 matches every method. */
  readonly methodMask: number;
  /** Header, query and client-address conditions; null when the match has none. */
  readonly conditions: MatchConditions | null;
  /** The match as the policy wrote it, for `gatehouse check` and logs (decision.ts). */
  readonly description: MatchDescription;
  /** The policy, when it sets `preflight: Allow` (decide.ts). */
  readonly preflight: PolicyRef | null;
  readonly mode: PolicyMode;
}

/** The facts of a request that matches are tested against. */
export interface MatchFacts extends ConditionFacts {
  /** Normalised (path.ts). */
  readonly path: string;
  /** Upper-case. */
  readonly method: string;
}

/**
 * The search stopped at a candidate whose conditions cannot be evaluated without guessing
 * (query.ts): decide() refuses the request rather than fall through to a lower candidate.
 */
export interface AmbiguousMatch {
  readonly ambiguous: true;
  readonly match: CompiledMatch;
  readonly problem: string;
}

export type FoundMatch = CompiledMatch | AmbiguousMatch;

export function isAmbiguous(found: FoundMatch): found is AmbiguousMatch {
  return 'ambiguous' in found;
}

interface HostRules {
  readonly exact: ReadonlyMap<string, readonly CompiledMatch[]>;
  readonly prefixes: readonly CompiledMatch[];
  readonly patterns: readonly CompiledMatch[];
}

function matchesMethod(match: CompiledMatch, methodBit: number): boolean {
  return match.methodMask === 0 || (match.methodMask & methodBit) !== 0;
}

/** null when the conditions do not hold; the match, or why it cannot be told, when they do. */
function withConditions(match: CompiledMatch, facts: MatchFacts): FoundMatch | null {
  if (match.conditions === null) return match;
  const held = conditionsHold(match.conditions, facts, match.deny);
  if (held === true) return match;
  if (held === false) return null;
  return { ambiguous: true, match, problem: held.problem };
}

/**
 * Prefixes match whole segments, as Kubernetes Ingress `Prefix` and Gateway API `PathPrefix` do:
 * `/api` (and `/api/`) match `/api`, `/api/` and `/api/x`, never `/apix`.
 */
function matchesPrefix(prefix: string, path: string): boolean {
  return (
    path.startsWith(prefix) &&
    (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f)
  );
}

function findInHost(rules: HostRules, facts: MatchFacts, methodBit: number): FoundMatch | null {
  const { path } = facts;
  const exact = rules.exact.get(path);
  if (exact !== undefined) {
    for (const match of exact) {
      if (!matchesMethod(match, methodBit)) continue;
      const found = withConditions(match, facts);
      if (found !== null) return found;
    }
  }
  for (const match of rules.prefixes) {
    if (!matchesPrefix(match.path, path) || !matchesMethod(match, methodBit)) continue;
    const found = withConditions(match, facts);
    if (found !== null) return found;
  }
  for (const match of rules.patterns) {
    if (!matchesMethod(match, methodBit) || match.pathRegex?.test(path) !== true) continue;
    const found = withConditions(match, facts);
    if (found !== null) return found;
  }
  return null;
}

export interface IndexEntry {
  /** A host of the policy: exact or `*.suffix`. */
  readonly host: string;
  readonly match: CompiledMatch;
}

/**
 * Per host pattern (exact host, or wildcard suffix), the policy whose `preflight: Allow` covers
 * it, or null when the policies listing that pattern leave preflights to their rules.
 */
interface PreflightHosts {
  readonly exact: ReadonlyMap<string, PolicyRef | null>;
  readonly wildcards: ReadonlyMap<string, PolicyRef | null>;
}

const noPreflightHosts: PreflightHosts = { exact: new Map(), wildcards: new Map() };

function preflightHostsOf(entries: readonly IndexEntry[]): PreflightHosts {
  const exact = new Map<string, PolicyRef | null>();
  const wildcards = new Map<string, PolicyRef | null>();
  for (const { host, match } of entries) {
    const target = isWildcardHost(host) ? wildcards : exact;
    const key = isWildcardHost(host) ? wildcardSuffix(host) : host;
    if (!target.has(key) || (target.get(key) === null && match.preflight !== null)) {
      target.set(key, match.preflight);
    }
  }
  return { exact, wildcards };
}

export class RuleIndex {
  readonly #exactHosts: ReadonlyMap<string, HostRules>;
  readonly #wildcards: ReadonlyMap<string, HostRules>;
  readonly #guardrails: RuleIndex | null;
  readonly #preflight: PreflightHosts;
  /** Number of distinct host patterns, for metrics. */
  readonly hostCount: number;

  private constructor(
    exactHosts: ReadonlyMap<string, HostRules>,
    wildcards: ReadonlyMap<string, HostRules>,
    guardrails: RuleIndex | null,
    preflight: PreflightHosts,
  ) {
    this.#exactHosts = exactHosts;
    this.#wildcards = wildcards;
    this.#guardrails = guardrails;
    this.#preflight = preflight;
    this.hostCount = exactHosts.size + wildcards.size;
    Object.freeze(this);
  }

  static build(entries: Iterable<IndexEntry>): RuleIndex {
    const all = [...entries];
    const ordinary: IndexEntry[] = [];
    const guardrails: IndexEntry[] = [];
    for (const entry of all) {
      (entry.match.rule.enforcement === 'Guardrail' ? guardrails : ordinary).push(entry);
    }
    return RuleIndex.#of(
      ordinary,
      guardrails.length === 0 ? null : RuleIndex.#of(guardrails, null, noPreflightHosts),
      preflightHostsOf(all),
    );
  }

  static #of(
    entries: readonly IndexEntry[],
    guardrails: RuleIndex | null,
    preflight: PreflightHosts,
  ): RuleIndex {
    const exactHosts = new Map<string, CompiledMatch[]>();
    const wildcards = new Map<string, CompiledMatch[]>();
    for (const { host, match } of entries) {
      const target = isWildcardHost(host) ? wildcards : exactHosts;
      const key = isWildcardHost(host) ? wildcardSuffix(host) : host;
      const list = target.get(key);
      if (list === undefined) target.set(key, [match]);
      else list.push(match);
    }
    return new RuleIndex(compileHosts(exactHosts), compileHosts(wildcards), guardrails, preflight);
  }

  /**
   * The policy whose `preflight: Allow` covers `hostName`, or null. Only the most specific host
   * pattern any policy lists counts (the exact host, else the longest wildcard): the policies of
   * `shop.example.com` decide its preflights, and a `*.example.com` fallback cannot open them.
   */
  preflightFor(hostName: string): PolicyRef | null {
    const { exact, wildcards } = this.#preflight;
    const own = exact.get(hostName);
    if (own !== undefined) return own;
    if (exact.has(hostName) || wildcards.size === 0) return null;
    let dot = hostName.indexOf('.', 1);
    while (dot >= 0 && dot < hostName.length - 1) {
      const found = wildcards.get(hostName.slice(dot + 1));
      if (found !== undefined) return found;
      dot = hostName.indexOf('.', dot + 1);
    }
    return null;
  }

  /** Whether any guardrail exists (so decide() and tools can skip the guardrail search). */
  get hasGuardrails(): boolean {
    return this.#guardrails !== null;
  }

  /**
   * The winning guardrail for a request, or null: the same search and precedence as find(),
   * among guardrails only.
   */
  findGuardrail(hostName: string, facts: MatchFacts): FoundMatch | null {
    return this.#guardrails === null ? null : this.#guardrails.find(hostName, facts);
  }

  /**
   * The winning ordinary (non-guardrail) match for a request, or null; an AmbiguousMatch when the
   * search reached a candidate whose query conditions cannot be told. `hostName` has no port
   * (host.ts requestHostName).
   */
  find(hostName: string, facts: MatchFacts): FoundMatch | null {
    const methodBit = methodBits.get(facts.method) ?? 0;
    const exactRules = this.#exactHosts.get(hostName);
    if (exactRules !== undefined) {
      const found = findInHost(exactRules, facts, methodBit);
      if (found !== null) return found;
    }
    if (this.#wildcards.size === 0) return null;
    // Longest suffix first: `a.b.example.com` tries `b.example.com`, then `example.com`, then `com`.
    // Starting at 1: a wildcard stands for at least one non-empty label.
    let dot = hostName.indexOf('.', 1);
    while (dot >= 0 && dot < hostName.length - 1) {
      const rules = this.#wildcards.get(hostName.slice(dot + 1));
      if (rules !== undefined) {
        const found = findInHost(rules, facts, methodBit);
        if (found !== null) return found;
      }
      dot = hostName.indexOf('.', dot + 1);
    }
    return null;
  }
}

function compileHosts(byHost: Map<string, CompiledMatch[]>): ReadonlyMap<string, HostRules> {
  const compiled = new Map<string, HostRules>();
  for (const [host, matches] of byHost) {
    matches.sort(comparePrecedence);
    const exact = new Map<string, CompiledMatch[]>();
    const prefixes: CompiledMatch[] = [];
    const patterns: CompiledMatch[] = [];
    for (const match of matches) {
      if (match.pathType === 'PathPrefix') prefixes.push(match);
      else if (match.pathType === 'RegularExpression') patterns.push(match);
      else {
        const list = exact.get(match.path);
        if (list === undefined) exact.set(match.path, [match]);
        else list.push(match);
      }
    }
    compiled.set(
      host,
      Object.freeze({
        exact,
        prefixes: Object.freeze(prefixes),
        patterns: Object.freeze(patterns),
      }),
    );
  }
  return compiled;
}
