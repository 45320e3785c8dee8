import type { IDToken } from 'openid-client';
import type { LoginStateStore } from '../sessions/login-state-store.ts';
import type { NewSession, Session, SessionIdentity } from '../sessions/session.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import { issueTicket, parseTicket, sessionKeyOf, type IssuedTicket } from '../sessions/ticket.ts';
import { cookieValues, serializeCookie } from '../cookies.ts';
import { exchangeCode, withUserinfo, type CodeExchangeFailure } from './code-exchange.ts';
import { isWellFormedToken, openLoginState, type LoginState } from './login-state.ts';
import type { DiscoveredProvider } from './provider-registry.ts';
import { destinationOf } from './destination.ts';
import { sessionIdentityFromClaims, warnIfUserIsSubject } from './session-identity.ts';
import { signInPaths, type SignInOptions } from './sign-in-options.ts';
import { definedFields } from '../defined-fields.ts';
import { authenticationFactsOf } from '../authz/step-up.ts';

/**
 * Completing a sign-in (`/oauth2/callback`), as named steps: (1) take the login state this
 * browser started, once; (2) read the provider's answer against it; (3) find the provider;
 * (4) exchange the code and check the ID token (code-exchange.ts); (5) map the claims onto an
 * identity; (6) create the session; (7) choose the destination. Each step returns its result or
 * a typed failure; nothing here speaks to people: http/sign-in/pages.ts turns a
 * `CallbackFailure` into a page (issue #21: oidc/ drives the flows, http/ only adapts them).
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
  /**
   * The browser's `User-Agent`, of which the store keeps only a device summary ("Firefox on
   * Linux", sessions/user-agent-summary.ts) for the portal's and the operator's session lists.
   */
  readonly userAgent?: string | undefined;
}

/** Why a callback failed: the `reason` of `gatehouse_logins_total{stage="failed"}` and the audit line. */
export type CallbackFailure =
  | 'provider-error'
  | 'access-denied'
  | 'state-missing'
  | 'state-expired'
  | 'other-browser'
  | 'provider-not-ready'
  | CodeExchangeFailure;

/** RFC 6749 §4.1.2.1: the error the provider sent back instead of a code; its own text. */
export interface ProviderErrorAnswer {
  /** At most 64 characters. */
  readonly code: string;
  /** `error_description`, at most 300 characters; shown escaped, never trusted as HTML. */
  readonly description?: string | undefined;
}

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
      /** Set for `provider-error`. */
      readonly providerError?: ProviderErrorAnswer | undefined;
      /** Where "start again" leads (carries the original `rd` when known). */
      readonly retryHref: string;
    };

/** A step's failure, before it is counted, audited and logged. */
interface StepFailure {
  readonly failed: CallbackFailure;
  /** The provider label for metrics and the audit trail (`unknown` before the state is open). */
  readonly provider: string;
  /** The original destination, when the login state is known: "start again" keeps it. */
  readonly rd?: string | undefined;
  readonly providerError?: ProviderErrorAnswer | undefined;
}

/** The HTTP status of each failure: the user's link (4xx) or the provider's side (5xx). */
export const callbackFailureStatus: Readonly<Record<CallbackFailure, number>> = {
  'provider-error': 400,
  'access-denied': 403,
  'state-missing': 400,
  'state-expired': 400,
  // A login CSRF attempt, or a link opened in another browser (RFC 9700 §4.7.1).
  'other-browser': 403,
  'provider-not-ready': 503,
  'token-rejected': 400,
  'id-token-invalid': 400,
  'provider-unreachable': 502,
};

