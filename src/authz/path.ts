/**
 * Request-path normalisation: the path is matched the way the proxy routes it, and a path whose
 * meaning depends on who decodes it is refused rather than guessed (docs/architecture.md, decision
 * semantics 1). Path confusion between an auth layer and the upstream is a classic bypass:
 * Spring Security's `StrictHttpFirewall` refuses encoded `/`, `\`, `.` and NUL for that reason,
 * CVE-2021-41773 is Apache's `.%2e` traversal, and overlong UTF-8 dots and slashes (`%C0%AE`,
 * `%C0%AF`) are CVE-2000-0884 / CAPEC-80.
 *
 * The output is a canonical form: only unreserved characters (RFC 3986 §2.3) are decoded, every
 * other escape is kept with upper-case hex (RFC 3986 §6.2.2.1), and repeated slashes are merged
 * (nginx `merge_slashes on`, the default). Dot-segments, literal or encoded, are refused: the
 * proxies pass the raw path upstream, so resolving them (RFC 3986 §5.2.4) would judge a path that
 * the upstream may not serve. Normalising an already normalised path returns
 * it unchanged.
 */
import type { NormalisedPath } from './auth-request.ts';

export interface SplitTarget {
  /** `host[:port]` when the target was absolute (`https://host/path`), otherwise null. */
  readonly authority: string | null;
  /** The raw, still encoded path; `/` for an absolute URL without a path. */
  readonly path: string;
  /** Without the `?`; null when there is no `?`. */
  readonly query: string | null;
  /** Without the `#`; null when there is no `#`. */
  readonly fragment: string | null;
}

