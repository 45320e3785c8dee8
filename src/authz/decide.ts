/**
 * The decision (docs/architecture.md "Decision semantics" 1–6): pure, no I/O, no clock. Facts in, a
 * Decision out. Every costly step (host and rule indexes, precedence sorting, role indexes)
 * was done when the snapshot was built.
 */
import type { Identity } from './identity.ts';
import type { DecisionIndex } from './decision-index.ts';
import type { AuthRequest } from './auth-request.ts';
import type { Decision, MatchDescription, MatchedRule, Outcome } from './decision.ts';
import { isAmbiguous } from './rule-index.ts';
import type { AmbiguousMatch, CompiledMatch, MatchFacts } from './rule-index.ts';
import { requestHostName } from './host.ts';
import { ParsedQuery } from './query.ts';
import { Reasons } from './reasons.ts';
import type { Reason } from './reasons.ts';
import { SubjectSources } from './roles.ts';
import { stepUpShortfalls } from './step-up.ts';

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
  /**
   * The clock a rule's `authentication.maxAge` is judged with (epoch milliseconds), read only
   * when such a rule decides; the check edge passes its injected clock. Omitted: `Date.now`.
   */
  readonly now?: () => number;
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
  match?: MatchDescription,
): Decision {
  const decided: Decision =
    guardrail === undefined
      ? { outcome, reason, rule, roles, identity }
      : { outcome, reason, rule, roles, identity, guardrail };
  return match === undefined ? decided : { ...decided, match };
}

/**
 * A CORS preflight as the Fetch standard sends it (§4.8 "CORS-preflight fetch"): `OPTIONS` with
 * `Origin` and `Access-Control-Request-Method`. Browsers never attach credentials to it, so a
 * rule that needs a role would answer 401 and break every cross-origin call that needs one.
 */
function isCorsPreflight(request: AuthRequest): boolean {
  const { headers } = request.credentials;
  return (
    request.method === 'OPTIONS' &&
    (headers.origin ?? '') !== '' &&
    (headers['access-control-request-method'] ?? '') !== ''
  );
}

/** What rule-index.ts tests matches against; the query is parsed on first use only. */
function matchFacts(request: AuthRequest, path: string): MatchFacts {
  let parsed: ParsedQuery | null = null;
  return {
    path,
    method: request.method,
    headers: request.credentials.headers,
    sourceAddress: request.sourceAddress ?? null,
    query: () => (parsed ??= ParsedQuery.parse(request.query)),
  };
}

