import type { NormalisedPath } from '../authz/auth-request.ts';
import { normalisePath, splitTarget } from '../authz/path.ts';
import { malformedRequest } from './dialect.ts';

/** nginx's default `large_client_header_buffers` is 8k: no proxy forwards a longer URL. */
export const maxUrlLength = 8192;

export interface RequestTarget {
  /** The origin-form target (path and query) as the client sent it; bytes >= 0x80 percent-encoded. */
  readonly target: string;
  /** The path as policies match it, or why its meaning is ambiguous. */
  readonly path: NormalisedPath;
}

/**
 * Node decodes header values as latin1, so each char here is one byte the proxy sent. Raw UTF-8
 * in a request line is percent-encoded the way browsers send it (WHATWG URL path percent-encode
 * set), so `/café` and `/caf%C3%A9` reach the path normaliser in one spelling. Anything below
 * 0x21 (controls, space) or DEL has already been refused by the caller.
 */
function encodeHighBytes(value: string): string {
  let encoded = '';
  for (const char of value) {
    const code = char.charCodeAt(0);
    encoded += code >= 0x80 ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : char;
  }
  return encoded;
}

/** True when the string is made of header bytes a URL may contain: no controls, space or DEL. */
export function hasOnlyUrlBytes(value: string): boolean {
  // Chars above 0xFF cannot come from a socket (latin1); they mean the caller mis-decoded.
  return /^[\u0021-\u007E\u0080-\u00FF]*$/.test(value);
}

/**
 * Validates an origin-form request target (RFC 9112 §3.2.1) taken raw from a proxy header and
 * normalises its path. The path comes from the raw string, never from WHATWG `URL`, which
 * resolves dot-segments and re-encodes on its own and would hide exactly the ambiguous input
 * (`/a/%2e%2e/admin`, `/a%2fb`) that decide() must see to deny it (docs/architecture.md, decision semantics 1).
 * @param source where the value came from, for the error message
 */
export function parseRequestTarget(raw: string, source: string): RequestTarget {
  if (raw.length > maxUrlLength) {
    throw malformedRequest(`${source} is longer than ${maxUrlLength} characters`);
  }
  if (!hasOnlyUrlBytes(raw)) {
    throw malformedRequest(`${source} contains a space or a control character`);
  }
  if (!raw.startsWith('/')) {
    throw malformedRequest(`${source} must be a path starting with "/"`);
  }
  const target = encodeHighBytes(raw);
  const query = target.indexOf('?');
  // A `#` is not allowed in a request target (RFC 9112 §3.2). Proxies disagree on it: nginx ends
  // the path there, Go's net/http (Traefik) keeps it as part of the path, Envoy rejects it. A
  // path whose meaning depends on the proxy is denied, never guessed.
  if ((query === -1 ? target : target.slice(0, query)).includes('#')) {
    return { target, path: { ok: false, problem: 'fragment ("#") in the request target' } };
  }
  return { target, path: normalisePath(splitTarget(target).path) };
}
