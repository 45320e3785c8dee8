import type { Identity } from './identity.ts';
import type { Reason } from './reasons.ts';
import type { StepUpRequirement, StepUpShortfall } from './step-up.ts';

export type Outcome = 'allow' | 'unauthenticated' | 'forbidden';

export type PolicyKind = 'AccessPolicy' | 'ClusterAccessPolicy';

/**
 * `spec.mode` of the matched rule's policy. decide() ignores it and returns the decision as it
 * would be; the transport edge (http/check-route.ts) answers a non-allow decision of an `Audit`
 * policy as allowed, and counts and logs it, so a new policy can be watched before it bites.
 */
export type PolicyMode = 'Enforce' | 'Audit';

/** Which rule decided, for logs, metrics, headers profiles and `gatehouse check`. */
export interface MatchedRule {
  readonly kind: PolicyKind;
  /** Empty for cluster-scoped policies. */
  readonly namespace: string;
  readonly policy: string;
  readonly rule: string;
  /** The roles the rule requires (empty for `action: Deny`). */
  readonly requiredRoles: readonly string[];
  readonly action: 'Allow' | 'Deny';
  /** The policy's `spec.mode` (default `Enforce`); always `Enforce` for a guardrail. */
  readonly mode: PolicyMode;
  /**
   * `Guardrail`: a ClusterAccessPolicy rule with `enforcement: Guardrail`, checked before every
   * other rule (decide.ts). Absent for ordinary rules.
   */
  readonly enforcement?: 'Guardrail';
  /** Header profile named by the policy (`spec.identityHeaders`), if any. */
  readonly identityHeaders?: string;
  /** `spec.authentication.basic`: a 401 carries the Basic challenge. */
  readonly basicAuth?: boolean;
  /** `spec.upstreamTokens`: which of the session's tokens go upstream, in which headers. */
  readonly upstreamTokens?: UpstreamTokens;
  /** `spec.authentication.providers`: the providers allowed to sign in for the policy's hosts. */
  readonly providers?: readonly string[];
  /** `spec.authentication.bearer.audiences`: the `aud` a bearer token must name for these hosts. */
  readonly bearerAudiences?: readonly string[];
  /**
   * The rule's `authentication` (issue #19, step-up sign-in): how recent or strong the sign-in
   * of a caller who holds a role must be (authz/step-up.ts).
   */
  readonly stepUp?: StepUpRequirement;
}

/** A policy, named for `gatehouse check` and logs. */
export interface PolicyRef {
  readonly kind: PolicyKind;
  /** Empty for cluster-scoped policies. */
  readonly namespace: string;
  readonly policy: string;
}

/** One condition on a header or a query parameter, as the policy wrote it. */
export interface ValueMatchDescription {
  readonly type: 'Exact' | 'RegularExpression';
  readonly name: string;
  readonly value: string;
}

/**
 * The `match` entry that selected the rule, as the policy wrote it (the path defaulted), so
 * `gatehouse check` can say which conditions decided. Shared and frozen, built with the snapshot.
 */
export interface MatchDescription {
  readonly path: {
    readonly type: 'Exact' | 'PathPrefix' | 'RegularExpression';
    readonly value: string;
  };
  readonly methods?: readonly string[];
  readonly headers?: readonly ValueMatchDescription[];
  readonly queryParams?: readonly ValueMatchDescription[];
  readonly sourceCIDRs?: readonly string[];
}

export interface UpstreamTokens {
  readonly accessToken?: { readonly header: string };
  readonly idToken?: { readonly header: string };
}

export interface Decision {
  readonly outcome: Outcome;
  readonly reason: Reason;
  /**
   * The rule that decided; null when no rule matched or the path was ambiguous. A guardrail that
   * refused the request is this rule (`rule.enforcement === 'Guardrail'`).
   */
  readonly rule: MatchedRule | null;
  /**
   * The guardrail the request had to pass before the other rules were asked (it let the request
   * through; `rule` then decided). Absent when no guardrail matched, or when one refused (then it
   * is `rule`).
   */
  readonly guardrail?: MatchedRule;
  /** Which `match` entry of `rule` selected it; absent when no rule matched. */
  readonly match?: MatchDescription;
  /**
   * `cors-preflight`: the policy whose `preflight: Allow` let the CORS preflight through (no rule
   * decided it, and the identity is dropped: a preflight passes anonymously).
   */
  readonly preflight?: PolicyRef;
  /**
   * `ambiguous-query`: the candidate rule whose query conditions the request makes ambiguous, and
   * why (authz/query.ts). No rule decided: it is not `rule`.
   */
  readonly ambiguity?: { readonly rule: MatchedRule; readonly problem: string };
  /** `step-up-required`: which parts of the rule's `authentication` the sign-in did not meet. */
  readonly stepUp?: readonly StepUpShortfall[];
  /** Roles the caller holds in the scope of the matched policy (always includes `guest`). */
  readonly roles: readonly string[];
  readonly identity: Identity | null;
}
