import * as client from 'openid-client';
import type { Session } from '../sessions/session.ts';
import { destinationOf } from './destination.ts';
import { signInPaths, type SignInOptions } from './sign-in-options.ts';
import { definedFields } from '../defined-fields.ts';

/**
 * Sign-out: a GET only shows a confirmation form, so a cross-site link or image cannot sign anyone
 * out (logout CSRF); the POST must carry a token bound to the session, `formToken('sign-out', …)`
 * (form-token.ts). It needs no server-side state and no shared configuration key, so any replica
 * can check the form another replica rendered, and it dies with the session.
 */

/**
 * Whether the browser says the POST came from our own page. Both headers are optional (older
 * browsers, privacy tools); when present they must agree (Fetch Metadata, W3C; RFC 6454 Origin).
 */
export function isSameOriginPost(
  headers: { readonly origin?: string | undefined; readonly secFetchSite?: string | undefined },
  publicUrl: string,
): boolean {
  const { origin, secFetchSite } = headers;
  if (secFetchSite !== undefined && secFetchSite !== 'same-origin' && secFetchSite !== 'none') {
    return false;
  }
  // A page served with a strict Referrer-Policy makes browsers send `Origin: null` on its own
  // form posts; that is acceptable only when Fetch Metadata vouches for the same origin.
  if (origin === 'null') return secFetchSite === 'same-origin';
  if (origin !== undefined && origin !== new URL(publicUrl).origin) return false;
  return true;
}

/**
 * Origins a page's sign-out form may end up at: a form POST that redirects to the provider's
 * end_session_endpoint is checked against `form-action` for every hop (CSP Level 3), so the
 * page's policy must name that origin besides 'self'.
 */
export function signOutFormActions(
  options: SignInOptions<unknown>,
  session: Session | null,
): string[] {
  if (session === null) return [];
  const provider = options.providers.get(session.provider);
  if (provider === null || !provider.options.endSession) return [];
  const endpoint = provider.config.serverMetadata().end_session_endpoint;
  const origin = endpoint === undefined ? null : URL.parse(endpoint)?.origin;
  return origin === null || origin === undefined || origin === 'null' ? [] : [origin];
}

/**
 * Where the browser goes after the session ended: the provider's end_session_endpoint (OpenID
 * Connect RP-Initiated Logout 1.0) when the provider is configured for it and advertises one,
 * coming back to `<prefix>/signed-out` with the destination in `state`; otherwise straight to
 * `<prefix>/signed-out?rd=…`.
 */
export function afterSignOutLocation(
  options: SignInOptions<unknown>,
  session: Session | null,
  rawRd: string | undefined,
  requestId = '',
): string {
  const paths = signInPaths(options);
  const target = { url: destinationOf(options, rawRd, 'sign-out', requestId) };
  const signedOut = `${paths.prefix}/signed-out?${new URLSearchParams({ rd: target.url }).toString()}`;
  if (session === null) return signedOut;
  const provider = options.providers.get(session.provider);
  if (
    provider === null ||
    !provider.options.endSession ||
    provider.config.serverMetadata().end_session_endpoint === undefined
  ) {
    return signedOut;
  }
  const idToken = session.tokens.idToken;
  return client.buildEndSessionUrl(provider.config, {
    ...definedFields({ id_token_hint: idToken }),
    post_logout_redirect_uri: paths.signedOutUrl,
    // Validated again when it comes back: state is whatever the browser brings.
    state: target.url,
  }).href;
}
