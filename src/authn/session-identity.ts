import type { Session } from '../sessions/session.ts';
import type { Identity } from '../authz/identity.ts';
import { definedFields } from '../defined-fields.ts';
import { authenticationFactsOf } from '../authz/step-up.ts';

/**
 * The way from a stored session back to the `Identity` that decide() and the header profiles
 * read: used by the session-cookie authenticator, impersonation and the sign-in pages alike.
 */
/** The identity a live session vouches for. `expiresAt` is when it must be re-checked at latest. */
export function identityOfSession(session: Session): Identity {
  const { identity } = session;
  // Re-read from the record's own fields: a session record is authenticated but may come from
  // another gatehouse version; only well-formed facts count (authz/step-up.ts).
  const written = session.authentication;
  const authentication =
    written === undefined
      ? undefined
      : authenticationFactsOf({
          auth_time: written.authTime,
          acr: written.acr,
          amr: written.amr,
        });
  return Object.freeze({
    subject: session.subject,
    user: identity.user,
    groups: Object.freeze([...identity.groups]),
    claims: Object.freeze({ ...identity.claims }),
    provider: session.provider,
    method: 'session' as const,
    sessionId: session.key,
    expiresAt: Math.floor(Math.min(session.idleExpiresAt, session.absoluteExpiresAt) / 1000),
    ...definedFields({
      email: identity.email,
      name: identity.name,
      preferredUsername: identity.preferredUsername,
      givenName: identity.givenName,
      familyName: identity.familyName,
      organisation: identity.organisation,
      organisationName: identity.organisationName,
      authentication,
    }),
  });
}