export async function completeLogin(
  options: SignInOptions<SessionStore & LoginStateStore>,
  input: CallbackInput,
): Promise<CallbackOutcome> {
  const params = new URLSearchParams(input.query);
  const taken = await takeLoginState(options, params, input.cookieHeader);
  const login = verifyLoginState(params, taken);
  if ('failed' in login) return failure(options, input, login);
  const provider = providerOf(options, login.state);
  if ('failed' in provider) return failure(options, input, provider);

  // openid-client takes `redirect_uri` for the token request from this URL, so it is rebuilt
  // from the configured public URL rather than from request headers. With several cookie
  // domains that is the URL of the sign-in origin the request's Host selected among the
  // configured ones (sign-in-origins.ts), the origin the sign-in started on: the host-only
  // binding cookie opens the login state on no other host.
  const callbackUrl = new URL(signInPaths(options).callbackUrl);
  callbackUrl.search = input.query;
  // Step 4.
  const exchanged = await exchangeCode(options, provider, login, callbackUrl, input.requestId);
  if (!exchanged.ok) {
    return failure(options, input, {
      failed: exchanged.failure,
      provider: login.state.provider,
      rd: login.state.rd,
    });
  }
  const { tokens, idClaims } = exchanged;
  const identity = await mapIdentity(
    options,
    provider,
    tokens.access_token,
    idClaims,
    input.requestId,
  );
  const now = options.now();
  const sid = typeof idClaims.sid === 'string' && idClaims.sid !== '' ? idClaims.sid : undefined;
  const { session, ticket } = await createLoginSession(options, input.cookieHeader, {
    provider: login.state.provider,
    subject: idClaims.sub,
    identity,
    tokens: {
      accessToken: tokens.access_token,
      ...(tokens.refresh_token === undefined ? {} : { refreshToken: tokens.refresh_token }),
      ...(tokens.id_token === undefined ? {} : { idToken: tokens.id_token }),
      ...(tokens.expires_in === undefined
        ? {}
        : { accessTokenExpiresAt: now + tokens.expires_in * 1000 }),
    },
    ...definedFields({
      oidcSid: sid,
      userAgent: input.userAgent,
      // How the user signed in, for rules asking for a step-up (issue #19). The ID token was
      // verified (code-exchange.ts), `auth_time` against `max_age` when one was asked for.
      authentication: authenticationFactsOf(idClaims),
    }),
  });
  recordSignIn(options, input.requestId, session);
  return signedIn(options, login.state, session, ticket, now, input.requestId);
}

/** What the callback found of the login state: taken from the store whatever comes next. */
export interface TakenLoginState {
  readonly stateKey: string;
  /** Whether the store held a state under `stateKey` (now deleted). */
  readonly found: boolean;
  /**
   * The state, when this browser's binding cookie opened it; found but not opened: another
   * browser started it.
   */
  readonly state: LoginState | undefined;
}

/**
 * Step 1: takes the login state named by `state`, first and whatever the outcome, since it can be
 * used once (security invariant 5), and opens it with this browser's binding cookie.
 */
async function takeLoginState(
  options: SignInOptions<LoginStateStore>,
  params: URLSearchParams,
  cookieHeader: string | undefined,
): Promise<TakenLoginState> {
  const stateKey = params.get('state') ?? '';
  const stored = isWellFormedToken(stateKey) ? await options.store.takeLoginState(stateKey) : null;
  if (stored === null) return { stateKey, found: false, state: undefined };
  // Only the cookie of the current name binds: over https that is the `__Host-` one, which a
  // sibling subdomain cannot plant (sign-in-options.ts), so a tossed plain cookie is ignored.
  const bindings = cookieValues(cookieHeader, signInPaths(options).loginCookie.name).filter(
    isWellFormedToken,
  );
  const opened = openLoginState(stored, stateKey, bindings);
  return opened.ok
    ? { stateKey, found: true, state: opened.state }
    : { stateKey, found: true, state: undefined };
}

/**
 * Step 2: the provider's answer and the login state together: a provider error (RFC 6749
 * §4.1.2.1: the user declined, or the provider could not serve the request), an incomplete link,
 * an expired or used state, or a state this browser did not start.
 */
export function verifyLoginState(
  params: URLSearchParams,
  taken: TakenLoginState,
): { readonly state: LoginState; readonly stateKey: string } | StepFailure {
  const provider = taken.state?.provider ?? 'unknown';
  const providerError = params.get('error');
  if (providerError !== null) {
    const description = params.get('error_description')?.slice(0, 300);
    return providerError === 'access_denied'
      ? { failed: 'access-denied', provider, rd: taken.state?.rd }
      : {
          failed: 'provider-error',
          provider,
          rd: taken.state?.rd,
          providerError: {
            code: providerError.slice(0, 64),
            ...(description === undefined ? {} : { description }),
          },
        };
  }
  if (taken.stateKey === '' || params.get('code') === null) {
    return { failed: 'state-missing', provider };
  }
  if (!taken.found) return { failed: 'state-expired', provider };
  if (taken.state === undefined) return { failed: 'other-browser', provider };
  return { state: taken.state, stateKey: taken.stateKey };
}

