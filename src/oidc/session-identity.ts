import {
  isEmailVerified,
  readClaim,
  readGroups,
  withoutUnverifiedEmail,
} from '../authn/claim-mapping.ts';
import type { Logger } from 'pino';
import { boundClaims } from '../sessions/session-claims.ts';
import type { SessionIdentity } from '../sessions/session.ts';
import type { ProviderClaimNames, ProviderOptions } from './provider-options.ts';

/**
 * Maps verified ID token (and userinfo) claims onto the identity a session keeps, through the
 * provider's claim names (`claims.username/email/name/groups/organisation`, dotted paths
 * allowed). The way back, from a stored session to an `Identity`, is authn/session-identity.ts.
 */
export function sessionIdentityFromClaims(
  allClaims: Readonly<Record<string, unknown>>,
  names: ProviderClaimNames,
  subject: string,
  options: { readonly allowUnverifiedEmail?: boolean | undefined } = {},
): SessionIdentity {
  // OpenID Connect Core §5.1: an address without `email_verified: true` is only what someone
  // typed at the provider; it must neither reach the upstream nor match e-mail subjects.
  const verified = isEmailVerified(allClaims, options.allowUnverifiedEmail);
  const claims = withoutUnverifiedEmail(allClaims, names.email, options.allowUnverifiedEmail);
  const text = (name: string): string | undefined => {
    const value = readClaim(claims, name);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const optional: Record<string, string> = {};
  const fields: [keyof SessionIdentity, string][] = [
    ...(verified ? [['email', names.email] as [keyof SessionIdentity, string]] : []),
    ['name', names.name],
    // OpenID Connect Core §5.1 claims, for header profiles that send them.
    ['preferredUsername', 'preferred_username'],
    ['givenName', 'given_name'],
    ['familyName', 'family_name'],
    // The organisation is a first-class claim only where the operator names it
    // (`providers[].claims.organisation`): no standard claim carries it.
    ...(names.organisation === undefined
      ? []
      : [['organisation', names.organisation] as [keyof SessionIdentity, string]]),
    ...(names.organisationName === undefined
      ? []
      : [['organisationName', names.organisationName] as [keyof SessionIdentity, string]]),
  ];
  for (const [field, claim] of fields) {
    const value = text(claim);
    if (value !== undefined) optional[field] = value;
  }
  return {
    user: text(names.username) ?? subject,
    groups: readGroups(readClaim(claims, names.groups), names.groupsSeparator),
    claims: boundClaims(claims),
    ...optional,
  };
}

/** Providers already warned about, per configuration object: once per provider and process. */
const warnedUserIsSubject = new WeakSet<ProviderOptions>();

/**
 * Warns once per provider when `claims.username` is absent and the user name falls back to the
 * opaque `sub`: policies written for `alice` then silently match nobody.
 */
export function warnIfUserIsSubject(
  logger: Logger,
  provider: ProviderOptions,
  claims: Readonly<Record<string, unknown>>,
): void {
  const claim = provider.claims.username;
  if (claim === 'sub' || warnedUserIsSubject.has(provider)) return;
  const value = readClaim(claims, claim);
  if (typeof value === 'string' && value !== '') return;
  warnedUserIsSubject.add(provider);
  logger.warn(
    { provider: provider.name, setting: 'providers[].claims.username', claim },
    `provider "${provider.name}": the ${claim} claim (providers[].claims.username) is missing, so user names fall back to the opaque sub; request the profile scope, or set claims.username to a claim the provider sends (warned once)`,
  );
}
