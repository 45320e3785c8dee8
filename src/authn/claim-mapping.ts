import type { AuthMethod, Identity } from '../authz/identity.ts';

/** Which claims carry the user name, e-mail, groups and display name at one issuer. */
export interface ClaimNames {
  readonly username: string;
  readonly email: string;
  readonly groups: string;
  readonly name: string;
  /**
   * Splits a groups claim that is ONE string (some SAML bridges send `"ops;dev"`) on exactly this
   * text. Undefined or empty: such a string is one group, however many spaces or commas it holds
   * (`"Domain admins"` is a group name, not `Domain` and `admins`).
   */
  readonly groupsSeparator?: string | undefined;
}

/**
 * Reads a claim by name. A name that exists verbatim wins, because namespaced claims are URLs
 * full of dots (Auth0's `https://example.com/roles`); otherwise the name is a dotted path into
 * nested objects (Keycloak's `realm_access.roles`).
 */
export function readClaim(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let current: unknown = claims;
  for (const segment of name.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) {
      return undefined;
    }
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * Groups as providers send them, compared exactly as issued: the names are role-mapping keys, so
 * any rewriting would let a group the provider never issued match (`"admins "` is not `admins`,
 * and `"Domain admins"` must not yield `admins`). A JSON array keeps its string items verbatim
 * (non-strings dropped); one string is one group unless the configuration names a separator.
 * Empty names and duplicates are dropped; anything else yields no groups rather than an error.
 */
export function readGroups(value: unknown, separator?: string): readonly string[] {
  let names: string[];
  if (Array.isArray(value)) {
    names = value.filter((item): item is string => typeof item === 'string');
  } else if (typeof value === 'string') {
    names = separator === undefined || separator === '' ? [value] : value.split(separator);
  } else {
    return [];
  }
  return [...new Set(names.filter((name) => name !== ''))];
}

/**
 * Whether the provider vouches for the e-mail address. OpenID Connect Core 1.0 §5.1:
 * `email_verified` is true when "the End-User's e-mail address was verified"; otherwise the
 * address is merely what the user typed, and whoever types alice's address would get alice's
 * `User alice@example.com` and `EmailDomain` roles and be announced upstream as her. Only the
 * boolean true counts, and the string "true" that some userinfo endpoints send (Amazon
 * Cognito); `allowUnverifiedEmail` is the operator's explicit choice for providers that never
 * send the claim.
 */
export function isEmailVerified(
  claims: Readonly<Record<string, unknown>>,
  allowUnverifiedEmail: boolean | undefined,
): boolean {
  if (allowUnverifiedEmail === true) return true;
  const verified = claims['email_verified'];
  return verified === true || verified === 'true';
}

/**
 * The claims without the e-mail claim when the address is not verified, so that neither a
 * `Claim` role-mapping subject nor a `claim:` header can reach the unverified address either.
 */
export function withoutUnverifiedEmail(
  claims: Readonly<Record<string, unknown>>,
  emailClaim: string,
  allowUnverifiedEmail: boolean | undefined,
): Readonly<Record<string, unknown>> {
  if (isEmailVerified(claims, allowUnverifiedEmail) || !Object.hasOwn(claims, emailClaim)) {
    return claims;
  }
  const { [emailClaim]: _unverified, ...rest } = claims;
  return rest;
}

function readString(claims: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = readClaim(claims, name);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export interface IdentityFromClaimsOptions {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly subject: string;
  readonly names: ClaimNames;
  readonly provider: string;
  readonly method: AuthMethod;
  /** Epoch seconds, usually the token's `exp`. */
  readonly expiresAt?: number;
  /** Keep the e-mail address without `email_verified: true` (see isEmailVerified); default false. */
  readonly allowUnverifiedEmail?: boolean | undefined;
}

/** Builds an Identity from verified claims; the caller vouches that the claims are authentic. */
export function identityFromClaims(options: IdentityFromClaimsOptions): Identity {
  const { names } = options;
  const claims = withoutUnverifiedEmail(options.claims, names.email, options.allowUnverifiedEmail);
  const optional: {
    email?: string;
    name?: string;
    preferredUsername?: string;
    givenName?: string;
    familyName?: string;
    expiresAt?: number;
  } = {};
  const email = isEmailVerified(claims, options.allowUnverifiedEmail)
    ? readString(claims, names.email)
    : undefined;
  if (email !== undefined) optional.email = email;
  const name = readString(claims, names.name);
  if (name !== undefined) optional.name = name;
  // Standard OpenID Connect Core §5.1 claims, for header profiles that send them.
  const preferredUsername = readString(claims, 'preferred_username');
  if (preferredUsername !== undefined) optional.preferredUsername = preferredUsername;
  const givenName = readString(claims, 'given_name');
  if (givenName !== undefined) optional.givenName = givenName;
  const familyName = readString(claims, 'family_name');
  if (familyName !== undefined) optional.familyName = familyName;
  if (options.expiresAt !== undefined) optional.expiresAt = options.expiresAt;

  return Object.freeze({
    subject: options.subject,
    user: readString(claims, names.username) ?? options.subject,
    groups: Object.freeze([...readGroups(readClaim(claims, names.groups), names.groupsSeparator)]),
    claims: Object.freeze({ ...claims }),
    provider: options.provider,
    method: options.method,
    ...optional,
  });
}
