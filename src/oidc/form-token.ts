import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { SessionTicket } from '../sessions/ticket.ts';

/**
 * The CSRF token of a form a signed-in person posts (sign-out, impersonation, ending sessions in
 * the portal): an HMAC of the session key under a key derived (HKDF, RFC 5869) from the ticket's
 * secret, which only the browser's HttpOnly cookie holds — the stateless "HMAC based token
 * pattern" of the OWASP CSRF Prevention Cheat Sheet. Each form has its own derivation label, so
 * a token of one form is never a token of another.
 */
export type FormPurpose = 'sign-out' | 'impersonate' | 'own-sessions';

/** Tokens are 43 characters (base64url of 32 bytes); anything much longer is not one. */
const MAX_TOKEN_CHARS = 100;

export function formToken(purpose: FormPurpose, ticket: SessionTicket, sessionKey: string): string {
  const key = Buffer.from(
    hkdfSync(
      'sha256',
      Buffer.from(ticket.secret, 'base64url'),
      Buffer.from(`gatehouse/${purpose}`, 'utf8'),
      Buffer.from(`gatehouse/${purpose}/csrf/v1`, 'utf8'),
      32,
    ),
  );
  return createHmac('sha256', key).update(sessionKey, 'utf8').digest('base64url');
}

export function isValidFormToken(
  purpose: FormPurpose,
  token: string | null | undefined,
  ticket: SessionTicket,
  sessionKey: string,
): boolean {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return false;
  const expected = Buffer.from(formToken(purpose, ticket, sessionKey), 'utf8');
  const actual = Buffer.from(token, 'utf8');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
