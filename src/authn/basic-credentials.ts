/**
 * Lifts user and password out of an `Authorization: Basic` header (RFC 7617), without judging
 * them.
 *
 * The scheme is case-insensitive (RFC 9110 §11.1). Another scheme (`Bearer ...`) is not ours:
 * `absent`, so the next authenticator may understand it. A `Basic` header that is not strict
 * base64 of UTF-8 `user:password` is a presented-but-bad credential: `malformed`, so a broken
 * client is told so rather than silently treated as anonymous.
 */
export type BasicCredential =
  | { readonly kind: 'absent' }
  | { readonly kind: 'malformed'; readonly problem: string }
  | { readonly kind: 'credentials'; readonly user: string; readonly password: string };

/** Far above any real user:password; bounds decoding work for hostile headers. */
export const maxBasicCredentialsLength = 4096;

const basicScheme = /^basic(?:[ \t]+(.*))?$/is;
/** Padded base64 (RFC 4648 §4), as RFC 7617 §2 requires; no whitespace, no URL alphabet. */
const base64Text = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** We advertise `charset="UTF-8"` (RFC 7617 §2.1), so anything else is refused, not guessed. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
/** RFC 7617 §2: "The user-id and password MUST NOT contain any control characters". */
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const controlCharacters = /[\u0000-\u001F\u007F-\u009F]/;

export function parseBasicAuthorization(header: string | undefined): BasicCredential {
  if (header === undefined) return { kind: 'absent' };
  const match = basicScheme.exec(header.trim());
  if (match === null) return { kind: 'absent' };
  const token = (match[1] ?? '').trim();
  if (token === '') return { kind: 'malformed', problem: 'empty basic credentials' };
  if (token.length > maxBasicCredentialsLength) {
    return { kind: 'malformed', problem: 'basic credentials too large' };
  }
  if (!base64Text.test(token)) return { kind: 'malformed', problem: 'credentials are not base64' };
  let decoded: string;
  try {
    decoded = strictUtf8.decode(Buffer.from(token, 'base64'));
  } catch {
    return { kind: 'malformed', problem: 'credentials are not UTF-8' };
  }
  // The user-id cannot contain a colon; the password can (RFC 7617 §2).
  const colon = decoded.indexOf(':');
  if (colon === -1) return { kind: 'malformed', problem: 'credentials lack a colon' };
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (user === '') return { kind: 'malformed', problem: 'empty user name' };
  if (controlCharacters.test(user) || controlCharacters.test(password)) {
    return { kind: 'malformed', problem: 'credentials contain control characters' };
  }
  return { kind: 'credentials', user, password };
}
