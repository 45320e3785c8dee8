import type { AuthMethod, Identity } from './identity.ts';

/** Which claims carry the user name, e-mail, groups and display name at one issuer. */
export interface ClaimNames {
  readonly username: string;
  readonly email: string;
  readonly groups: string;
  readonly name: string;
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
 * Groups as providers actually send them: a JSON array (non-strings dropped), or one string that
 * is a space- or comma-separated list (some SAML bridges and Azure AD app roles). Duplicates and
 * empty names are dropped; anything else yields no groups rather than an error.
 */
export function readGroups(value: unknown): readonly string[] {
  let names: string[];
  if (Array.isArray(value)) {
    names = value.filter((item): item is string => typeof item === 'string').map((s) => s.trim());
  } else if (typeof value === 'string') {
    names = value.split(/[\s,]+/);
  } else {
    return [];
  }
  return [...new Set(names.filter((name) => name !== ''))];
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
}

/** Builds an Identity from verified claims; the caller vouches that the claims are authentic. */
export function identityFromClaims(options: IdentityFromClaimsOptions): Identity {
  const { claims, names } = options;
  const optional: {
    email?: string;
    name?: string;
    preferredUsername?: string;
    givenName?: string;
    familyName?: string;
    expiresAt?: number;
  } = {};
  const email = readString(claims, names.email);
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
    groups: Object.freeze([...readGroups(readClaim(claims, names.groups))]),
    claims: Object.freeze({ ...claims }),
    provider: options.provider,
    method: options.method,
    ...optional,
  });
}
