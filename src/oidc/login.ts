import * as client from 'openid-client';
import { cookieValues, serializeCookie } from './cookies.ts';
import { isWellFormedToken, randomToken, sealLoginState, type LoginState } from './login-state.ts';
import { redirectOrDefault } from './redirect-target.ts';
import { signInPaths, type SignInOptions } from './sign-in-options.ts';

/**
 * Starting a sign-in (`/oauth2/start`): authorization code flow with PKCE S256, `state` and
 * `nonce` (OpenID Connect Core §3.1.2.1; RFC 9700 §2.1.1 requires PKCE even for confidential
 * clients), the state stored once under a random key and bound to this browser (login-state.ts).
 */
export interface StartInput {
  readonly rd: string | undefined;
  readonly provider: string | undefined;
  readonly cookieHeader: string | undefined;
  readonly requestId: string;
}

export interface ProviderChoice {
  readonly name: string;
  readonly displayName: string;
  /** Relative link to start with this provider, carrying the validated `rd`. */
  readonly href: string;
}

export type StartOutcome =
  | { readonly kind: 'choose'; readonly providers: readonly ProviderChoice[] }
  | {
      readonly kind: 'redirect';
      readonly location: string;
      /** The new binding cookie; absent when the browser's existing one is reused. */
      readonly setCookie?: string;
    }
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly title: string;
      readonly message: string;
    };

/** Parameters gatehouse sets itself; configured `authorizationParams` cannot override them. */
const PROTECTED_PARAMS = new Set([
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
  'request_uri',
]);

export async function startLogin(options: SignInOptions, input: StartInput): Promise<StartOutcome> {
  const paths = signInPaths(options);
  const { logger, metrics, providers } = options;
  const target = redirectOrDefault(input.rd, {
    allowedDomains: options.allowedRedirectDomains,
    publicUrl: options.publicUrl,
    defaultUrl: options.defaultRedirectUrl,
  });
  if (target.refused !== undefined) {
    logger.info(
      { requestId: input.requestId, reason: target.refused },
      'sign-in: refused redirect target, using the default',
    );
  }

  const enabled = providers.enabled();
  let providerName = input.provider;
  if (providerName === undefined || providerName === '') {
    if (enabled.length > 1) {
      return {
        kind: 'choose',
        providers: enabled.map((provider) => ({
          name: provider.name,
          displayName: provider.displayName === '' ? provider.name : provider.displayName,
          href: `${paths.prefix}/start?${new URLSearchParams({ provider: provider.name, rd: target.url }).toString()}`,
        })),
      };
    }
    providerName = enabled[0]?.name;
  }
  if (providerName === undefined || !providers.has(providerName)) {
    return {
      kind: 'error',
      status: 400,
      title: 'Unknown sign-in provider',
      message: 'The sign-in provider in this link is not offered here.',
    };
  }
  const provider = providers.get(providerName);
  if (provider === null) {
    metrics.logins.inc({ provider: providerName, stage: 'failed', reason: 'provider-not-ready' });
    return {
      kind: 'error',
      status: 503,
      title: 'Sign-in is not available yet',
      message: 'The sign-in provider cannot be reached right now. Please try again in a moment.',
    };
  }

  const existing = cookieValues(input.cookieHeader, paths.loginCookieName).find(isWellFormedToken);
  const binding = existing ?? randomToken(options.random);
  const stateKey = randomToken(options.random);
  const codeVerifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state: LoginState = {
    provider: provider.options.name,
    codeVerifier,
    nonce,
    rd: target.url,
    createdAt: options.now(),
  };
  await options.store.putLoginState(
    stateKey,
    sealLoginState(state, stateKey, binding, options.random),
    options.loginStateTtlMs,
  );

  const extra = Object.entries(provider.options.authorizationParams).filter(
    ([name]) => !PROTECTED_PARAMS.has(name),
  );
  const location = client.buildAuthorizationUrl(provider.config, {
    ...Object.fromEntries(extra),
    redirect_uri: paths.callbackUrl,
    response_type: 'code',
    scope: provider.options.scopes.join(' '),
    state: stateKey,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  metrics.logins.inc({ provider: provider.options.name, stage: 'started', reason: '' });
  logger.debug(
    {
      requestId: input.requestId,
      provider: provider.options.name,
      reusedBinding: existing !== undefined,
    },
    'sign-in started',
  );

  return {
    kind: 'redirect',
    location: location.href,
    ...(existing === undefined
      ? {
          setCookie: serializeCookie(paths.loginCookieName, binding, {
            path: paths.prefix,
            maxAge: Math.ceil(options.loginStateTtlMs / 1000),
            secure: options.cookie.secure,
            // Lax: the binding cookie must ride on the top-level GET back from the provider.
            sameSite: 'lax',
          }),
        }
      : {}),
  };
}
