/**
 * Rule precedence, Gateway API's (HTTPRoute "Matching precedence",
 * https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule), so it is familiar and total:
 *
 * 1. exact host over wildcard, longer wildcard over shorter (encoded by the host index, which
 *    tries the exact host first and then wildcard suffixes longest first: see rule-index.ts);
 * 2. `Exact` path over `PathPrefix` over `RegularExpression` (Gateway API leaves regular
 *    expressions implementation-specific; gatehouse ranks them last, so a pattern never overrides
 *    a path a prefix or an exact rule names: a broad `/.*` cannot reopen a `Deny` on `/admin`);
 * 3. longer prefix over shorter (a trailing "/" does not count: `/api/` ≡ `/api`); among
 *    regular expressions, the longer pattern;
 * 4. a match with methods over one without;
 * 5. more header conditions over fewer, then more query parameter conditions over fewer
 *    (Gateway API's "largest number of header matches", "of query param matches");
 * 6. a match with `sourceCIDRs` over one without (gatehouse's own condition, ranked after
 *    Gateway API's);
 * 7. `ClusterAccessPolicy` over `AccessPolicy`;
 * 8. older `creationTimestamp`;
 * 9. `namespace/name`, compared by UTF-16 code units (never locale-dependent);
 * 10. rule order within the policy, then match order within the rule.
 *
 * Object keys are unique in a snapshot, so the last two steps make the order total: two
 * candidates never tie, and a conflict can never become a 500.
 */
/** Step 2: the kinds of path match, most specific first. */
export const pathRanks = { Exact: 0, PathPrefix: 1, RegularExpression: 2 } as const;
export type PathType = keyof typeof pathRanks;

export interface PrecedenceFacts {
  /** pathRanks of the match's path type. */
  readonly pathRank: number;
  /** Length of the path value, without a trailing "/" for prefixes; of the pattern for regexes. */
  readonly pathLength: number;
  readonly hasMethods: boolean;
  /** Number of header conditions. */
  readonly headerCount: number;
  /** Number of query parameter conditions. */
  readonly queryCount: number;
  readonly hasSources: boolean;
  readonly cluster: boolean;
  /** Epoch milliseconds of the policy's creationTimestamp. */
  readonly createdAt: number;
  /** `namespace/name` (`/name` for cluster-scoped policies). */
  readonly objectKey: string;
  readonly ruleIndex: number;
  readonly matchIndex: number;
}

/** Negative when `a` takes precedence over `b` (so `sort(comparePrecedence)` puts winners first). */
export function comparePrecedence(a: PrecedenceFacts, b: PrecedenceFacts): number {
  if (a.pathRank !== b.pathRank) return a.pathRank - b.pathRank;
  if (a.pathLength !== b.pathLength) return b.pathLength - a.pathLength;
  if (a.hasMethods !== b.hasMethods) return a.hasMethods ? -1 : 1;
  if (a.headerCount !== b.headerCount) return b.headerCount - a.headerCount;
  if (a.queryCount !== b.queryCount) return b.queryCount - a.queryCount;
  if (a.hasSources !== b.hasSources) return a.hasSources ? -1 : 1;
  if (a.cluster !== b.cluster) return a.cluster ? -1 : 1;
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  if (a.objectKey !== b.objectKey) return a.objectKey < b.objectKey ? -1 : 1;
  if (a.ruleIndex !== b.ruleIndex) return a.ruleIndex - b.ruleIndex;
  return a.matchIndex - b.matchIndex;
}

/**
 * Host specificity (step 1) for tools that rank candidates from several hosts at once:
 * negative when pattern `a` is more specific than `b`.
 */
export function compareHostSpecificity(a: string, b: string): number {
  const aWildcard = a.startsWith('*.');
  const bWildcard = b.startsWith('*.');
  if (aWildcard !== bWildcard) return aWildcard ? 1 : -1;
  return b.length - a.length;
}
