/**
 * Identity header values are ASCII (docs/architecture.md, Identity). HTTP field values are
 * historically latin1 and in practice opaque bytes (RFC 9110 §5.5), so a name like "Zoë" would
 * reach each upstream framework differently. Non-ASCII values travel as `{base64}` + base64 of
 * their UTF-8 bytes instead, geOrchestra's convention, which its consumers already decode.
 */
export const base64Marker = '{base64}';

/**
 * C0 controls, DEL, C1 controls and the Unicode line/paragraph separators. CR, LF and NUL in a
 * header value are header injection (CWE-113); the others confuse log viewers and parsers that
 * treat them as line breaks.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlCharacters = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g;
const printableAscii = /^[\u0020-\u007E]*$/;
const base64Text = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Removes every control character; what remains can never split or terminate a header. */
export function stripControlCharacters(value: string): string {
  return value.replace(controlCharacters, '');
}

function hasMarker(value: string): boolean {
  return value.slice(0, base64Marker.length).toLowerCase() === base64Marker;
}

function encodeBase64(value: string): string {
  return base64Marker + Buffer.from(value, 'utf8').toString('base64');
}

/**
 * A header-safe rendering of one value: printable ASCII passes unchanged; anything else is sent
 * as `{base64}...`. Control characters are removed first, so they never pass in either form.
 * An ASCII value that itself starts with `{base64}` is encoded too: otherwise a user named
 * `{base64}YWRtaW4=` would be decoded upstream as `admin`.
 */
export function encodeHeaderValue(value: string): string {
  const clean = stripControlCharacters(value);
  return printableAscii.test(clean) && !hasMarker(clean) ? clean : encodeBase64(clean);
}

/**
 * A comma-separated list (groups, roles) that a consumer can split on `,` safely: an element
 * that contains a comma, is not printable ASCII, starts with the marker, or has surrounding
 * spaces (which a consumer's trim would lose) is encoded on its own. Elements that are empty
 * once control characters are removed carry no information and are left out.
 */
export function encodeHeaderList(values: readonly string[]): string {
  const elements: string[] = [];
  for (const value of values) {
    const clean = stripControlCharacters(value);
    if (clean === '') continue;
    const plain =
      printableAscii.test(clean) &&
      !clean.includes(',') &&
      !hasMarker(clean) &&
      clean.trim() === clean;
    elements.push(plain ? clean : encodeBase64(clean));
  }
  return elements.join(',');
}

/**
 * Reverses `encodeHeaderValue`, for trusted pre-authentication headers. Returns null when the
 * value cannot have come from a conforming encoder: bad base64, invalid UTF-8, or control
 * characters in either form (a value carrying them is forged or corrupted, never repaired).
 */
export function decodeHeaderValue(value: string): string | null {
  if (!hasMarker(value)) {
    return stripControlCharacters(value) === value ? value : null;
  }
  const payload = value.slice(base64Marker.length);
  if (!base64Text.test(payload)) return null;
  let decoded: string;
  try {
    decoded = strictUtf8.decode(Buffer.from(payload, 'base64'));
  } catch {
    return null;
  }
  return stripControlCharacters(decoded) === decoded ? decoded : null;
}

/**
 * Reverses `encodeHeaderList`: splits on `,`, trims plain elements (proxies join repeated
 * headers with `, `), drops empty ones and decodes each. Null when any element is undecodable.
 */
export function decodeHeaderList(value: string): string[] | null {
  const decoded: string[] = [];
  for (const element of value.split(',')) {
    const trimmed = element.trim();
    if (trimmed === '') continue;
    const item = decodeHeaderValue(trimmed);
    if (item === null) return null;
    decoded.push(item);
  }
  return decoded;
}
