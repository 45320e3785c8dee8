/**
 * Whether the client is a browser that can follow a redirect to the sign-in page, or an API /
 * XHR client that needs a 401 it can act on. Authelia's convention (handler_authz_util.go,
 * proxy-protocols.md §6): a browser navigation asks for `text/html`, and script requests made
 * through jQuery-style libraries announce themselves with `X-Requested-With: XMLHttpRequest`.
 * A redirect answered to `fetch()` would be followed silently to the identity provider and fail
 * on CORS, so anything that does not look like a navigation gets the 401.
 */
export function acceptsRedirect(headers: Readonly<Record<string, string | undefined>>): boolean {
  const accept = headers.accept;
  if (accept === undefined || !accept.toLowerCase().includes('text/html')) return false;
  const requestedWith = headers['x-requested-with'];
  return requestedWith?.trim().toLowerCase() !== 'xmlhttprequest';
}
