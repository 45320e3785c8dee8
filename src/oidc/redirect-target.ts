/**
 * Where a browser may be sent after sign-in or sign-out (docs/architecture.md security invariant 4). Pure.
 *
 * Open redirects in auth proxies keep coming back through the gap between how a validator reads a
 * URL and how the browser does: oauth2-proxy GHSA-qqxw-m5fj-f7gv (`/\evil.com`), GHSA-4mf2-f3wh-gvf2
 * (`/%09/evil.com`), GHSA-5vf5-3j5p-j7vx (`https://evil.com\@good.com`), CVE-2021-21291
 * (`.good.com` matching `evilgood.com`); Authelia GHSA-36f2-fcrx-fp4j; mod_auth_openidc
 * CVE-2021-32786 / CVE-2019-14857 (`/\t/evil.com`, `/\evil.com`). So the rules are:
 * - anything a browser would "repair" (whitespace, control characters raw or %-encoded,
 *   backslashes) is refused rather than repaired;
 * - absolute targets must spell `http://` or `https://` literally, carry no user information, and
 *   the host read from the raw text must equal the host the WHATWG URL parser reads (the browser's
 *   reading), so IDN, full-width dots, %-escapes and numeric hosts cannot disagree;
 * - the host is compared with the allowed domains on a dot boundary;
 * - relative targets must be a plain path (one `/` then a character other than `/` or `\`, also
 *   after one round of %-decoding) and are resolved against the public URL;
 * - when the public URL is https, an `http://` target is a downgrade and is refused unless
 *   `allowHttp`: the browser would leave a signed-in https flow for a page anyone on the path can
 *   read and rewrite (an SSL-stripping attacker keeps the user on http from there; RFC 6797
 *   §2.3.1.1, OWASP ASVS 5.0 V12.2.1 "TLS for all connectivity").
 */

export interface RedirectPolicy {
  /** `app.example.com` allows that host; `.example.com` allows example.com and its subdomains. */
  readonly allowedDomains: readonly string[];
  /** gatehouse's public URL: relative targets resolve against it, and its host is allowed. */
  readonly publicUrl: string;
  /** Allow `http://` targets although the public URL is https; default false. */
  readonly allowHttp?: boolean | undefined;
}

export type RedirectRefusal =
  | 'empty'
  | 'too-long'
  | 'whitespace-or-control'
  | 'backslash'
  | 'not-http'
  | 'protocol-relative'
  | 'userinfo'
  | 'ambiguous-host'
  | 'domain-not-allowed'
  | 'insecure-scheme'
  | 'malformed';

export type RedirectCheck =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly reason: RedirectRefusal };

