import * as client from 'openid-client';
import { readClaim } from '../authn/claim-mapping.ts';
import type { LoginStateStore } from '../sessions/login-state-store.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import { issueTicket, parseTicket, sessionKeyOf } from '../sessions/ticket.ts';
import { cookieValues, serializeCookie } from '../cookies.ts';
import { isWellFormedToken, openLoginState } from './login-state.ts';
import type { DiscoveredProvider } from './provider-registry.ts';
import { describeError } from './describe-error.ts';
import { destinationOf } from './destination.ts';
import { sessionIdentityFromClaims, warnIfUserIsSubject } from './session-identity.ts';
import { signInPaths, type SignInOptions } from './sign-in-options.ts';

/**
 * Completing a sign-in (`/oauth2/callback`): the provider's answer is accepted only with the state
 * this browser started (taken once), and openid-client checks the rest: `state`, the `iss`
 * response parameter (RFC 9207) when advertised, PKCE at the token endpoint, and the ID token's
 * signature, `iss`, `aud`, `exp`, `iat` and `nonce` (OpenID Connect Core §3.1.3.7).
 *
 * Every login ends with a NEW session under a NEW ticket, and any session the browser arrived
 * with is ended, so a cookie planted before the login never becomes a signed-in session (session
 * fixation, OWASP Session Management Cheat Sheet "Renew the Session ID After Any Privilege Level
 * Change").
 */
export interface CallbackInput {
  /** The callback's query string, without `?`. */
  readonly query: string;
  readonly cookieHeader: string | undefined;
  readonly requestId: string;
}

export type CallbackFailure =
  | 'provider-error'
  | 'access-denied'
  | 'state-missing'
  | 'state-expired'
  | 'other-browser'
  | 'provider-not-ready'
  | 'token-rejected'
  | 'id-token-invalid'
  | 'provider-unreachable';

export type CallbackOutcome =
  | {
      readonly kind: 'redirect';
      readonly location: string;
      /** The session cookie, then the login binding's expiry. */
      readonly setCookie: readonly [string, string];
    }
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly reason: CallbackFailure;
      readonly title: string;
      readonly message: string;
      /** Where "start again" leads (carries the original `rd` when known). */
      readonly retryHref: string;
    };

