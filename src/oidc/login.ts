import * as client from 'openid-client';
import type { LoginStateStore } from '../sessions/login-state-store.ts';
import { cookieValues, serializeCookie } from '../cookies.ts';
import { isWellFormedToken, randomToken, sealLoginState, type LoginState } from './login-state.ts';
import { destinationOf } from './destination.ts';
import { signInOriginElsewhere } from './sign-in-origins.ts';
import { rateLimitClientOf } from './sign-in-limits.ts';
import { defaultSignInLimits, signInPaths, type SignInOptions } from './sign-in-options.ts';
import { definedFields } from '../defined-fields.ts';
import {
  parseStepUpParams,
  stepUpQuery,
  stepUpRequestFor,
  type StepUpParams,
  type StepUpSignInOptions,
} from './step-up.ts';

/**
 * Starting a sign-in (`/oauth2/start`): authorization code flow with PKCE S256, `state` and
 * `nonce` (OpenID Connect Core §3.1.2.1; RFC 9700 §2.1.1 requires PKCE even for confidential
 * clients), the state stored once under a random key and bound to this browser (login-state.ts).
 */
export interface StartInput {
  readonly rd: string | undefined;
  readonly provider: string | undefined;
  /**
   * An e-mail address typed on the chooser (home-realm discovery): its domain picks the provider
   * whose `domains` list it, and it is passed on as `login_hint`.
   */
  readonly loginHint?: string | undefined;
  readonly cookieHeader: string | undefined;
  readonly requestId: string;
  /**
   * The client's address as the trusted proxies report it (ProxyTrust.clientAddress); absent:
   * the per-client rate limit does not apply.
   */
  readonly clientAddress?: string | undefined;
  /**
   * Step-up (issue #19): `max_age`, `acr_values` and `prompt` of the start link, passed on to the
   * provider once validated (oidc/step-up.ts). A request only: the rule is judged again after.
   */
  readonly stepUp?: StepUpParams | undefined;
}

/** Why a start was refused before any login state was stored (`gatehouse_sign_in_refusals_total`). */
export type StartRefusal = 'client-rate' | 'pending-cap';

export interface ProviderChoice {
  readonly name: string;
  readonly displayName: string;
  /** Relative link to start with this provider, carrying the validated `rd`. */
  readonly href: string;
}

export type StartOutcome =
  | {
      readonly kind: 'choose';
      readonly providers: readonly ProviderChoice[];
      /**
       * Home-realm discovery is offered (some provider lists `domains`): the chooser takes an
       * e-mail address, sent back to `<prefix>/start` with this `rd`.
       */
      readonly discovery?:
        | {
            readonly rd: string;
            readonly loginHint: string;
            readonly stepUp?: readonly (readonly [string, string])[];
          }
        | undefined;
      /** Why the chooser is shown again (an address no provider claims). */
      readonly notice?: string | undefined;
    }
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
      /** For a 429: when to come back (`Retry-After`, RFC 9110 §10.2.3; RFC 6585 §4). */
      readonly retryAfterSeconds?: number;
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

