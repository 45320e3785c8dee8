import * as client from 'openid-client';
import { readClaim } from '../authn/claim-mapping.ts';
import type { LoginState } from './login-state.ts';
import type { DiscoveredProvider } from './provider-registry.ts';
import { describeError } from './describe-error.ts';
import type { SignInOptions } from './sign-in-options.ts';
import { definedFields } from '../defined-fields.ts';

/**
 * The callback's conversations with the provider: the authorization code for tokens (RFC 6749
 * §4.1.3, with the PKCE verifier, RFC 7636 §4.5) and, when the ID token lacks the groups,
 * userinfo (OpenID Connect Core §5.3). openid-client checks the response: `state`, the `iss`
 * response parameter (RFC 9207) when advertised, and the ID token's signature, `iss`, `aud`,
 * `exp`, `iat` and `nonce` (OpenID Connect Core §3.1.3.7).
 */
export type TokenResponse = Awaited<ReturnType<typeof client.authorizationCodeGrant>>;

/** Why a code exchange failed: the user's link (400) or the provider (502). */
export type CodeExchangeFailure = 'token-rejected' | 'id-token-invalid' | 'provider-unreachable';

export type CodeExchange =
  | { readonly ok: true; readonly tokens: TokenResponse; readonly idClaims: client.IDToken }
  | { readonly ok: false; readonly failure: CodeExchangeFailure };

export async function exchangeCode(
  options: Pick<SignInOptions<unknown>, 'logger'>,
  provider: DiscoveredProvider,
  login: { readonly state: LoginState; readonly stateKey: string },
  /** The callback URL as the provider called it: `redirect_uri` is taken from it. */
  callbackUrl: URL,
  requestId: string,
): Promise<CodeExchange> {
  let tokens: TokenResponse;
  try {
    tokens = await client.authorizationCodeGrant(provider.config, callbackUrl, {
      pkceCodeVerifier: login.state.codeVerifier,
      expectedState: login.stateKey,
      expectedNonce: login.state.nonce,
      idTokenExpected: true,
      // Step-up: openid-client refuses an ID token without `auth_time`, or one older than this
      // (OpenID Connect Core §3.1.3.7 item 13), so "sign in again" cannot be answered with the
      // provider's old session.
      ...definedFields({ maxAge: login.state.maxAge }),
    });
  } catch (error: unknown) {
    options.logger.info(
      { requestId, provider: login.state.provider, err: describeError(error) },
      'sign-in: code exchange failed',
    );
    return { ok: false, failure: classifyGrantError(error) };
  }
  // `idTokenExpected` makes openid-client refuse a response without one; checked again, since a
  // session is never made without the claims an ID token vouches for.
  const idClaims = tokens.claims();
  if (idClaims === undefined) {
    options.logger.info(
      { requestId, provider: login.state.provider },
      'sign-in: the token response carried no ID token',
    );
    return { ok: false, failure: 'id-token-invalid' };
  }
  return { ok: true, tokens, idClaims };
}

/**
 * Some providers keep groups out of the ID token (OpenID Connect Core §5.4 puts scope claims in
 * userinfo when an access token is issued); fetch them from userinfo then. The ID token's claims
 * win, and a userinfo failure only costs the extra claims.
 */
export async function withUserinfo(
  options: Pick<SignInOptions<unknown>, 'logger'>,
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
export function classifyGrantError(error: unknown): CodeExchangeFailure {
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
