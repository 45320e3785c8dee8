import type { CheckResponse, RespondInputs } from './dialect.ts';

/** Allow: exactly 200 (Envoy treats any other 2xx, e.g. oauth2-proxy's 202, as a deny). */
export function allowResponse(headers: readonly (readonly [string, string])[]): CheckResponse {
  return { status: 200, headers };
}

export function forbiddenResponse(): CheckResponse {
  return { status: 403, headers: [], page: 'forbidden' };
}

/**
 * 401 with the challenge of a rejected credential (RFC 6750 §3) or the challenges of the schemes
 * an anonymous client may use (RFC 9110 §11.6.1), and optionally the sign-in URL
 * in `Location` for proxies that redirect themselves (nginx `auth-signin`, Authelia's
 * `error_page 401 =302 $redir` variant).
 */
export function unauthorizedResponse(inputs: RespondInputs, withLocation: boolean): CheckResponse {
  const headers: (readonly [string, string])[] = [];
  if (withLocation) headers.push(['Location', inputs.signInUrl]);
  if (inputs.challenge !== undefined) headers.push(['WWW-Authenticate', inputs.challenge]);
  // Separate fields rather than one comma-joined value: RFC 9110 §11.6.1 allows both, and
  // browsers and HTTP libraries parse one challenge per field far more reliably.
  for (const challenge of inputs.challenges ?? []) headers.push(['WWW-Authenticate', challenge]);
  return { status: 401, headers, page: 'unauthenticated' };
}

/**
 * Redirect a browser to sign in. 302 for GET/HEAD; 303 for other methods, so the browser
 * follows with a GET and never re-posts a form body to the identity provider (RFC 9110
 * §15.4.4; Authelia does the same). The URL is absolute because Traefik resolves a relative
 * `Location` against the auth service's own address.
 */
export function signInRedirect(method: string, signInUrl: string): CheckResponse {
  const status = method === 'GET' || method === 'HEAD' ? 302 : 303;
  return { status, headers: [['Location', signInUrl]] };
}
