/**
 * The precompiled host → rules index that decide() searches. Everything costly happens while
 * it is built (RuleIndexBuilder): grouping by host key, sorting by precedence (precedence.ts),
 * method bitmasks. find()
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
import type { MatchDescription, MatchedRule, PolicyRef } from './decision.ts';
import { isWildcardHost, wildcardSuffix } from './host.ts';
import { conditionsHold } from './match-conditions.ts';
import type { ConditionFacts, MatchConditions } from './match-conditions.ts';
import { comparePrecedence, pathRanks } from './precedence.ts';
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

/**
 * One `match` entry of one rule, ready to be tested against a request: only what find() and
 * decide() read. The precedence facts that ordered it live only while the index is built
 * (RuleIndexBuilder; issue 17: 100,000 matches carried 11 sort keys each for as long as the
 * snapshot served).
 */
export interface CompiledMatch {
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
}

/** What a CompiledMatch holds; the rest it reads from its rule and description. */
export type CompiledMatchFields = Omit<CompiledMatch, 'scope' | 'deny' | 'pathType'>;

/**
 * A frozen CompiledMatch. `scope`, `deny` and `pathType` are read from the rule and the
 * description rather than stored a second time: 24 bytes less for each of the 100,000 matches of
 * scenario (f) (issue 17). All matches share this one class, so find() stays monomorphic.
 */
class Match implements CompiledMatch {
  readonly rule: MatchedRule;
  readonly path: string;
  readonly pathRegex: LinearRegex | null;
  readonly methodMask: number;
  readonly conditions: MatchConditions | null;
  readonly description: MatchDescription;

  constructor(fields: CompiledMatchFields) {
    this.rule = fields.rule;
    this.path = fields.path;
    this.pathRegex = fields.pathRegex;
    this.methodMask = fields.methodMask;
    this.conditions = fields.conditions;
    this.description = fields.description;
    Object.freeze(this);
  }

  /** The policy's namespace, which is also its rule's (MatchedRule.namespace). */
  get scope(): string {
    return this.rule.namespace;
  }

  get deny(): boolean {
    return this.rule.action === 'Deny';
  }

  get pathType(): PathType {
    return this.description.path.type;
  }
}

/**
 * The CompiledMatch of `fields`; `description.path.type` is the match's path type and
 * `rule.namespace` its role scope.
 */
export function compiledMatch(fields: CompiledMatchFields): CompiledMatch {
  return new Match(fields);
}

