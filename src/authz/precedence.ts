/**
 * Rule precedence, Gateway API's (HTTPRoute "Matching precedence",
 * https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule), so it is familiar and total:
 *
 * 1. exact host over wildcard, longer wildcard over shorter (encoded by the host index, which
 *    tries the exact host first and then wildcard suffixes longest first: see rule-index.ts);
 * 2. `Exact` path over `PathPrefix`;
 * 3. longer prefix over shorter (a trailing "/" does not count: `/api/` ≡ `/api`);
 * 4. a match with methods over one without;
 * 5. `ClusterAccessPolicy` over `AccessPolicy`;
 * 6. older `creationTimestamp`;
 * 7. `namespace/name`, compared by UTF-16 code units (never locale-dependent);
 * 8. rule order within the policy, then match order within the rule.
 *
 * Object keys are unique in a snapshot, so the last two steps make the order total: two
 * candidates never tie, and a conflict can never become a 500.
 */
export interface PrecedenceFacts {
  readonly exact: boolean;
  /** Length of the path value, without a trailing "/" for prefixes. */
  readonly pathLength: number;
  readonly hasMethods: boolean;
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
  if (a.exact !== b.exact) return a.exact ? -1 : 1;
  if (a.pathLength !== b.pathLength) return b.pathLength - a.pathLength;
  if (a.hasMethods !== b.hasMethods) return a.hasMethods ? -1 : 1;
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
