import { reservedIdentityHeaderNames } from './reserved-header-names.ts';

/**
 * The spelling-independent form of a header name: lower-case (field names are case-insensitive,
 * RFC 9110 §5.1) and every character other than a letter, a digit or `-` read as `-`.
 *
 * Why: CGI (RFC 3875 §4.1.18) and WSGI (PEP 3333), and frameworks built on them (Django, Flask,
 * Rails via Rack), expose headers as `HTTP_X_AUTH_REQUEST_USER`, mapping `-` and `_` (and, in
 * several servers, any other non-alphanumeric token character such as `.`) to the same variable.
 * A proxy overwrites `X-Auth-Request-User` but passes `X_Auth_Request_User` untouched (nginx
 * forwards it with `underscores_in_headers on`; Traefik and Caddy forward it by default), and the
 * upstream then reads the client's value as the identity. The same class of gap produced Caddy
 * GHSA-7r4p-vjf4-gxv4 (client identity headers left in place) and Traefik CVE-2024-45410
 * (client-controlled removal of proxy-set headers).
 */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(nonCanonical, '-');
}

const nonCanonical = /[^a-z0-9-]/g;

/**
 * Headers that only some clients may send: the pre-authentication headers of an SSO front
 * (authn/trusted-headers.ts). From anyone else they are a forgery; from the front they pass,
 * and Envoy is told to remove them before the upstream sees them.
 */
export interface TrustedSenderHeaders {
  /** Lower-case names, in the one spelling the senders use (the shared-secret header included). */
  readonly names: readonly string[];
  /** Canonical prefixes of the same family, e.g. `preauth-`. */
  readonly prefixes: readonly string[];
  /** Whether the request's client address (`AuthRequest.clientIp`) is one of the senders. */
  isTrustedSender(clientIp: string): boolean;
}

/**
 * Header families an upstream trusts as a whole, not only the names gatehouse sends: geOrchestra
 * applications read any `sec-*` header (`sec-proxy: true` says "the security proxy vouches for
 * this request", `sec-orgname`, `sec-userid`, ...) and `imp-*` (`imp-username`, `imp-roles`:
 * an impersonation set up by the security proxy).
 */
export const geOrchestraFamily = 'sec-';
export const impersonationFamily = 'imp-';

/**
 * Names inside the `sec-` family that browsers send themselves: the Fetch standard reserves the
 * `Sec-` prefix for headers scripts cannot set ("forbidden request-header", Fetch §2.2.2), such
 * as Fetch Metadata (`Sec-Fetch-*`), User-Agent Client Hints (`Sec-CH-*`, RFC 8942), WebSocket
 * (`Sec-WebSocket-*`, RFC 6455 §11.3), Global Privacy Control (`Sec-GPC`) and prefetch
 * (`Sec-Purpose`). geOrchestra uses none of these names. They pass only in the browser's own
 * spelling: `sec_fetch_site` is no browser's.
 *
 * A browser feature that ships a new `Sec-` header on every request would be refused until it is
 * listed here; the list is what the browsers sent when this was written (Chromium, Firefox,
 * Safari): keep it in step.
 */
const browserSecPrefixes = [
  'sec-fetch-',
  'sec-ch-',
  'sec-websocket-',
  'sec-private-state-token',
  'sec-shared-storage-',
  'sec-attribution-reporting',
  'sec-session-',
  'sec-secure-session-',
] as const;
const browserSecNames: ReadonlySet<string> = new Set([
  'sec-gpc',
  'sec-purpose',
  'sec-browsing-topics',
  'sec-speculation-tags',
  'sec-ad-auction-fetch',
  'sec-redemption-record',
  'sec-fedcm-csrf',
  'sec-available-dictionary',
  'sec-required-csp',
  'sec-token-binding',
]);

function isBrowserSecHeader(name: string): boolean {
  return browserSecNames.has(name) || browserSecPrefixes.some((prefix) => name.startsWith(prefix));
}

export interface ClientHeaderRules {
  /**
   * Every header gatehouse sets on the upstream request (profile headers, the assertion, the
   * impersonator header, token pass-through headers): a client copy in any spelling is refused.
   * The reserved identity headers are always added.
   */
  readonly upstream: Iterable<string>;
  /**
   * Headers gatehouse may set upstream that are also the client's own credential
   * (`Authorization`, RFC 9110 §11.6.2: a bearer token or Basic credentials the authenticators
   * read). The client's copy in the standard spelling passes (gatehouse's value replaces it where
   * a policy sends one); any other spelling is refused like an identity header.
   */
  readonly clientCredentials?: Iterable<string>;
  /** Canonical prefixes refused as a whole (`sec-`, `imp-`); browsers' `Sec-` headers excepted. */
  readonly families?: Iterable<string>;
  readonly trustedSenders?: readonly TrustedSenderHeaders[];
}

/** The client-header rules of one configuration and policy snapshot, compiled once. */
export interface ClientHeaderGuard {
  /**
   * Lower-case names for Envoy's `x-envoy-auth-headers-to-remove`: every upstream header and
   * every trusted-sender header (not the client credentials: removing `Authorization` would strip
   * the credential of every request). Stable for the guard's life (dialects cache by identity).
   */
  readonly removeNames: readonly string[];
  /**
   * The first header of the request that the client must not send, as the request spelled it,
   * or null. Allocation-free unless a name needs canonicalising; trusted senders are asked
   * about `clientIp` only when one of their headers is present.
   */
  find(headers: Readonly<Record<string, string | undefined>>, clientIp: string): string | null;
}

