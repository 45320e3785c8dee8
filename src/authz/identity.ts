import type { AuthenticationFacts } from './step-up.ts';

/** Who made a request, as established by one authenticator. Immutable once built. */
export type AuthMethod = 'session' | 'bearer' | 'header' | 'basic';

/**
 * What an identity says about the person, as one authenticator established it. A browser session
 * keeps exactly this (sessions/session.ts `SessionIdentity`); `Identity` adds where it came from.
 */
export interface IdentityDetails {
  /** The user name sent upstream (`X-Auth-Request-User`, `Remote-User`). */
  readonly user: string;
  readonly email?: string;
  /** Display name (`Remote-Name`). */
  readonly name?: string;
  readonly preferredUsername?: string;
  readonly givenName?: string;
  readonly familyName?: string;
  /**
   * The organisation the user belongs to: a provider's `claims.organisation`, or geOrchestra's
   * `preauth-org`. Matched by `Organisation` subjects; sent upstream as `sec-org`.
   */
  readonly organisation?: string;
  /** The organisation's display name, where known (geOrchestra's `sec-orgname`). */
  readonly organisationName?: string;
  readonly groups: readonly string[];
  /**
   * Raw claims for `Claim` role-mapping subjects and custom header rules (for a session, the
   * bounded subset of the ID token and userinfo claims that sessions/session-claims.ts keeps).
   */
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface Identity extends IdentityDetails {
  /** Stable subject: the token's `sub` (session and bearer), or the username (header, basic). */
  readonly subject: string;
  /** The configured provider or issuer name that vouched for this identity. */
  readonly provider: string;
  readonly method: AuthMethod;
  /** Session id hash (never the ticket) when the identity comes from a session. */
  readonly sessionId?: string;
  /** Epoch seconds after which this identity must not be trusted any more. */
  readonly expiresAt?: number;
  /**
   * Set while someone impersonates this identity ("switch user", oidc/impersonation.ts): the
   * real, signed-in user acting as it. Sent upstream as the impersonator header and as the
   * assertion's `act` claim (RFC 8693 §4.1), so the upstream can tell who really acts.
   */
  readonly actor?: IdentityActor;
  /**
   * Bearer identities only: the token's `aud` (RFC 7519 §4.1.3), already checked against the
   * issuer's configured audiences. A policy naming `authentication.bearer.audiences` needs one
   * of them here (authz/decide.ts).
   */
  readonly audiences?: readonly string[];
  /**
   * How and when the person signed in (`auth_time`, `acr`, `amr` of the ID token kept in the
   * session, or of a bearer token), for rules that ask for a step-up (authz/step-up.ts). Absent
   * when unknown: such an identity meets no step-up requirement.
   */
  readonly authentication?: AuthenticationFacts;
}

/** The real user behind an impersonated identity. */
export interface IdentityActor {
  readonly user: string;
  readonly subject: string;
  readonly provider: string;
}

/**
 * Where an identity comes from, as one string: `provider/<name>` (a browser session signed in
 * with that OpenID Provider), `issuer/<name>` (a bearer token of that issuer), `preauth` (the
 * trusted pre-authentication front), `basic` (an htpasswd user), or `impersonation` (a user acted
 * as by its `actor`). Sent in the signed assertion (`gatehouse_source`) so that an upstream can
 * tell the corporate `bob` from a partner's or a machine's `bob`.
 */
export type IdentitySource =
  `provider/${string}` | `issuer/${string}` | 'preauth' | 'basic' | 'impersonation';

export function identitySource(identity: Identity): IdentitySource {
  return identity.actor === undefined ? authenticatedSource(identity) : 'impersonation';
}

/** The sources a role-mapping subject can name (`sources`); impersonation is not one of them. */
export type SubjectSource = `provider/${string}` | `issuer/${string}` | 'preauth' | 'basic';

/**
 * The source role-mapping subjects are matched against (authz/roles.ts): the identity's own, and
 * for an impersonated identity the target's, which is a user of the impersonator's provider (the
 * target is named within the provider the impersonator signed in with). So an impersonation
 * grants exactly what a session of the target would, never what another source's namesake holds.
 */
export function subjectSource(identity: Identity): SubjectSource {
  if (identity.actor !== undefined) return `provider/${identity.actor.provider}`;
  return authenticatedSource(identity);
}

/** The source of the authenticator that vouched for the identity, impersonation aside. */
function authenticatedSource(identity: Identity): SubjectSource {
  switch (identity.method) {
    case 'session':
      return `provider/${identity.provider}`;
    case 'bearer':
      return `issuer/${identity.provider}`;
    case 'header':
      return 'preauth';
    case 'basic':
      return 'basic';
  }
}