export async function startLogin(
  options: SignInOptions<LoginStateStore> & StepUpSignInOptions,
  input: StartInput,
): Promise<StartOutcome> {
  const paths = signInPaths(options);
  const { logger, metrics, providers } = options;
  const target = { url: destinationOf(options, input.rd, 'sign-in', input.requestId) };
  const parsedStepUp = parseStepUpParams(input.stepUp ?? {});
  if (!parsedStepUp.ok) {
    return {
      kind: 'error',
      status: 400,
      title: 'Malformed sign-in link',
      message: `This sign-in link asks for something gatehouse cannot pass on (${parsedStepUp.problem}). Please start again from the address itself.`,
    };
  }
  // The destination's own rule, when known, over what the link asks: it is what the check will
  // judge. Kept on every link onwards (another sign-in origin, the chooser).
  const required = options.stepUpFor?.(target.url);
  const stepUp = stepUpQuery(
    required === undefined ? parsedStepUp.request : stepUpRequestFor(required),
  );

  // Several cookie domains: a session for the destination can only be set from the sign-in host
  // inside its domain (RFC 6265 §5.3 step 6), so the sign-in moves there, with the validated
  // destination and the person's choices (sign-in-origins.ts). Nothing is stored here.
  const elsewhere = signInOriginElsewhere(options, target.url);
  if (elsewhere !== undefined) {
    const query = new URLSearchParams({ rd: target.url });
    if (input.provider !== undefined && input.provider !== '') {
      query.set('provider', input.provider);
    }
    if (input.loginHint !== undefined) query.set('login_hint', input.loginHint.slice(0, 254));
    for (const [name, value] of stepUp) query.set(name, value);
    return {
      kind: 'redirect',
      location: `${elsewhere.publicUrl}${paths.prefix}/start?${query.toString()}`,
    };
  }

  // Sign-in per organisation: only the providers the destination's policy allows.
  const allowed = options.allowedProviders?.(target.url);
  const offered = providers
    .enabled()
    .filter((provider) => allowed === undefined || allowed.includes(provider.name));
  if (allowed !== undefined && offered.length === 0) {
    return {
      kind: 'error',
      status: 403,
      title: 'No sign-in for this address',
      message:
        'None of the sign-in providers allowed for this address is available here. Please tell whoever gave you the link.',
    };
  }
  const loginHint = loginHintOf(input.loginHint);
  let providerName = input.provider;
  if (providerName === undefined || providerName === '') {
    // Home-realm discovery: the address's domain names the organisation's provider.
    const realm = loginHint === undefined ? undefined : providerForAddress(offered, loginHint);
    if (realm !== undefined) {
      providerName = realm.name;
    } else if (offered.length > 1 || input.loginHint !== undefined) {
      const discovery = offered.some((provider) => (provider.domains ?? []).length > 0);
      return {
        kind: 'choose',
        providers: offered.map((provider) => ({
          name: provider.name,
          displayName: provider.displayName ?? provider.name,
          href: `${paths.prefix}/start?${new URLSearchParams([['provider', provider.name], ['rd', target.url], ...stepUp]).toString()}`,
        })),
        ...(discovery
          ? {
              discovery: {
                rd: target.url,
                loginHint: input.loginHint?.slice(0, 254) ?? '',
                ...(stepUp.length === 0 ? {} : { stepUp }),
              },
            }
          : {}),
        ...(input.loginHint === undefined
          ? stepUp.length === 0
            ? {}
            : { notice: stepUpNotice }
          : {
              notice:
                loginHint === undefined
                  ? 'That is not an e-mail address. Enter yours, or choose how to sign in.'
                  : `No organisation here signs in with addresses at ${domainOf(loginHint)}. Choose how to sign in.`,
            }),
      };
    } else {
      providerName = offered[0]?.name;
    }
  }
  if (providerName === undefined || !providers.has(providerName)) {
    return {
      kind: 'error',
      status: 400,
      title: 'Unknown sign-in provider',
      message: 'The sign-in provider in this link is not offered here.',
    };
  }
  if (!offered.some((provider) => provider.name === providerName)) {
    return {
      kind: 'error',
      status: 403,
      title: 'Sign-in provider not allowed here',
      message: `This address accepts sign-in with ${offered
        .map((provider) => provider.displayName ?? provider.name)
        .join(', ')} only. Please start again from the address itself.`,
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

  // Every start below stores a login state for minutes: bound them per client and in total
  // (OWASP ASVS 5.0 V2.4.1 anti-automation; CWE-770), before anything is written.
  const limits = options.signInLimits ?? defaultSignInLimits;
  const refuse = (reason: StartRefusal, retryAfterMs: number): StartOutcome => {
    const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    metrics.signInRefusals.inc({ reason });
    const clientRate = reason === 'client-rate';
    const fields = {
      requestId: input.requestId,
      reason,
      client: input.clientAddress,
      retryAfterSeconds,
    };
    if (clientRate) {
      logger.info(
        fields,
        'sign-in refused: this client started too many sign-ins (signIn.clientRateLimit; if every user shares one address, put the ingress in trustedProxies)',
      );
    } else {
      // Everyone is refused now: the operator must hear of it.
      logger.warn(fields, 'sign-in refused: too many sign-ins pending (signIn.maxPending)');
    }
    return {
      kind: 'error',
      status: 429,
      title: clientRate ? 'Too many sign-in attempts' : 'Too many sign-ins in progress',
      message: clientRate
        ? `Too many sign-ins were started from your network in a short time. Please wait ${String(retryAfterSeconds)} seconds, then start again.`
        : `Too many sign-ins are in progress right now. Please wait ${String(retryAfterSeconds)} seconds, then start again.`,
      retryAfterSeconds,
    };
  };
  const rateClient =
    limits.clientRateLimit > 0 && input.clientAddress !== undefined
      ? rateLimitClientOf(input.clientAddress)
      : null;
  if (rateClient !== null) {
    const started = await options.store.countSignInStart(rateClient, limits.clientRateWindowMs);
    if (started.count > limits.clientRateLimit) return refuse('client-rate', started.resetInMs);
  }

  const cookie = paths.loginCookie;
  const existing = cookieValues(input.cookieHeader, cookie.name).find(isWellFormedToken);
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
    ...definedFields({ maxAge: maxAgeOf(stepUp) }),
  };
  const put = await options.store.putLoginState(
    stateKey,
    sealLoginState(state, stateKey, binding, options.random),
    options.loginStateTtlMs,
    { maxPending: limits.maxPending },
  );
  if (!put.stored) return refuse('pending-cap', put.retryAfterMs);

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
    // OpenID Connect Core §3.1.2.1: a hint the provider may use to fill in the login form.
    ...definedFields({ login_hint: loginHint }),
    // Step-up (issue #19; OpenID Connect Core §3.1.2.1): `max_age`, `acr_values`, `prompt=login`,
    // over any configured `authorizationParams` of the same names.
    ...Object.fromEntries(stepUp),
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
          setCookie: serializeCookie(cookie.name, binding, {
            path: cookie.path,
            maxAge: Math.ceil(options.loginStateTtlMs / 1000),
            secure: cookie.secure,
            // Lax: the binding cookie must ride on the top-level GET back from the provider.
            sameSite: 'lax',
          }),
        }
      : {}),
  };
}

/** Why the chooser shows again to someone signed in: a step-up (issue #19). */
const stepUpNotice =
  'This page needs a recent sign-in, or a stronger one (for example with a security key). Please sign in again.';

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address at most 254 characters. */
const maxAddressLength = 254;

/**
 * A typed address fit for discovery and `login_hint`: trimmed, one `@`, no space or control
 * character, a dotted domain; undefined otherwise.
 */
export function loginHintOf(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  if (value === undefined || value === '' || value.length > maxAddressLength) return undefined;
  if (!/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u.test(value)) return undefined;
  return value;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** The offered provider whose `domains` lists the address's domain (exact, case-insensitive). */
export function providerForAddress<P extends { readonly domains?: readonly string[] | undefined }>(
  offered: readonly P[],
  address: string,
): P | undefined {
  const domain = domainOf(address);
  return offered.find((provider) =>
    (provider.domains ?? []).some((listed) => listed.toLowerCase() === domain),
  );
}

/** The `max_age` a step-up asks the provider for, in seconds (oidc/step-up.ts builds it). */
function maxAgeOf(stepUp: readonly (readonly [string, string])[]): number | undefined {
  const value = stepUp.find(([name]) => name === 'max_age')?.[1];
  return value === undefined ? undefined : Number(value);
}
