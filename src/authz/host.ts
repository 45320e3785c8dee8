/**
 * Host matching. Policy hosts are exact (`shop.example.com`) or a leading wildcard
 * (`*.example.com`), which matches one or more labels in front of the suffix but never the apex,
 * like Gateway API listener and HTTPRoute hostnames (GEP-1713 / HTTPRoute `hostnames`).
 */

/**
 * The host name a request is matched on: the request host (already lower-cased by the dialect)
 * without `:port` and without one trailing dot — nginx strips it when it validates `Host`
 * (ngx_http_validate_host), so `example.com.` is routed like `example.com` and must be judged
 * like it too.
 */
export function requestHostName(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 0x5b) {
    // IPv6 literal `[::1]:8443` (RFC 3986 §3.2.2): the port follows the closing bracket.
    const close = host.indexOf(']');
    if (close > 0) end = close + 1;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) end = colon;
  }
  if (end > 1 && host.charCodeAt(end - 1) === 0x2e) end--;
  return end === host.length ? host : host.slice(0, end);
}

export function isWildcardHost(pattern: string): boolean {
  return pattern.startsWith('*.');
}

/** `*.example.com` → `example.com`. */
export function wildcardSuffix(pattern: string): string {
  return pattern.slice(2);
}

/** Whether a policy host pattern matches a request host name (for tools and tests; decide() uses the snapshot index). */
export function hostMatches(pattern: string, hostName: string): boolean {
  if (!isWildcardHost(pattern)) return pattern === hostName;
  const suffix = pattern.slice(1); // ".example.com"
  return hostName.length > suffix.length && hostName.endsWith(suffix);
}
