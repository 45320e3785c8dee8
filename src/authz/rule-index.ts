/**
 * The precompiled host → rules index that decide() searches. Everything costly happens in
 * build(): grouping by host key, sorting by precedence (precedence.ts), method bitmasks. find()
 * does one Map get for the exact host and one per label suffix for wildcards, then a linear scan
 * of an already sorted list, returning the first match: no allocation besides the suffix strings.
 *
 * Guardrails (ClusterAccessPolicy rules with `enforcement: Guardrail`) live in a second index of
 * the same shape, searched by findGuardrail() before find(); find() never returns one. Without
 * guardrails that second search is a single null check.
 */
import type { MatchedRule, PolicyMode } from './decision.ts';
import { isWildcardHost, wildcardSuffix } from './host.ts';
import { comparePrecedence } from './precedence.ts';
import type { PrecedenceFacts } from './precedence.ts';

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
  /** `Exact` value, or the prefix without its trailing "/" (`""` for `/`). */
  readonly path: string;
  /** Bitmask of methodBits; 0 matches every method. */
  readonly methodMask: number;
  readonly mode: PolicyMode;
}

interface HostRules {
  readonly exact: ReadonlyMap<string, readonly CompiledMatch[]>;
  readonly prefixes: readonly CompiledMatch[];
}

function matchesMethod(match: CompiledMatch, methodBit: number): boolean {
  return match.methodMask === 0 || (match.methodMask & methodBit) !== 0;
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

function findInHost(rules: HostRules, path: string, methodBit: number): CompiledMatch | null {
  const exact = rules.exact.get(path);
  if (exact !== undefined) {
    for (const match of exact) if (matchesMethod(match, methodBit)) return match;
  }
  for (const match of rules.prefixes) {
    if (matchesPrefix(match.path, path) && matchesMethod(match, methodBit)) return match;
  }
  return null;
}

export interface IndexEntry {
  /** A host of the policy: exact or `*.suffix`. */
  readonly host: string;
  readonly match: CompiledMatch;
}

export class RuleIndex {
  readonly #exactHosts: ReadonlyMap<string, HostRules>;
  readonly #wildcards: ReadonlyMap<string, HostRules>;
  readonly #guardrails: RuleIndex | null;
  /** Number of distinct host patterns, for metrics. */
  readonly hostCount: number;

  private constructor(
    exactHosts: ReadonlyMap<string, HostRules>,
    wildcards: ReadonlyMap<string, HostRules>,
    guardrails: RuleIndex | null,
  ) {
    this.#exactHosts = exactHosts;
    this.#wildcards = wildcards;
    this.#guardrails = guardrails;
    this.hostCount = exactHosts.size + wildcards.size;
    Object.freeze(this);
  }

  static build(entries: Iterable<IndexEntry>): RuleIndex {
    const ordinary: IndexEntry[] = [];
    const guardrails: IndexEntry[] = [];
    for (const entry of entries) {
      (entry.match.rule.enforcement === 'Guardrail' ? guardrails : ordinary).push(entry);
    }
    return RuleIndex.#of(
      ordinary,
      guardrails.length === 0 ? null : RuleIndex.#of(guardrails, null),
    );
  }

  static #of(entries: readonly IndexEntry[], guardrails: RuleIndex | null): RuleIndex {
    const exactHosts = new Map<string, CompiledMatch[]>();
    const wildcards = new Map<string, CompiledMatch[]>();
    for (const { host, match } of entries) {
      const target = isWildcardHost(host) ? wildcards : exactHosts;
      const key = isWildcardHost(host) ? wildcardSuffix(host) : host;
      const list = target.get(key);
      if (list === undefined) target.set(key, [match]);
      else list.push(match);
    }
    return new RuleIndex(compileHosts(exactHosts), compileHosts(wildcards), guardrails);
  }

  /** Whether any guardrail exists (so decide() and tools can skip the guardrail search). */
  get hasGuardrails(): boolean {
    return this.#guardrails !== null;
  }

  /**
   * The winning guardrail for a request, or null: the same search and precedence as find(),
   * among guardrails only.
   */
  findGuardrail(hostName: string, path: string, method: string): CompiledMatch | null {
    return this.#guardrails === null ? null : this.#guardrails.find(hostName, path, method);
  }

  /**
   * The winning ordinary (non-guardrail) match for a request, or null. `hostName` has no port
   * (host.ts requestHostName), `path` is normalised (path.ts), `method` upper-case.
   */
  find(hostName: string, path: string, method: string): CompiledMatch | null {
    const methodBit = methodBits.get(method) ?? 0;
    const exactRules = this.#exactHosts.get(hostName);
    if (exactRules !== undefined) {
      const found = findInHost(exactRules, path, methodBit);
      if (found !== null) return found;
    }
    if (this.#wildcards.size === 0) return null;
    // Longest suffix first: `a.b.example.com` tries `b.example.com`, then `example.com`, then `com`.
    // Starting at 1: a wildcard stands for at least one non-empty label.
    let dot = hostName.indexOf('.', 1);
    while (dot >= 0 && dot < hostName.length - 1) {
      const rules = this.#wildcards.get(hostName.slice(dot + 1));
      if (rules !== undefined) {
        const found = findInHost(rules, path, methodBit);
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
    for (const match of matches) {
      if (!match.exact) {
        prefixes.push(match);
        continue;
      }
      const list = exact.get(match.path);
      if (list === undefined) exact.set(match.path, [match]);
      else list.push(match);
    }
    compiled.set(host, Object.freeze({ exact, prefixes: Object.freeze(prefixes) }));
  }
  return compiled;
}