/** Step 3: the provider the sign-in started with, once its discovery has succeeded. */
function providerOf(
  options: SignInOptions<unknown>,
  state: LoginState,
): DiscoveredProvider | StepFailure {
  return (
    options.providers.get(state.provider) ?? {
      failed: 'provider-not-ready',
      provider: state.provider,
      rd: state.rd,
    }
  );
}

/**
 * Step 5: the identity the session keeps, from the ID token's claims (and userinfo's, when the ID
 * token lacks the groups), through the provider's claim names (session-identity.ts).
 */
async function mapIdentity(
  options: SignInOptions<unknown>,
  provider: DiscoveredProvider,
  accessToken: string,
  idClaims: IDToken,
  requestId: string,
): Promise<SessionIdentity> {
  const claims = await withUserinfo(options, provider, accessToken, idClaims, requestId);
  warnIfUserIsSubject(options.logger, provider.options, claims);
  return sessionIdentityFromClaims(claims, provider.options.claims, idClaims.sub, {
    allowUnverifiedEmail: provider.options.allowUnverifiedEmail,
  });
}

/**
 * Step 6: ends whatever session this browser came with (session fixation), then stores a new
 * one under a new ticket.
 */
async function createLoginSession(
  options: SignInOptions<SessionStore>,
  cookieHeader: string | undefined,
  fields: NewSession,
): Promise<{ readonly session: Session; readonly ticket: IssuedTicket }> {
  for (const value of cookieValues(cookieHeader, options.cookie.name)) {
    const old = parseTicket(value);
    if (old !== null) await options.store.delete(sessionKeyOf(old.id));
  }
  const ticket = issueTicket(options.random === undefined ? {} : { randomBytes: options.random });
  return { session: await options.store.create(fields, ticket), ticket };
}

/**
 * Step 7: where the browser goes, with the session cookie. The destination is checked again: the
 * allowed domains may have changed while the user was at the provider.
 */
function signedIn(
  options: SignInOptions<unknown>,
  state: LoginState,
  session: Session,
  ticket: IssuedTicket,
  now: number,
  requestId: string,
): CallbackOutcome {
  const paths = signInPaths(options);
  return {
    kind: 'redirect',
    location: destinationOf(options, state.rd, 'sign-in', requestId),
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

function recordSignIn(options: SignInOptions<unknown>, requestId: string, session: Session): void {
  options.metrics.logins.inc({ provider: session.provider, stage: 'completed', reason: '' });
  options.audit.record({
    event: 'login',
    requestId,
    result: 'success',
    provider: session.provider,
    user: session.identity.user,
    sessionId: session.key,
  });
  options.logger.info(
    { requestId, provider: session.provider, sessionKey: session.key, user: session.identity.user },
    'signed in',
  );
}

/** A failed step, counted, audited and logged once, as the outcome the http layer renders. */
function failure(
  options: SignInOptions<unknown>,
  input: CallbackInput,
  step: StepFailure,
): CallbackOutcome {
  const { provider, failed: reason } = step;
  options.metrics.logins.inc({ provider, stage: 'failed', reason });
  options.audit.record({
    event: 'login',
    requestId: input.requestId,
    result: 'failure',
    provider,
    reason,
  });
  options.logger.info({ requestId: input.requestId, provider, reason }, 'sign-in failed');
  const { prefix } = signInPaths(options);
  return {
    kind: 'error',
    status: callbackFailureStatus[reason],
    reason,
    ...(step.providerError === undefined ? {} : { providerError: step.providerError }),
    retryHref: `${prefix}/start${step.rd === undefined ? '' : `?${new URLSearchParams({ rd: step.rd }).toString()}`}`,
  };
}
