import { decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import { DependencyError } from '../errors.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ReplayGuard } from '../sessions/replay-guard.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import { userKeyOf } from '../sessions/session.ts';
import type { ProviderRegistry } from './provider-registry.ts';

/**
 * OpenID Connect Back-Channel Logout 1.0: the provider POSTs a signed logout token naming a
 * provider session (`sid`) or a user (`sub`), and every matching gatehouse session ends on every
 * replica (the store publishes the revocation).
 *
 * The token is validated as §2.6 requires, with an explicit algorithm list (invariant 7):
 * signature with the provider's keys and one of its advertised asymmetric algorithms (never
 * `none` or HS*), `iss` = that provider, `aud` = our client id, `iat` present and recent, `jti`
 * present and not seen before, the back-channel-logout event, `sid` or `sub`, and no `nonce`
 * (which tells a logout token apart from an ID token, §2.4). `typ` is `logout+jwt` or absent/JWT.
 */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Replay window: tokens older than this are refused, and `jti`s are remembered this long. */
const REPLAY_WINDOW_MS = 10 * 60 * 1000;
/** Clock skew tolerated between the provider and gatehouse (invariant 7: bounded). */
const CLOCK_TOLERANCE_S = 60;

export interface BackchannelLogoutOptions {
  readonly providers: ProviderRegistry;
  readonly store: SessionStore & ReplayGuard;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly audit: AuditLog;
}

export type BackchannelLogoutResult =
  | { readonly ok: true; readonly provider: string; readonly ended: number }
  | { readonly ok: false; readonly description: string };

export async function handleLogoutToken(
  options: BackchannelLogoutOptions,
  token: string,
): Promise<BackchannelLogoutResult> {
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    return refuse('logout_token is not a JWT');
  }
  // Which provider is asked only by the unverified `iss`; the signature check below then uses that
  // provider's keys and requires the same issuer, so a forged `iss` gains nothing.
  const provider = typeof issuer === 'string' ? options.providers.byIssuer(issuer) : null;
  if (provider === null) return refuse('logout_token is not from a configured provider');

  let payload: Record<string, unknown>;
  let typ: string | undefined;
  try {
    const verified = await jwtVerify(token, provider.jwks, {
      issuer: provider.config.serverMetadata().issuer,
      audience: provider.options.clientId,
      algorithms: [...provider.signingAlgorithms],
      requiredClaims: ['iat', 'jti', 'events'],
      maxTokenAge: REPLAY_WINDOW_MS / 1000,
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: new Date(options.now()),
    });
    payload = verified.payload;
    typ = verified.protectedHeader.typ;
  } catch (error: unknown) {
    // Keys that could not be fetched are the provider's problem, not the token's: answer 503 so
    // the provider may retry, rather than 400 which says "this token is bad".
    if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
      throw new DependencyError('identity-provider', 'could not fetch the provider keys', {
        cause: error,
      });
    }
    return refuse(`logout_token is invalid (${error.code})`);
  }

  if (typ !== undefined && !['logout+jwt', 'application/logout+jwt', 'JWT'].includes(typ)) {
    return refuse('logout_token has an unexpected typ');
  }
  const events = payload['events'];
  if (
    typeof events !== 'object' ||
    events === null ||
    typeof (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] !== 'object' ||
    (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] === null
  ) {
    return refuse('logout_token lacks the back-channel logout event');
  }
  if (Object.hasOwn(payload, 'nonce')) return refuse('logout_token must not contain a nonce');
  const sid = nonEmptyString(payload['sid']);
  const sub = nonEmptyString(payload['sub']);
  if (sid === undefined && sub === undefined) return refuse('logout_token has neither sid nor sub');
  const jti = nonEmptyString(payload['jti']);
  if (jti === undefined || jti.length > 256) return refuse('logout_token has an invalid jti');

  const name = provider.options.name;
  if (!(await options.store.rememberOnce('bclo', `${name}\u0000${jti}`, REPLAY_WINDOW_MS))) {
    return refuse('logout_token was already used');
  }
  const ended =
    sid !== undefined
      ? await options.store.deleteBySid(name, sid)
      : await options.store.deleteByUser(userKeyOf(name, sub ?? ''));
  if (ended.length > 0)
    options.metrics.sessionRevocations.inc({ source: 'backchannel' }, ended.length);
  options.audit.record({
    event: 'revocation',
    source: 'backchannel',
    provider: name,
    sessions: ended.length,
    by: sid !== undefined ? 'sid' : 'sub',
  });
  options.logger.info(
    { provider: name, by: sid !== undefined ? 'sid' : 'sub', ended: ended.length },
    'back-channel logout',
  );
  return { ok: true, provider: name, ended: ended.length };
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function refuse(description: string): BackchannelLogoutResult {
  return { ok: false, description };
}
