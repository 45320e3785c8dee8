/** Who made a request, as established by one authenticator. Immutable once built. */
export type AuthMethod = 'session' | 'bearer' | 'header' | 'basic';

export interface Identity {
  /** Stable subject: the token's `sub` (session and bearer), or the username (header, basic). */
  readonly subject: string;
  /** The user name sent upstream (`X-Auth-Request-User`, `Remote-User`). */
  readonly user: string;
  readonly email?: string;
  /** Display name (`Remote-Name`). */
  readonly name?: string;
  readonly preferredUsername?: string;
  readonly givenName?: string;
  readonly familyName?: string;
  readonly organisation?: string;
  readonly groups: readonly string[];
  /** Raw claims for `Claim` role-mapping subjects and custom header rules. */
  readonly claims: Readonly<Record<string, unknown>>;
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
  if (identity.actor !== undefined) return 'impersonation';
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