const absoluteForm = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Splits a request target (origin-form `/p?q#f`, or absolute-form `https://h/p?q`) into its parts
 * without decoding or normalising anything. Unlike `new URL()`, it never turns `\` into `/` or
 * resolves `%2e%2e`, so the ambiguity checks of normalisePath() still see the raw path.
 */
export function splitTarget(target: string): SplitTarget {
  let authority: string | null = null;
  let rest = target;
  const scheme = absoluteForm.exec(target);
  if (scheme !== null) {
    const start = scheme[0].length;
    // A backslash ends the authority too: WHATWG URL parsers treat it as "/" for http(s), so
    // leaving it in the path makes normalisePath() refuse the request instead of guessing.
    let end = start;
    while (end < target.length && !'/\\?#'.includes(target.charAt(end))) end++;
    authority = target.slice(start, end);
    rest = target.slice(end);
  }
  let fragment: string | null = null;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
  }
  let query: string | null = null;
  const question = rest.indexOf('?');
  if (question >= 0) {
    query = rest.slice(question + 1);
    rest = rest.slice(0, question);
  }
  if (authority !== null && rest === '') rest = '/';
  return { authority, path: rest, query, fragment };
}

function ambiguous(problem: string): NormalisedPath {
  return { ok: false, problem };
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** Reads the escape `%XY` at `index`; -1 when it is not a well-formed escape. */
function escapedByte(raw: string, index: number): number {
  if (raw.charCodeAt(index) !== 0x25) return -1;
  const high = hexValue(raw.charCodeAt(index + 1));
  const low = hexValue(raw.charCodeAt(index + 2));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

/** RFC 3986 §2.3 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

const hexDigits = '0123456789ABCDEF';
function escape(byte: number): string {
  return `%${hexDigits.charAt(byte >> 4)}${hexDigits.charAt(byte & 15)}`;
}

/**
 * Length and valid second-byte range of a UTF-8 sequence starting with `lead`, per the table of
 * well-formed sequences in RFC 3629 §4 (which excludes overlong forms such as `C0 AE`, surrogates
 * `ED A0..BF` and code points above U+10FFFF). Null for a byte that cannot start a sequence.
 */
function utf8Sequence(lead: number): { length: number; min: number; max: number } | null {
  if (lead >= 0xc2 && lead <= 0xdf) return { length: 2, min: 0x80, max: 0xbf };
  if (lead === 0xe0) return { length: 3, min: 0xa0, max: 0xbf };
  if ((lead >= 0xe1 && lead <= 0xec) || lead === 0xee || lead === 0xef)
    return { length: 3, min: 0x80, max: 0xbf };
  if (lead === 0xed) return { length: 3, min: 0x80, max: 0x9f };
  if (lead === 0xf0) return { length: 4, min: 0x90, max: 0xbf };
  if (lead >= 0xf1 && lead <= 0xf3) return { length: 4, min: 0x80, max: 0xbf };
  if (lead === 0xf4) return { length: 4, min: 0x80, max: 0x8f };
  return null;
}

function isControl(code: number): boolean {
  return code < 0x20 || code === 0x7f;
}

/**
 * Normalises the path of a request target (no query or fragment: see splitTarget) or explains
 * why its meaning is ambiguous. Matching on the result is case-sensitive.
 */
export function normalisePath(rawPath: string): NormalisedPath {
  if (rawPath.charCodeAt(0) !== 0x2f) return ambiguous('path does not start with "/"');

  const segments: string[] = [];
  let trailingSlash: boolean;
  let index = 1;
  // Each iteration consumes one raw segment (up to the next "/" or the end).
  for (;;) {
    let segment = '';
    let decodedDot = false;
    while (index < rawPath.length) {
      const code = rawPath.charCodeAt(index);
      if (code === 0x2f) break;
      if (code === 0x5c) return ambiguous('backslash in path');
      // Path parameters: Tomcat and Jetty drop `;...` from a segment before routing, so
      // `/admin;x` reaches /admin while a prefix rule for /admin would not match it (the
      // Spring Security StrictHttpFirewall and CVE-2020-1957 / CVE-2022-22978 family).
      if (code === 0x3b) return ambiguous('";" (path parameter) in path');
      if (isControl(code)) return ambiguous('control character in path');
      if (code > 0x7e)
        return ambiguous('raw non-ASCII character in path (must be percent-encoded)');
      if (code !== 0x25) {
        segment += rawPath.charAt(index);
        index++;
        continue;
      }
      const byte = escapedByte(rawPath, index);
      if (byte < 0) return ambiguous('malformed percent-encoding');
      if (byte === 0x2f) return ambiguous('encoded "/" (%2F) in path');
      if (byte === 0x5c) return ambiguous('encoded "\\" (%5C) in path');
      if (byte === 0x3b) return ambiguous('encoded ";" (%3B) in path');
      if (isControl(byte)) return ambiguous('encoded control character in path');
      if (byte < 0x80) {
        if (isUnreserved(byte)) {
          if (byte === 0x2e) decodedDot = true;
          segment += String.fromCharCode(byte);
        } else {
          segment += escape(byte);
        }
        index += 3;
        continue;
      }
      const sequence = utf8Sequence(byte);
      if (sequence === null) return ambiguous('invalid UTF-8 in path');
      let encoded = escape(byte);
      for (let i = 1; i < sequence.length; i++) {
        const next = escapedByte(rawPath, index + 3 * i);
        const min = i === 1 ? sequence.min : 0x80;
        const max = i === 1 ? sequence.max : 0xbf;
        if (next < min || next > max) return ambiguous('invalid UTF-8 in path');
        encoded += escape(next);
      }
      // C1 controls U+0080..U+009F are control characters too (Unicode category Cc).
      if (byte === 0xc2 && escapedByte(rawPath, index + 3) <= 0x9f) {
        return ambiguous('encoded control character in path');
      }
      segment += encoded;
      index += 3 * sequence.length;
    }

    const atEnd = index >= rawPath.length;
    if (segment === '.' || segment === '..') {
      if (decodedDot) return ambiguous('encoded dot-segment (%2E) in path');
      // nginx (`proxy_pass` without a URI, as ingress-nginx renders it) and Caddy pass the raw
      // path upstream, and Koa, Express and anything else that does not normalise route
      // `/admin/../public/x` under /admin: resolving it here judged a path the upstream never
      // served. Browsers remove dot-segments before sending (WHATWG URL), so only crafted
      // requests carry them; oauth2-proxy refuses them too.
      return ambiguous('dot-segment ("." or "..") in path');
    } else if (segment === '') {
      // Repeated slashes merge; an empty last segment is the trailing slash.
      trailingSlash = true;
    } else {
      segments.push(segment);
      trailingSlash = false;
    }
    if (atEnd) break;
    index++; // skip "/"
  }

  if (segments.length === 0) return { ok: true, value: '/' };
  const joined = `/${segments.join('/')}`;
  return { ok: true, value: trailingSlash ? `${joined}/` : joined };
}
