import type { RoleIndex } from './roles.ts';
import type { RuleIndex } from './rule-index.ts';

/**
 * What decide() reads: the precedence-sorted rules per host and the role grants per scope, both
 * compiled once when a policy snapshot is built (policy/snapshot.ts). Declared here so that the
 * pure decision does not depend on the layer that loads and builds policies; a PolicySnapshot is
 * one of these plus its bookkeeping (version, objects, counts).
 */
export interface DecisionIndex {
  readonly rules: RuleIndex;
  readonly roles: RoleIndex;
}
