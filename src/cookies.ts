/**
 * Reading the `Cookie` header and writing `Set-Cookie` (RFC 6265 §4.1, §5.4). Only what gatehouse's
 * own cookies need: their values are base64url tokens, so no quoting or decoding is involved, and
 * a value that is anything else simply fails the caller's strict format check.
 */

/** At most this many same-named cookies are considered, so a stuffed header costs bounded work. */
const MAX_SAME_NAME = 8;

/**
 * Every value of the cookie `name`, in header order. Browsers send several cookies of one name
 * when they differ in Domain or Path (RFC 6265 §5.4 step 2: longer paths first), so a caller must
 * be ready to try more than the first.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined || header === '') return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0) continue;
    if (pair.slice(0, equals).trim() !== name) continue;
    values.push(pair.slice(equals + 1).trim());
    if (values.length >= MAX_SAME_NAME) break;
  }
  return values;
}

export interface CookieAttributes {
  readonly path: string;
  readonly domain?: string | undefined;
  /** Seconds; 0 expires the cookie now. */
  readonly maxAge: number;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
}

const SAME_SITE = { lax: 'Lax', strict: 'Strict', none: 'None' } as const;

/** A `Set-Cookie` value; always HttpOnly, as no gatehouse cookie is for scripts. */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  const parts = [`${name}=${value}`, `Path=${attributes.path}`];
  if (attributes.domain !== undefined && attributes.domain !== '') {
    parts.push(`Domain=${attributes.domain}`);
  }
  parts.push(`Max-Age=${Math.max(0, Math.floor(attributes.maxAge))}`);
  if (attributes.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  parts.push('HttpOnly');
  // Browsers drop SameSite=None cookies that are not Secure (RFC 6265bis §5.6.19).
  if (attributes.secure || attributes.sameSite === 'none') parts.push('Secure');
  parts.push(`SameSite=${SAME_SITE[attributes.sameSite]}`);
  return parts.join('; ');
}