export async function completeLogin(
  options: SignInOptions<SessionStore & LoginStateStore>,
  input: CallbackInput,
): Promise<CallbackOutcome> {
  const paths = signInPaths(options);
  const { logger, metrics, store } = options;
  const params = new URLSearchParams(input.query);
  const stateKey = params.get('state') ?? '';
  const startHref = (rd?: string): string =>
    `${paths.prefix}/start${rd === undefined ? '' : `?${new URLSearchParams({ rd }).toString()}`}`;
  const fail = (
    status: number,
    reason: CallbackFailure,
    provider: string,
    title: string,
    message: string,
    rd?: string,
  ): CallbackOutcome => {
    metrics.logins.inc({ provider, stage: 'failed', reason });
    options.audit.record({
      event: 'login',
      requestId: input.requestId,
      result: 'failure',
      provider,
      reason,
    });
    logger.info({ requestId: input.requestId, provider, reason }, 'sign-in failed');
    return { kind: 'error', status, reason, title, message, retryHref: startHref(rd) };
  };

  // Take the state first, whatever the outcome: it can be used once (invariant 5).
  const stored = isWellFormedToken(stateKey) ? await store.takeLoginState(stateKey) : null;
  // Only the cookie of the current name binds: over https that is the `__Host-` one, which a
  // sibling subdomain cannot plant (sign-in-options.ts), so a tossed plain cookie is ignored.
  const bindings = cookieValues(input.cookieHeader, paths.loginCookie.name).filter(
    isWellFormedToken,
  );
  const opened = stored === null ? null : openLoginState(stored, stateKey, bindings);
  const known = opened?.ok === true ? opened.state : undefined;
  const providerLabel = known?.provider ?? 'unknown';

  const providerError = params.get('error');
  if (providerError !== null) {
    // RFC 6749 §4.1.2.1: the user declined, or the provider could not serve the request. The
    // description is the provider's text: it is escaped on the page, never trusted as HTML.
    const denied = providerError === 'access_denied';
    const description = params.get('error_description')?.slice(0, 300);
    return fail(
      denied ? 403 : 400,
      denied ? 'access-denied' : 'provider-error',
      providerLabel,
      denied ? 'Sign-in was cancelled' : 'Sign-in failed',
      denied
        ? 'The sign-in provider did not grant access. You can start again.'
        : `The sign-in provider reported an error (${providerError.slice(0, 64)})${description === undefined ? '' : `: ${description}`}.`,
      known?.rd,
    );
  }
  if (stateKey === '' || params.get('code') === null) {
    return fail(
      400,
      'state-missing',
      providerLabel,
      'Sign-in link incomplete',
      'This sign-in link is incomplete. Please start again.',
    );
  }
  if (stored === null || opened === null) {
    return fail(
      400,
      'state-expired',
      providerLabel,
      'Sign-in link expired',
      'This sign-in link has expired or was already used. Please start again.',
    );
  }
  if (!opened.ok) {
    // The state exists but this browser did not start it: a login CSRF attempt, or a link
    // opened in another browser (RFC 9700 §4.7.1).
    return fail(
      403,
      'other-browser',
      providerLabel,
      'Sign-in started elsewhere',
      'This sign-in was started in another browser or tab session. Please start again here.',
    );
  }
  const state = opened.state;
  const provider = options.providers.get(state.provider);
  if (provider === null) {
    return fail(
      503,
      'provider-not-ready',
      state.provider,
      'Sign-in is not available',
      'The sign-in provider cannot be reached right now. Please try again.',
      state.rd,
    );
  }

  // openid-client takes `redirect_uri` for the token request from this URL, so it is rebuilt
  // from the configured public URL rather than from request headers.
  const currentUrl = new URL(paths.callbackUrl);
  currentUrl.search = input.query;
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(provider.config, currentUrl, {
      pkceCodeVerifier: state.codeVerifier,
      expectedState: stateKey,
      expectedNonce: state.nonce,
      idTokenExpected: true,
    });
  } catch (error: unknown) {
    const failure = classifyGrantError(error);
    logger.info(
      { requestId: input.requestId, provider: state.provider, err: describeError(error) },
      'sign-in: code exchange failed',
    );
    return failure === 'provider-unreachable'
      ? fail(
          502,
          failure,
          state.provider,
          'Sign-in provider unavailable',
          'The sign-in provider could not be reached to complete the sign-in. Please try again.',
          state.rd,
        )
      : fail(
          400,
          failure,
          state.provider,
          'Sign-in could not be completed',
          'The sign-in could not be verified. Please start again.',
          state.rd,
        );
  }

  const idClaims = tokens.claims();
  if (idClaims === undefined) {
    return fail(
      400,
      'id-token-invalid',
      state.provider,
      'Sign-in could not be completed',
      'The sign-in provider sent no ID token. Please start again.',
      state.rd,
    );
  }
  const claims = await withUserinfo(
    options,
    provider,
    tokens.access_token,
    idClaims,
    input.requestId,
  );
  const now = options.now();
  warnIfUserIsSubject(logger, provider.options, claims);

  // Session fixation: whatever session this browser came with ends here.
  for (const value of cookieValues(input.cookieHeader, options.cookie.name)) {
    const old = parseTicket(value);
    if (old !== null) await store.delete(sessionKeyOf(old.id));
  }
  const ticket = issueTicket(options.random === undefined ? {} : { randomBytes: options.random });
  const sid = typeof idClaims.sid === 'string' && idClaims.sid !== '' ? idClaims.sid : undefined;
  const session = await store.create(
    {
      provider: state.provider,
      subject: idClaims.sub,
      identity: sessionIdentityFromClaims(claims, provider.options.claims, idClaims.sub, {
        allowUnverifiedEmail: provider.options.allowUnverifiedEmail,
      }),
      tokens: {
        accessToken: tokens.access_token,
        ...(tokens.refresh_token === undefined ? {} : { refreshToken: tokens.refresh_token }),
        ...(tokens.id_token === undefined ? {} : { idToken: tokens.id_token }),
        ...(tokens.expires_in === undefined
          ? {}
          : { accessTokenExpiresAt: now + tokens.expires_in * 1000 }),
      },
      ...(sid === undefined ? {} : { oidcSid: sid }),
    },
    ticket,
  );
  metrics.logins.inc({ provider: state.provider, stage: 'completed', reason: '' });
  options.audit.record({
    event: 'login',
    requestId: input.requestId,
    result: 'success',
    provider: state.provider,
    user: session.identity.user,
    sessionId: session.key,
  });
  logger.info(
    {
      requestId: input.requestId,
      provider: state.provider,
      sessionKey: session.key,
      user: session.identity.user,
    },
    'signed in',
  );

  // Re-checked: the allowed domains may have changed while the user was at the provider.
  const location = destinationOf(options, state.rd, 'sign-in', input.requestId);
  return {
    kind: 'redirect',
    location,
    setCookie: [
      serializeCookie(options.cookie.name, ticket.text, {
        path: '/',
        domain: options.cookie.domain,
        maxAge: Math.floor((session.absoluteExpiresAt - now) / 1000),
        secure: options.cookie.secure,
        sameSite: options.cookie.sameSite,
      }),
      // The binding has done its work: expire it with the attributes it was set with (a cookie
      // is replaced only by one of the same name, domain and path; RFC 6265bis §5.7 step 23).
      // Only after a completed sign-in: a failed callback may be an attacker's link, and must
      // not disturb the sign-in this browser has under way.
      serializeCookie(paths.loginCookie.name, '', {
        path: paths.loginCookie.path,
        maxAge: 0,
        secure: paths.loginCookie.secure,
        sameSite: 'lax',
      }),
    ],
  };
}

