import type { Identity } from './identity.ts';
import type { Reason } from './reasons.ts';

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
  /** Roles the caller holds in the scope of the matched policy (always includes `guest`). */
  readonly roles: readonly string[];
  readonly identity: Identity | null;
}
