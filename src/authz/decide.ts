/**
 * The decision (docs/architecture.md "Decision semantics" 1–6): pure, no I/O, no clock. Facts in, a
 * Decision out. Every costly step (host and rule indexes, precedence sorting, role indexes)
 * was done when the snapshot was built.
 */
import type { Identity } from './identity.ts';
import type { DecisionIndex } from './decision-index.ts';
import type { AuthRequest } from './auth-request.ts';
import type { Decision, MatchedRule, Outcome } from './decision.ts';
import type { CompiledMatch } from './rule-index.ts';
import { requestHostName } from './host.ts';
import { Reasons } from './reasons.ts';
import type { Reason } from './reasons.ts';
import { SubjectSources } from './roles.ts';

export interface DecideOptions {
  /** A role that satisfies every rule except `action: Deny`; null disables it. Config default: `admin`. */
  readonly superRole: string | null;
  /**
   * What happens when no rule matches (semantics 4): `deny` → 403 `no-matching-rule`;
   * `authenticate` → as if a rule required `authenticated`; `allow` → 200 `default-allow`.
   */
  readonly noMatch: 'deny' | 'authenticate' | 'allow';
  /**
   * The sources a role-mapping subject without `sources` matches (configuration
   * `authz.unqualifiedSubjectSources`, default the first OpenID provider; roles.ts
   * unqualifiedSubjectSources). The service always sets it. Omitted: every source, as before
   * subjects were bound to sources — only for tools and tests that have no configuration.
   */
  readonly unqualifiedSources?: SubjectSources;
}

/** For tools and tests without a configuration: unqualified subjects match every source. */
export const defaultDecideOptions: DecideOptions = Object.freeze({
  superRole: 'admin',
  noMatch: 'deny',
  unqualifiedSources: SubjectSources.every,
});

/** The scope of ClusterRoleMappings, used when no namespaced policy is involved. */
const clusterScope = '';

function decision(
  outcome: Outcome,
  reason: Reason,
  rule: MatchedRule | null,
  roles: readonly string[],
  identity: Identity | null,
  guardrail?: MatchedRule,
): Decision {
  return guardrail === undefined
    ? { outcome, reason, rule, roles, identity }
    : { outcome, reason, rule, roles, identity, guardrail };
}

/**
 * The refusal of the winning guardrail, or null when the request passes it. A guardrail Deny
 * refuses everyone (the super role included); otherwise the caller needs one of its roles, in
 * the cluster scope (ClusterRoleMappings), or the super role.
 */
function refusedByGuardrail(
  guard: CompiledMatch,
  identity: Identity | null,
  snapshot: DecisionIndex,
  options: DecideOptions,
): Decision | null {
  const roles = snapshot.roles.rolesOf(identity, guard.scope, options.unqualifiedSources);
  if (guard.deny) return decision('forbidden', Reasons.DenyRule, guard.rule, roles, identity);
  if (!audienceAccepted(guard.rule, identity)) {
    return decision('unauthenticated', Reasons.InvalidCredentials, guard.rule, roles, identity);
  }
  if (holdsAny(roles, guard.rule.requiredRoles)) return null;
  if (options.superRole !== null && identity !== null && roles.includes(options.superRole)) {
    return null;
  }
  return identity === null
    ? decision('unauthenticated', Reasons.AuthenticationRequired, guard.rule, roles, identity)
    : decision('forbidden', Reasons.MissingRole, guard.rule, roles, identity);
}

/**
 * Finding 8 (bearer audiences per policy): a bearer token is accepted for a policy's hosts only
 * when its `aud` names one of the policy's `authentication.bearer.audiences`; a policy that names
 * none accepts the issuer's configured audiences (checked when the token was verified). Without
 * it, a token minted for `idm-api` opens every host that trusts its issuer. Only bearer
 * identities carry audiences; sessions, pre-authentication and Basic users are not restricted.
 */
function audienceAccepted(rule: MatchedRule, identity: Identity | null): boolean {
  const accepted = rule.bearerAudiences;
  if (accepted === undefined || identity === null || identity.method !== 'bearer') return true;
  const audiences = identity.audiences;
  if (audiences === undefined) return false;
  for (const audience of audiences) if (accepted.includes(audience)) return true;
  return false;
}

function holdsAny(held: readonly string[], required: readonly string[]): boolean {
  for (const role of required) if (held.includes(role)) return true;
  return false;
}

export function decide(
  request: AuthRequest,
  identity: Identity | null,
  snapshot: DecisionIndex,
  options: DecideOptions = defaultDecideOptions,
): Decision {
  if (!request.path.ok) {
    return decision(
      'forbidden',
      Reasons.AmbiguousPath,
      null,
      snapshot.roles.rolesOf(identity, clusterScope, options.unqualifiedSources),
      identity,
    );
  }

  const hostName = requestHostName(request.host);
  // Guardrails first (ClusterAccessPolicy rules with `enforcement: Guardrail`): whatever any other
  // rule says, a guardrail Deny refuses and a guardrail's roles must be held. They restrict and
  // never grant: a request that passes is then decided as if the guardrail did not exist.
  const guard = snapshot.rules.findGuardrail(hostName, request.path.value, request.method);
  if (guard !== null) {
    const refused = refusedByGuardrail(guard, identity, snapshot, options);
    if (refused !== null) return refused;
  }

  const match = snapshot.rules.find(hostName, request.path.value, request.method);
  const passed: Decision['guardrail'] = guard === null ? undefined : guard.rule;

  if (match === null) {
    const roles = snapshot.roles.rolesOf(identity, clusterScope, options.unqualifiedSources);
    switch (options.noMatch) {
      case 'allow':
        return decision('allow', Reasons.DefaultAllow, null, roles, identity, passed);
      case 'authenticate':
        return identity === null
          ? decision(
              'unauthenticated',
              Reasons.AuthenticationRequired,
              null,
              roles,
              identity,
              passed,
            )
          : decision('allow', Reasons.DefaultAllow, null, roles, identity, passed);
      case 'deny':
        return decision('forbidden', Reasons.NoMatchingRule, null, roles, identity, passed);
    }
  }

  const { rule } = match;
  const roles = snapshot.roles.rolesOf(identity, match.scope, options.unqualifiedSources);
  // Deny comes first: it denies everyone, the super role and anonymous callers included.
  if (match.deny) return decision('forbidden', Reasons.DenyRule, rule, roles, identity, passed);
  // A token minted for another audience is no credential for these hosts, whatever the rule
  // asks (a guest rule included), as a token that fails verification is not.
  if (!audienceAccepted(rule, identity)) {
    return decision('unauthenticated', Reasons.InvalidCredentials, rule, roles, identity, passed);
  }
  if (holdsAny(roles, rule.requiredRoles)) {
    return decision('allow', Reasons.RoleGranted, rule, roles, identity, passed);
  }
  if (options.superRole !== null && identity !== null && roles.includes(options.superRole)) {
    return decision('allow', Reasons.SuperRole, rule, roles, identity, passed);
  }
  if (identity === null) {
    return decision(
      'unauthenticated',
      Reasons.AuthenticationRequired,
      rule,
      roles,
      identity,
      passed,
    );
  }
  return decision('forbidden', Reasons.MissingRole, rule, roles, identity, passed);
}