/** Longer targets are not links a person followed; refusing them bounds the work. */
const MAX_LENGTH = 4096;
/** Whitespace (ASCII and Unicode), C0/C1 controls, DEL, and the line/paragraph separators. */
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}\p{Cf}\u2028\u2029]/u;
/** %-encoded C0 controls and DEL: a later decoder would turn them into a "repairable" URL. */
const ENCODED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;
/** Literal `http://` / `https://` (any case), then the raw authority, then the rest. */
const ABSOLUTE = /^(https?):\/\/([^/?#]*)([/?#].*)?$/i;
/** Anything that starts like a scheme (`javascript:`, `data:`, `https:evil.com`). */
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

export function validateRedirect(raw: unknown, policy: RedirectPolicy): RedirectCheck {
  if (typeof raw !== 'string' || raw === '') return refuse('empty');
  if (raw.length > MAX_LENGTH) return refuse('too-long');
  if (WHITESPACE_OR_CONTROL.test(raw) || ENCODED_CONTROL.test(raw)) {
    return refuse('whitespace-or-control');
  }
  // WHATWG reads `\` as `/` in http(s) URLs while other parsers do not; there is no reason for
  // one to be in a redirect target, so none is accepted anywhere.
  if (raw.includes('\\')) return refuse('backslash');

  const publicUrl = new URL(policy.publicUrl);
  if (raw.startsWith('/')) return checkRelative(raw, publicUrl);

  const parts = ABSOLUTE.exec(raw);
  if (parts === null) {
    // `https:evil.com` and `https:/evil.com` are http(s) to WHATWG, but not spelled as such.
    return refuse(HAS_SCHEME.test(raw) && !/^https?:/i.test(raw) ? 'not-http' : 'malformed');
  }
  const authority = parts[2] ?? '';
  if (authority.includes('@') || authority.includes('%40')) return refuse('userinfo');
  const url = URL.parse(raw);
  if (url === null) return refuse('malformed');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refuse('not-http');
  if (url.username !== '' || url.password !== '') return refuse('userinfo');
  const rawHost = hostOfAuthority(authority);
  if (rawHost === null || rawHost !== url.hostname) return refuse('ambiguous-host');
  // An empty label (`https://.good.com`, `a..good.com`) names no host DNS can resolve, yet it
  // ends with `.good.com`; found by the redirect property test (test/property/redirect-target.test.ts).
  if (/^\.|\.\./.test(url.hostname)) return refuse('malformed');
  if (!isAllowedHost(url.hostname, policy.allowedDomains, publicUrl.hostname)) {
    return refuse('domain-not-allowed');
  }
  if (url.protocol === 'http:' && publicUrl.protocol === 'https:' && policy.allowHttp !== true) {
    return refuse('insecure-scheme');
  }
  return { ok: true, url: url.href };
}

/** The validated target, or the fallback when the target is absent or refused. */
export function redirectOrDefault(
  raw: unknown,
  policy: RedirectPolicy & { readonly defaultUrl?: string | undefined },
): { readonly url: string; readonly refused?: RedirectRefusal } {
  const fallback = policy.defaultUrl === undefined ? policy.publicUrl : policy.defaultUrl;
  if (raw === undefined || raw === null || raw === '') return { url: fallback };
  const checked = validateRedirect(raw, policy);
  return checked.ok ? { url: checked.url } : { url: fallback, refused: checked.reason };
}

function checkRelative(raw: string, publicUrl: URL): RedirectCheck {
  if (raw !== '/') {
    const second = raw.charAt(1);
    if (second === '/' || second === '\\') return refuse('protocol-relative');
    // `/%2F/evil.com`, `/%5Cevil.com`: one decoding (by an upstream, a framework, a second
    // proxy) turns them into `//evil.com` / `/\evil.com`.
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw.slice(0, 16));
    } catch {
      decoded = raw.slice(0, 16).replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
    }
    if (decoded.startsWith('//') || decoded.startsWith('/\\')) return refuse('protocol-relative');
  }
  const url = URL.parse(raw, publicUrl.href);
  // Defence in depth: whatever the checks above missed, the result must stay on our origin.
  if (url === null || url.origin !== publicUrl.origin) return refuse('protocol-relative');
  return { ok: true, url: url.href };
}

/**
 * The host as written in the raw authority, lower-cased, without the port; null when the port is
 * not plain digits. Compared with WHATWG's `hostname`, any rewriting (IDNA, `。`, `%65`,
 * `0x7f.1`) shows up as a difference.
 */
function hostOfAuthority(authority: string): string | null {
  let host = authority;
  let port = '';
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return null;
    host = authority.slice(0, end + 1);
    port = authority.slice(end + 1);
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      host = authority.slice(0, colon);
      port = authority.slice(colon);
    }
  }
  if (port !== '' && !/^:\d{0,5}$/.test(port)) return null;
  return host.toLowerCase();
}

function isAllowedHost(host: string, allowedDomains: readonly string[], ownHost: string): boolean {
  if (host === ownHost) return true;
  for (const entry of allowedDomains) {
    const domain = entry.toLowerCase().replace(/\.$/, '');
    if (domain.startsWith('.')) {
      const base = domain.slice(1);
      if (base !== '' && (host === base || host.endsWith(domain))) return true;
    } else if (host === domain) {
      return true;
    }
  }
  return false;
}

function refuse(reason: RedirectRefusal): RedirectCheck {
  return { ok: false, reason };
}
