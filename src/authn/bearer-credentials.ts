/**
 * Lifts a bearer token out of an `Authorization` header (RFC 6750 §2.1), without judging it.
 *
 * The scheme is case-insensitive (RFC 9110 §11.1), so `bearer` and `BEARER` count. A header for
 * another scheme (`Basic ...`) is not ours: the next authenticator may understand it. A `Bearer`
 * header whose token is empty, oversized or not a compact JWS is a presented-but-bad credential
 * and must be rejected, not ignored, or a broken client would silently become anonymous.
 */
export type BearerCredential =
  | { readonly kind: 'absent' }
  | { readonly kind: 'malformed'; readonly problem: string }
  | { readonly kind: 'token'; readonly token: string };

/**
 * Tokens from real identity providers are a few KiB at most; a bound keeps a hostile header from
 * costing base64 and JSON decoding work (and from filling the verified-token cache with giants).
 */
export const maxBearerTokenLength = 8 * 1024;

/**
 * Compact JWS: three base64url parts (RFC 7515 §7.1). The signature part may be empty only for
 * `alg: none`, which is let through here so that it is refused with its own reason later.
 */
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const bearerScheme = /^bearer(?:[ \t]+(.*))?$/is;

export function parseBearerAuthorization(header: string | undefined): BearerCredential {
  if (header === undefined) return { kind: 'absent' };
  const match = bearerScheme.exec(header.trim());
  if (match === null) return { kind: 'absent' };
  const token = (match[1] ?? '').trim();
  if (token === '') return { kind: 'malformed', problem: 'empty bearer token' };
  if (token.length > maxBearerTokenLength) {
    return { kind: 'malformed', problem: 'bearer token too large' };
  }
  if (!compactJws.test(token)) return { kind: 'malformed', problem: 'bearer token is not a JWT' };
  return { kind: 'token', token };
}