/**
 * Some providers keep groups out of the ID token (OpenID Connect Core §5.4 puts scope claims in
 * userinfo when an access token is issued); fetch them from userinfo then. The ID token's claims
 * win, and a userinfo failure only costs the extra claims.
 */
async function withUserinfo(
  options: SignInOptions<unknown>,
  provider: DiscoveredProvider,
  accessToken: string,
  idClaims: client.IDToken,
  requestId: string,
): Promise<Record<string, unknown>> {
  const claims: Record<string, unknown> = { ...idClaims };
  if (
    readClaim(claims, provider.options.claims.groups) !== undefined ||
    provider.config.serverMetadata().userinfo_endpoint === undefined
  ) {
    return claims;
  }
  try {
    const userinfo = await client.fetchUserInfo(provider.config, accessToken, idClaims.sub);
    return { ...userinfo, ...claims };
  } catch (error: unknown) {
    options.logger.warn(
      { requestId, provider: provider.options.name, err: describeError(error) },
      'sign-in: userinfo request failed; continuing with the ID token claims',
    );
    return claims;
  }
}

/** Which of the provider's failures is the user's (400) and which is the provider's (502). */
export function classifyGrantError(
  error: unknown,
): 'token-rejected' | 'id-token-invalid' | 'provider-unreachable' {
  if (error instanceof client.ResponseBodyError) {
    return error.status >= 500 ? 'provider-unreachable' : 'token-rejected';
  }
  if (error instanceof client.AuthorizationResponseError) return 'token-rejected';
  if (error instanceof client.ClientError) {
    const unreachable = new Set([
      'OAUTH_RESPONSE_IS_NOT_CONFORM',
      'OAUTH_RESPONSE_IS_NOT_JSON',
      'OAUTH_HTTP_REQUEST_FORBIDDEN',
    ]);
    return error.code !== undefined && unreachable.has(error.code)
      ? 'provider-unreachable'
      : 'id-token-invalid';
  }
  // fetch's TypeError ("fetch failed"), timeouts (DOMException TimeoutError/AbortError).
  return 'provider-unreachable';
}