/** What every match of one policy shares for precedence (precedence.ts steps 7–9) and preflights. */
export interface PolicyOrder {
  readonly cluster: boolean;
  /** Epoch milliseconds of the policy's creationTimestamp. */
  readonly createdAt: number;
  /** `namespace/name` (`/name` for cluster-scoped policies). */
  readonly objectKey: string;
  /** The policy, when it sets `preflight: Allow` (decide.ts). */
  readonly preflight: PolicyRef | null;
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

/** A match with its precedence facts, while one host's candidates are sorted. */
interface Candidate extends PrecedenceFacts {
  readonly match: CompiledMatch;
}

/**
 * The matches listed under one host pattern, in the order they were added, with what orders
 * them, column by column: no object per entry, as the 100,000 entries of scenario (f) all live
 * until the end of the build (issue 17).
 */
interface HostEntries {
  readonly matches: CompiledMatch[];
  readonly policies: PolicyOrder[];
  /** When each was added (RuleIndexBuilder.add). */
  readonly positions: number[];
}

/**
 * The candidates of one host with their precedence facts (precedence.ts), built only while that
 * host is sorted so that they die young instead of living as long as the build. Matches are
 * added policy by policy, rule by rule, match by match, so for two matches of the same policy the
 * order of addition is the order of step 10 (rule order, then match order): the position stands
 * for both indexes. Matches of different policies are told apart by step 9 before.
 */
function candidatesOf({ matches, policies, positions }: HostEntries): Candidate[] {
  return matches.map((match, index) => {
    const policy = policies[index];
    const position = positions[index];
    if (policy === undefined || position === undefined) {
      throw new Error('rule index: host entries out of step'); // never: add() fills all three
    }
    const { conditions } = match;
    return {
      match,
      pathRank: pathRanks[match.pathType],
      pathLength: match.path.length,
      hasMethods: match.methodMask !== 0,
      headerCount: conditions?.headers.length ?? 0,
      queryCount: conditions?.query.length ?? 0,
      hasSources: conditions !== null && conditions.sources !== null,
      cluster: policy.cluster,
      createdAt: policy.createdAt,
      objectKey: policy.objectKey,
      ruleIndex: position,
      matchIndex: 0,
    };
  });
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

/** Exact hosts and wildcard suffixes, each with its entries. */
interface HostGroups {
  readonly exact: Map<string, HostEntries>;
  readonly wildcards: Map<string, HostEntries>;
}

/**
 * Collects the matches of a snapshot under the hosts of their policies, then builds the index.
 * Matches must be added policy by policy, and within a policy in rule and match order
 * (candidatesOf).
 */
export class RuleIndexBuilder {
  readonly #ordinary: HostGroups = { exact: new Map(), wildcards: new Map() };
  readonly #guardrails: HostGroups = { exact: new Map(), wildcards: new Map() };
  readonly #preflightExact = new Map<string, PolicyRef | null>();
  readonly #preflightWildcards = new Map<string, PolicyRef | null>();
  #added = 0;

  /** Lists `match` of the policy ordered by `policy` under `host` (exact or `*.suffix`). */
  add(host: string, match: CompiledMatch, policy: PolicyOrder): void {
    const wildcard = isWildcardHost(host);
    const key = wildcard ? wildcardSuffix(host) : host;
    const groups = match.rule.enforcement === 'Guardrail' ? this.#guardrails : this.#ordinary;
    const target = wildcard ? groups.wildcards : groups.exact;
    let entries = target.get(key);
    if (entries === undefined) {
      entries = { matches: [], policies: [], positions: [] };
      target.set(key, entries);
    }
    entries.matches.push(match);
    entries.policies.push(policy);
    entries.positions.push(this.#added++);
    const preflight = wildcard ? this.#preflightWildcards : this.#preflightExact;
    if (!preflight.has(key) || (preflight.get(key) === null && policy.preflight !== null)) {
      preflight.set(key, policy.preflight);
    }
  }

  build(): RuleIndex {
    const guardrails = this.#guardrails;
    return RuleIndex.of(
      this.#ordinary,
      guardrails.exact.size + guardrails.wildcards.size === 0
        ? null
        : RuleIndex.of(guardrails, null, noPreflightHosts),
      { exact: this.#preflightExact, wildcards: this.#preflightWildcards },
    );
  }
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

  /** The index of grouped entries; RuleIndexBuilder.build() is the way to make one. */
  static of(
    groups: HostGroups,
    guardrails: RuleIndex | null,
    preflight: PreflightHosts,
  ): RuleIndex {
    return new RuleIndex(
      compileHosts(groups.exact),
      compileHosts(groups.wildcards),
      guardrails,
      preflight,
    );
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

const noMatches: readonly CompiledMatch[] = Object.freeze([]);
const noExactPaths: ReadonlyMap<string, readonly CompiledMatch[]> = new Map();

function compileHosts(byHost: ReadonlyMap<string, HostEntries>): ReadonlyMap<string, HostRules> {
  const compiled = new Map<string, HostRules>();
  for (const [host, entries] of byHost) {
    const candidates = candidatesOf(entries).sort(comparePrecedence);
    let exact: Map<string, CompiledMatch[]> | null = null;
    const prefixes: CompiledMatch[] = [];
    const patterns: CompiledMatch[] = [];
    for (const { match } of candidates) {
      if (match.pathType === 'PathPrefix') prefixes.push(match);
      else if (match.pathType === 'RegularExpression') patterns.push(match);
      else {
        exact ??= new Map();
        const list = exact.get(match.path);
        if (list === undefined) exact.set(match.path, [match]);
        else list.push(match);
      }
    }
    compiled.set(
      host,
      Object.freeze({
        exact: exact ?? noExactPaths,
        prefixes: prefixes.length === 0 ? noMatches : Object.freeze(prefixes),
        patterns: patterns.length === 0 ? noMatches : Object.freeze(patterns),
      }),
    );
  }
  return compiled;
}