export function compileClientHeaderGuard(rules: ClientHeaderRules): ClientHeaderGuard {
  const upstream = new Set<string>(reservedIdentityHeaderNames);
  for (const name of rules.upstream) upstream.add(canonicalHeaderName(name));
  const credentials = new Set<string>();
  for (const name of rules.clientCredentials ?? []) {
    const canonical = canonicalHeaderName(name);
    if (!upstream.has(canonical)) credentials.add(canonical);
  }
  const families = [...new Set(rules.families ?? [])].map(canonicalHeaderName);
  const senders = rules.trustedSenders ?? [];
  /** Canonical name → its sender and the one spelling the sender uses. */
  const senderNames = new Map<string, { sender: TrustedSenderHeaders; spelling: string }>();
  for (const sender of senders) {
    for (const name of sender.names) {
      senderNames.set(canonicalHeaderName(name), { sender, spelling: name.toLowerCase() });
    }
  }

  /** The sender owning a header and its accepted spelling, or undefined. */
  const senderOf = (
    canonical: string,
  ): { sender: TrustedSenderHeaders; spelling: string } | undefined => {
    const named = senderNames.get(canonical);
    if (named !== undefined) return named;
    for (const sender of senders) {
      if (sender.prefixes.some((prefix) => canonical.startsWith(prefix))) {
        return { sender, spelling: canonical };
      }
    }
    return undefined;
  };

  const removeNames = Object.freeze([
    ...new Set([...upstream, ...[...senderNames.values()].map(({ spelling }) => spelling)]),
  ]);

  /** What a header name is, whoever sends it; a sender's header also depends on the client. */
  const classify = (name: string): HeaderVerdict => {
    // Node hands over lower-case names already; other callers may not.
    const lower = name.toLowerCase();
    const canonical = lower.replace(nonCanonical, '-');
    if (upstream.has(canonical)) return forgedVerdict;
    if (credentials.has(canonical)) return lower === canonical ? allowedVerdict : forgedVerdict;
    if (senders.length > 0) {
      const owner = senderOf(canonical);
      // Only in the sender's own spelling: an SSO front sets `preauth-username` but passes a
      // client's `preauth_username` on untouched.
      if (owner !== undefined) {
        return lower === owner.spelling ? { kind: 'sender', sender: owner.sender } : forgedVerdict;
      }
    }
    for (const family of families) {
      if (!canonical.startsWith(family)) continue;
      if (family === geOrchestraFamily && lower === canonical && isBrowserSecHeader(lower)) {
        continue;
      }
      return forgedVerdict;
    }
    return allowedVerdict;
  };

  // Every check scans every header name, and a proxy sends the same few dozen names all day:
  // their verdicts are remembered (bounded; a flood of made-up names only clears the memo).
  const verdicts = new Map<string, HeaderVerdict>();

  return Object.freeze({
    removeNames,
    find(headers: Readonly<Record<string, string | undefined>>, clientIp: string): string | null {
      for (const name in headers) {
        if (headers[name] === undefined) continue;
        let verdict = verdicts.get(name);
        if (verdict === undefined) {
          verdict = classify(name);
          if (name.length <= 256) {
            if (verdicts.size >= maxRememberedVerdicts) verdicts.clear();
            verdicts.set(name, verdict);
          }
        }
        if (verdict.kind === 'allowed') continue;
        if (verdict.kind === 'forged' || !verdict.sender.isTrustedSender(clientIp)) return name;
      }
      return null;
    },
  });
}

/**
 * A header name's verdict: a copy of an identity header, a header anyone may send, or a
 * pre-authentication header that only its trusted sender may send (in its own spelling).
 */
type HeaderVerdict =
  | { readonly kind: 'forged' }
  | { readonly kind: 'allowed' }
  | { readonly kind: 'sender'; readonly sender: TrustedSenderHeaders };
const forgedVerdict: HeaderVerdict = Object.freeze({ kind: 'forged' });
const allowedVerdict: HeaderVerdict = Object.freeze({ kind: 'allowed' });
const maxRememberedVerdicts = 1024;

/**
 * The first header of the client's request that is a copy of an identity header, in any spelling,
 * or null. `knownNames` are the names of every profile (`HeaderProfiles.allHeaderNames`); the
 * reserved ones (`X-Gatehouse-Assertion`, `X-Auth-Request-Impersonator`) are always checked.
 * A request carrying one is answered 403 `forged-identity-header` rather than cleaned, because
 * gatehouse cannot make every proxy strip every spelling. The check route uses the fuller
 * `compileClientHeaderGuard` (token headers, families, pre-authentication headers).
 * @param headers the check request's headers (the proxies forward the client's headers)
 * @returns the header name as the request spelled it
 */
export function findForgedIdentityHeader(
  headers: Readonly<Record<string, string | undefined>>,
  knownNames: Iterable<string>,
): string | null {
  return guardOf(knownNames).find(headers, '');
}

/** The guard per name list, built once: this runs on every check (the hot path). */
const guards = new WeakMap<object, ClientHeaderGuard>();

function guardOf(knownNames: Iterable<string>): ClientHeaderGuard {
  let guard = guards.get(knownNames);
  if (guard === undefined) {
    guard = compileClientHeaderGuard({ upstream: knownNames });
    guards.set(knownNames, guard);
  }
  return guard;
}