/** A candidate's query conditions cannot be told for this request: refused, never guessed. */
function ambiguousQuery(
  found: AmbiguousMatch,
  identity: Identity | null,
  snapshot: DecisionIndex,
  options: DecideOptions,
): Decision {
  return {
    outcome: 'forbidden',
    reason: Reasons.AmbiguousQuery,
    rule: null,
    ambiguity: { rule: found.match.rule, problem: found.problem },
    roles: snapshot.roles.rolesOf(identity, clusterScope, options.unqualifiedSources),
    identity,
  };
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
  const { rule, description } = guard;
  if (guard.deny) {
    return decision('forbidden', Reasons.DenyRule, rule, roles, identity, undefined, description);
  }
  if (!audienceAccepted(rule, identity)) {
    return decision(
      'unauthenticated',
      Reasons.InvalidCredentials,
      rule,
      roles,
      identity,
      undefined,
      description,
    );
  }
  const passes =
    holdsAny(roles, rule.requiredRoles) ||
    (options.superRole !== null && identity !== null && roles.includes(options.superRole));
  if (passes) {
    // A guardrail's step-up binds every rule behind it, as its roles do; anonymous callers
    // (a guardrail admitting guest cannot carry one: policy validation) never reach here.
    return identity === null
      ? null
      : refusedForStepUp(rule, identity, roles, options, undefined, description);
  }
  return identity === null
    ? decision(
        'unauthenticated',
        Reasons.AuthenticationRequired,
        rule,
        roles,
        identity,
        undefined,
        description,
      )
    : decision('forbidden', Reasons.MissingRole, rule, roles, identity, undefined, description);
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

/**
 * Step-up (issue #19): the refusal of a caller who holds a role `rule` requires but whose sign-in
 * does not meet its `authentication`, or null. A 401, not a 403: signing in again (with the
 * parameters the sign-in URL carries, http/check-route.ts) is what helps. It applies to the
 * super role too: step-up guards the most sensitive pages, where an administrator's stale or
 * weak session is exactly the risk.
 */
function refusedForStepUp(
  rule: MatchedRule,
  identity: Identity,
  roles: readonly string[],
  options: DecideOptions,
  guardrail?: MatchedRule,
  match?: MatchDescription,
): Decision | null {
  const requirement = rule.stepUp;
  if (requirement === undefined) return null;
  const nowSeconds = requirement.maxAge === undefined ? 0 : (options.now ?? Date.now)() / 1000;
  const missing = stepUpShortfalls(requirement, identity, Math.floor(nowSeconds));
  if (missing.length === 0) return null;
  return {
    ...decision('unauthenticated', Reasons.StepUpRequired, rule, roles, identity, guardrail, match),
    stepUp: Object.freeze(missing),
  };
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
  const facts = matchFacts(request, request.path.value);
  // Guardrails first (ClusterAccessPolicy rules with `enforcement: Guardrail`): whatever any other
  // rule says, a guardrail Deny refuses and a guardrail's roles must be held. They restrict and
  // never grant: a request that passes is then decided as if the guardrail did not exist.
  const foundGuard = snapshot.rules.findGuardrail(hostName, facts);
  if (foundGuard !== null && isAmbiguous(foundGuard)) {
    return ambiguousQuery(foundGuard, identity, snapshot, options);
  }
  const guard = foundGuard;
  if (guard !== null) {
    const refused = refusedByGuardrail(guard, identity, snapshot, options);
    if (refused !== null) return refused;
  }
  const passed: Decision['guardrail'] = guard === null ? undefined : guard.rule;

  // `preflight: Allow` (issue #19): after the guardrails, so a guardrail Deny refuses the
  // preflight too and a guardrail's roles are still required (a tenant setting never loosens a
  // guardrail, security invariant 9); before every other rule, whatever they say. The preflight
  // passes as anonymous: its answer carries no identity headers.
  if (isCorsPreflight(request)) {
    const preflight = snapshot.rules.preflightFor(hostName);
    if (preflight !== null) {
      const anonymous = snapshot.roles.rolesOf(null, clusterScope, options.unqualifiedSources);
      return {
        ...decision('allow', Reasons.CorsPreflight, null, anonymous, null, passed),
        preflight,
      };
    }
  }

  const found = snapshot.rules.find(hostName, facts);
  if (found !== null && isAmbiguous(found))
    return ambiguousQuery(found, identity, snapshot, options);
  const match = found;

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

  const { rule, description } = match;
  const roles = snapshot.roles.rolesOf(identity, match.scope, options.unqualifiedSources);
  const decided = (outcome: Outcome, reason: Reason): Decision =>
    decision(outcome, reason, rule, roles, identity, passed, description);
  // Deny comes first: it denies everyone, the super role and anonymous callers included.
  if (match.deny) return decided('forbidden', Reasons.DenyRule);
  // A token minted for another audience is no credential for these hosts, whatever the rule
  // asks (a guest rule included), as a token that fails verification is not.
  if (!audienceAccepted(rule, identity)) {
    return decided('unauthenticated', Reasons.InvalidCredentials);
  }
  const granted = holdsAny(roles, rule.requiredRoles)
    ? Reasons.RoleGranted
    : options.superRole !== null && identity !== null && roles.includes(options.superRole)
      ? Reasons.SuperRole
      : null;
  if (granted !== null) {
    // Step-up last: a caller without the role learns nothing from signing in again (403
    // below), one with it is asked for a fresher or stronger sign-in.
    const stepUp =
      identity === null
        ? null
        : refusedForStepUp(rule, identity, roles, options, passed, description);
    return stepUp ?? decided('allow', granted);
  }
  if (identity === null) return decided('unauthenticated', Reasons.AuthenticationRequired);
  return decided('forbidden', Reasons.MissingRole);
}
