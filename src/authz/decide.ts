/**
 * The decision (DESIGN.md "Decision semantics" 1–6): pure, no I/O, no clock. Facts in, a
 * Decision out. Every costly step (host and rule indexes, precedence sorting, role indexes)
 * was done when the snapshot was built.
 */
import type { Identity } from '../authn/identity.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import type { AuthRequest } from './auth-request.ts';
import type { Decision, MatchedRule, Outcome } from './decision.ts';
import { requestHostName } from './host.ts';
import { Reasons } from './reasons.ts';
import type { Reason } from './reasons.ts';

export interface DecideOptions {
  /** A role that satisfies every rule except `action: Deny`; null disables it. Config default: `admin`. */
  readonly superRole: string | null;
  /**
   * What happens when no rule matches (semantics 4): `deny` → 403 `no-matching-rule`;
   * `authenticate` → as if a rule required `authenticated`; `allow` → 200 `default-allow`.
   */
  readonly noMatch: 'deny' | 'authenticate' | 'allow';
}

export const defaultDecideOptions: DecideOptions = Object.freeze({
  superRole: 'admin',
  noMatch: 'deny',
});

/** The scope of ClusterRoleMappings, used when no namespaced policy is involved. */
const clusterScope = '';

function decision(
  outcome: Outcome,
  reason: Reason,
  rule: MatchedRule | null,
  roles: readonly string[],
  identity: Identity | null,
): Decision {
  return { outcome, reason, rule, roles, identity };
}

function holdsAny(held: readonly string[], required: readonly string[]): boolean {
  for (const role of required) if (held.includes(role)) return true;
  return false;
}

export function decide(
  request: AuthRequest,
  identity: Identity | null,
  snapshot: PolicySnapshot,
  options: DecideOptions = defaultDecideOptions,
): Decision {
  if (!request.path.ok) {
    return decision(
      'forbidden',
      Reasons.AmbiguousPath,
      null,
      snapshot.roles.rolesOf(identity, clusterScope),
      identity,
    );
  }

  const match = snapshot.rules.find(
    requestHostName(request.host),
    request.path.value,
    request.method,
  );

  if (match === null) {
    const roles = snapshot.roles.rolesOf(identity, clusterScope);
    switch (options.noMatch) {
      case 'allow':
        return decision('allow', Reasons.DefaultAllow, null, roles, identity);
      case 'authenticate':
        return identity === null
          ? decision('unauthenticated', Reasons.AuthenticationRequired, null, roles, identity)
          : decision('allow', Reasons.DefaultAllow, null, roles, identity);
      case 'deny':
        return decision('forbidden', Reasons.NoMatchingRule, null, roles, identity);
    }
  }

  const { rule } = match;
  const roles = snapshot.roles.rolesOf(identity, match.scope);
  // Deny comes first: it denies everyone, the super role and anonymous callers included.
  if (match.deny) return decision('forbidden', Reasons.DenyRule, rule, roles, identity);
  if (holdsAny(roles, rule.requiredRoles)) {
    return decision('allow', Reasons.RoleGranted, rule, roles, identity);
  }
  if (options.superRole !== null && identity !== null && roles.includes(options.superRole)) {
    return decision('allow', Reasons.SuperRole, rule, roles, identity);
  }
  if (identity === null) {
    return decision('unauthenticated', Reasons.AuthenticationRequired, rule, roles, identity);
  }
  return decision('forbidden', Reasons.MissingRole, rule, roles, identity);
}
