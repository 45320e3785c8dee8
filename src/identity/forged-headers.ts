import { reservedIdentityHeaderNames } from './reserved-header-names.ts';

/**
 * The spelling-independent form of a header name: lower-case (field names are case-insensitive,
 * RFC 9110 §5.1) and `_` read as `-`.
 *
 * Why `_`: CGI and WSGI (PEP 3333), and frameworks built on them (Django, Flask, Rails via Rack),
 * expose headers as `HTTP_X_AUTH_REQUEST_USER`, mapping `-` and `_` to the same variable. A proxy
 * overwrites `X-Auth-Request-User` but passes `X_Auth_Request_User` untouched (nginx forwards it
 * with `underscores_in_headers on`; Traefik and Caddy forward it by default), and the upstream
 * then reads the client's value as the identity. The same class of gap produced Caddy
 * GHSA-7r4p-vjf4-gxv4 (client identity headers left in place) and Traefik CVE-2024-45410
 * (client-controlled removal of proxy-set headers).
 */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

/**
 * The first header of the client's request that is a copy of an identity header, in any spelling,
 * or null. `knownNames` are the names of every profile (`HeaderProfiles.allHeaderNames`); the
 * reserved ones (`X-Gatehouse-Assertion`, `X-Auth-Request-Impersonator`) are always checked.
 * A request carrying one is answered 403 `forged-identity-header` rather than cleaned, because
 * gatehouse cannot make every proxy strip every spelling.
 * @param headers the check request's headers (the proxies forward the client's headers)
 * @returns the header name as the request spelled it
 */
export function findForgedIdentityHeader(
  headers: Readonly<Record<string, string | undefined>>,
  knownNames: Iterable<string>,
): string | null {
  const known = canonicalNamesOf(knownNames);
  for (const name in headers) {
    if (headers[name] !== undefined && known.has(canonicalHeaderName(name))) return name;
  }
  return null;
}

/** The canonical set per name list, built once: this runs on every check (the hot path). */
const canonicalSets = new WeakMap<object, ReadonlySet<string>>();

function canonicalNamesOf(knownNames: Iterable<string>): ReadonlySet<string> {
  let known = canonicalSets.get(knownNames);
  if (known === undefined) {
    const set = new Set<string>(reservedIdentityHeaderNames);
    for (const name of knownNames) set.add(canonicalHeaderName(name));
    known = set;
    canonicalSets.set(knownNames, known);
  }
  return known;
}
