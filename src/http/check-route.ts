import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Authenticator } from '../authn/authenticator.ts';
import type { Identity } from '../authn/identity.ts';
import type { AuthRequest } from '../authz/auth-request.ts';
import { decide, type DecideOptions } from '../authz/decide.ts';
import type { Decision, UpstreamTokens } from '../authz/decision.ts';
import { Reasons } from '../authz/reasons.ts';
import type { CheckResponse, Dialect, IncomingCheck } from '../dialects/dialect.ts';
import type { ProxyTrust } from '../dialects/proxy-trust.ts';
import type { AssertionSigner } from '../identity/assertion.ts';
import {
  compileClientHeaderGuard,
  geOrchestraFamily,
  impersonationFamily,
  type ClientHeaderGuard,
} from '../identity/forged-headers.ts';
import type { CompiledHeaderProfile, Header, HeaderProfiles } from '../identity/header-profiles.ts';
import { assertionHeaderName, impersonatorHeaderFor } from '../identity/reserved-header-names.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import type { SessionTokens } from '../sessions/session.ts';
import { BadRequestError, GatehouseError } from '../errors.ts';
import { forbiddenPage, pageSecurityHeaders } from './pages.ts';

/** Everything one external-auth check needs, built once at start by the composition root. */
export interface CheckDependencies {
  readonly authenticator: Authenticator;
  /** The serving snapshot; null until the first policy load succeeded (then /readyz is false). */
  readonly snapshot: () => PolicySnapshot | null;
  readonly decideOptions: DecideOptions;
  readonly headerProfiles: HeaderProfiles;
  /** Signs `X-Gatehouse-Assertion` on every allow when the assertion is enabled. */
  readonly assertion?: AssertionSigner;
  readonly proxyTrust: ProxyTrust;
  readonly rejectForgedIdentityHeaders: boolean;
  /** Absolute sign-in URL carrying the original URL as `rd`. */
  readonly signInUrl: (request: AuthRequest) => string;
  readonly forbiddenContact: string;
  readonly metrics: Metrics;
  /** Every denial is one line on the audit trail. */
  readonly audit: AuditLog;
  readonly logger: Logger;
  /**
   * `WWW-Authenticate` for a 401 decided by a policy with `authentication.basic: true`; set when
   * Basic authentication is configured (RFC 7617 §2: machine clients learn to send credentials).
   */
  readonly basicChallenge?: string | undefined;
  /**
   * `WWW-Authenticate` for every anonymous 401 when bearer issuers are configured (RFC 6750 §3):
   * `bearerChallengeFor(config.publicUrl)`. Sent beside the Basic challenge when both apply.
   */
  readonly bearerChallenge?: string | undefined;
  /** Epoch milliseconds; the composition root's injected clock (default `Date.now`). */
  readonly now?: (() => number) | undefined;
  /** Impersonation is configured: every allow carries the profile's impersonator header. */
  readonly impersonatorHeader?: boolean | undefined;
  /** The session tokens behind an identity, for `spec.upstreamTokens` (token pass-through). */
  readonly tokensOf?: ((identity: Identity) => SessionTokens | undefined) | undefined;
}

/**
 * The Bearer challenge of an anonymous 401 (RFC 6750 §3): the realm is gatehouse's public host,
 * the protection space every bearer issuer's tokens are accepted in.
 */
export function bearerChallengeFor(publicUrl: string): string {
  return `Bearer realm="${new URL(publicUrl).host}"`;
}

/**
 * The transport edge of a check: Node's request in, dialect-shaped response out. The decision
 * itself is decide()'s; the proxy's wire format is the dialect's; this function only sequences
 * them, counts and logs. It is served from `node:http` directly rather than through Koa because
 * every request to every protected app waits for it (see docs/benchmarks.md); errors it throws
 * are answered by the caller through http/error-response.ts, like Koa's error handler does.
 */
export async function handleCheck(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  dialect: Dialect,
  deps: CheckDependencies,
  proxyRequestId?: string,
): Promise<void> {
  const started = performance.now();
  const incoming = incomingCheckOf(req);

  let request: AuthRequest;
  try {
    request = dialect.parse(incoming, deps.proxyTrust, requestId);
  } catch (error: unknown) {
    if (error instanceof BadRequestError) {
      deps.metrics.malformedRequests.inc({ dialect: dialect.name });
      deps.metrics.decisions.inc({
        dialect: dialect.name,
        outcome: 'error',
        reason: Reasons.MalformedRequest,
      });
      deps.logger.info(
        { requestId, proxyRequestId, dialect: dialect.name, code: error.code },
        error.message,
      );
    }
    throw error;
  }

  const snapshot = deps.snapshot();
  if (snapshot === null) {
    throw new GatehouseError('not-ready', 503, 'no policy loaded yet', { expose: true });
  }

  let decision: Decision;
  let challenge: string | undefined;
  const guard = clientHeaderGuardFor(deps, snapshot);
  const forged = deps.rejectForgedIdentityHeaders
    ? guard.find(incoming.headers, request.clientIp)
    : null;
  if (forged !== null) {
    deps.metrics.forgedIdentityHeaders.inc({ dialect: dialect.name });
    decision = refusal('forbidden', Reasons.ForgedIdentityHeader);
  } else {
    const authn = await deps.authenticator.authenticate(request);
    if (authn.kind === 'rejected') {
      deps.metrics.authentications.inc({ method: 'any', result: 'rejected' });
      challenge = authn.challenge;
      decision = refusal('unauthenticated', Reasons.InvalidCredentials);
    } else {
      const identity = authn.kind === 'identified' ? authn.identity : null;
      if (identity !== null)
        deps.metrics.authentications.inc({ method: identity.method, result: 'identified' });
      decision = decide(request, identity, snapshot, deps.decideOptions);
    }
  }

  // An anonymous 401 tells the client how to authenticate (RFC 9110 §11.4.1: a 401 MUST carry
  // a challenge): Bearer wherever bearer issuers are configured (RFC 6750 §3), Basic where the
  // policy offers it (RFC 7617 §2); both, as separate fields, when both apply (§11.6.1). A
  // rejected credential keeps the challenge that says why (`error="invalid_token"`).
  let challenges: readonly string[] | undefined;
  if (decision.outcome === 'unauthenticated' && challenge === undefined) {
    const basic = decision.rule?.basicAuth === true ? deps.basicChallenge : undefined;
    challenges = challengesOf(deps.bearerChallenge, basic);
  }

  // Audit mode: the policy's refusal is counted and logged as it would have been, and the
  // request is answered as allowed (docs/audit-mode.md). Only a matched rule can carry the mode,
  // so refusals that no policy decides (forged headers, bad credentials, ambiguous paths) stay
  // enforced: they are about the request, not about a policy being rolled out.
  const audited = decision.outcome !== 'allow' && decision.rule?.mode === 'Audit';
  const answered: Decision = audited ? { ...decision, outcome: 'allow' } : decision;

  const response = dialect.respond(answered, request, {
    identityHeaders:
      answered.outcome === 'allow' ? await identityHeadersFor(answered, request, deps) : [],
    identityHeaderNames: guard.removeNames,
    // Only a 401 carries it; building it costs an encodeURIComponent of the whole URL.
    signInUrl: answered.outcome === 'unauthenticated' ? deps.signInUrl(request) : '',
    ...(challenge === undefined ? {} : { challenge }),
    ...(challenges === undefined ? {} : { challenges }),
  });
  writeResponse(res, response, request, answered, deps);

  // The would-be outcome and reason, so dashboards show what enforcing would do.
  deps.metrics.countDecision(dialect.name, decision.outcome, decision.reason);
  if (audited)
    deps.metrics.auditOverrides.inc({ outcome: decision.outcome, reason: decision.reason });
  deps.metrics.observeDecisionDuration(dialect.name, (performance.now() - started) / 1000);
  logDecision(deps, request, decision, forged, audited, proxyRequestId);
}

const noChallenges: readonly string[] = Object.freeze([]);
const challengeLists = new Map<string, readonly string[]>();

/** The (at most four) challenge lists, built once each rather than per 401. */
function challengesOf(bearer: string | undefined, basic: string | undefined): readonly string[] {
  if (bearer === undefined && basic === undefined) return noChallenges;
  const key = `${bearer ?? ''}\n${basic ?? ''}`;
  let list = challengeLists.get(key);
  if (list === undefined) {
    list = Object.freeze([bearer, basic].filter((value) => value !== undefined));
    if (challengeLists.size < 16) challengeLists.set(key, list);
  }
  return list;
}

/**
 * Header names a client may send in their standard spelling even when a policy's
 * `upstreamTokens` names them: `Authorization` is the client's own credential (RFC 9110
 * §11.6.2), read by the bearer and Basic authenticators, and the proxy replaces it with
 * gatehouse's value where a policy sends a token in it. Refusing it would refuse every API
 * client; removing it at Envoy would strip every upstream's credential. Its odd spellings carry
 * no credential and are refused like any identity header.
 */
const clientCredentialHeaders: ReadonlySet<string> = new Set(['authorization']);

/**
 * The client-header rules of the serving snapshot, compiled once per snapshot (a policy reload
 * replaces the snapshot object) rather than per check: the check path is hot.
 */
const clientHeaderGuards = new WeakMap<
  CheckDependencies,
  { readonly snapshot: PolicySnapshot; readonly guard: ClientHeaderGuard }
>();

export function clientHeaderGuardFor(
  deps: CheckDependencies,
  snapshot: PolicySnapshot,
): ClientHeaderGuard {
  const cached = clientHeaderGuards.get(deps);
  if (cached?.snapshot === snapshot) return cached.guard;
  const guard = compileClientHeaderGuardOf(deps, snapshot);
  clientHeaderGuards.set(deps, { snapshot, guard });
  return guard;
}

/**
 * Everything gatehouse sets upstream is refused from the client in every spelling: the profile
 * headers and the reserved ones (assertion, impersonator), and every `spec.upstreamTokens`
 * header of any policy of the snapshot, on every host (a client copy of `X-Id-Token` reaches a
 * WSGI upstream as `HTTP_X_ID_TOKEN`, PEP 3333, next to the real one). geOrchestra's `sec-*`
 * family is refused while any policy (or the default) uses the `sec` profile, `imp-*` always;
 * the pre-authentication headers only from their fronts.
 */
function compileClientHeaderGuardOf(
  deps: CheckDependencies,
  snapshot: PolicySnapshot,
): ClientHeaderGuard {
  const upstream = new Set(deps.headerProfiles.allHeaderNames);
  const credentials = new Set<string>();
  let secProfileInUse = deps.headerProfiles.defaultProfile.name === 'sec';
  for (const object of snapshot.objects) {
    const resource = object.resource;
    if (resource.kind !== 'AccessPolicy' && resource.kind !== 'ClusterAccessPolicy') continue;
    const spec = resource.spec;
    if (spec.identityHeaders === 'sec') secProfileInUse = true;
    for (const token of [spec.upstreamTokens?.accessToken, spec.upstreamTokens?.idToken]) {
      if (token === undefined) continue;
      const name = token.header.toLowerCase();
      (clientCredentialHeaders.has(name) ? credentials : upstream).add(name);
    }
  }
  return compileClientHeaderGuard({
    upstream,
    clientCredentials: credentials,
    families: secProfileInUse ? [geOrchestraFamily, impersonationFamily] : [impersonationFamily],
    trustedSenders: deps.authenticator.trustedSenderHeaders ?? [],
  });
}

async function identityHeadersFor(
  decision: Decision,
  request: AuthRequest,
  deps: CheckDependencies,
): Promise<readonly Header[]> {
  const profile = deps.headerProfiles.get(decision.rule?.identityHeaders);
  const identity = decision.identity;
  const rendered = renderedHeaders(profile, identity, decision.roles);
  const tokens = decision.rule?.upstreamTokens;
  // The common case sends the profile's headers as rendered, without a copy.
  if (deps.impersonatorHeader !== true && tokens === undefined && deps.assertion === undefined) {
    return rendered;
  }
  const headers: Header[] = [...rendered];
  if (deps.impersonatorHeader === true) {
    // Always present, empty unless someone impersonates, so a client's own copy never survives.
    headers.push([impersonatorHeaderFor(profile.name), identity?.actor?.user ?? '']);
  }
  if (tokens !== undefined) headers.push(...upstreamTokenHeaders(tokens, decision, request, deps));
  if (deps.assertion === undefined) return headers;
  // Always present, empty for anonymous callers, so a client's own copy never survives.
  let assertion = '';
  if (identity !== null) {
    const input = {
      identity,
      roles: decision.roles,
      host: request.host,
      ...(identity.actor === undefined ? {} : { actor: identity.actor.subject }),
    };
    // The cached path is synchronous: the hot path signs at most once per session, host and minute.
    assertion = deps.assertion.cachedAssertion(input) ?? (await deps.assertion.assertionFor(input));
  }
  headers.push([assertionHeaderName, assertion]);
  return headers;
}

/**
 * The profile's headers for an identity and its roles, rendered once. Identities are immutable
 * and reused while their session is cached, and decide() hands back the same roles array for the
 * same identity and scope, so the last rendering per identity (or per roles array, for anonymous
 * callers) is reused while profile and roles are the same objects.
 */
const renderings = new WeakMap<
  object,
  { profile: CompiledHeaderProfile; roles: readonly string[]; headers: readonly Header[] }
>();

function renderedHeaders(
  profile: CompiledHeaderProfile,
  identity: Identity | null,
  roles: readonly string[],
): readonly Header[] {
  const key: object = identity ?? roles;
  const previous = renderings.get(key);
  if (previous?.profile === profile && previous.roles === roles) return previous.headers;
  const headers = profile.render(identity, roles);
  renderings.set(key, { profile, roles, headers });
  return headers;
}

/** A token is sent only if it can be a header value as it is (RFC 9110 §5.5, RFC 6750 §2.1). */
const tokenValue = /^[\x21-\x7E]+$/;

/**
 * Token pass-through (`spec.upstreamTokens`): the session's access and/or ID token, already
 * refreshed by the session authenticator when close to expiry. Every configured header is sent,
 * EMPTY when there is no token to send (no session identity, an impersonation, a session without
 * that token), so the proxy overwrites whatever the client sent in its place: a client must never
 * choose the token the upstream receives.
 *
 * An access token past its expiry (`accessTokenExpiresAt`, judged with the injected clock) is not
 * sent either: the refresh failed (the provider is down, or refused for a passing reason, and the
 * refresher kept the old tokens), and an expired token only moves the failure to the upstream,
 * which would answer 401 to a user gatehouse just let in, or worse accept it if it does not check
 * `exp` (RFC 6749 §1.4 / RFC 6750 §3.1 `invalid_token`). It counts as `missing`, with the warning.
 */
function upstreamTokenHeaders(
  tokens: UpstreamTokens,
  decision: Decision,
  request: AuthRequest,
  deps: CheckDependencies,
): Header[] {
  const identity = decision.identity;
  const session = identity === null ? undefined : deps.tokensOf?.(identity);
  const headers: Header[] = [];
  const send = (
    token: 'access' | 'id',
    header: string,
    value: string | undefined,
    expired: boolean,
  ): void => {
    const usable = value !== undefined && !expired && tokenValue.test(value);
    if (usable) {
      headers.push([header, header.toLowerCase() === 'authorization' ? `Bearer ${value}` : value]);
    } else {
      headers.push([header, '']);
      if (identity !== null) {
        deps.logger.warn(
          {
            requestId: request.requestId,
            token,
            header,
            reason: expired ? 'expired' : 'no-token',
            user: identity.user,
            method: identity.method,
            impersonated: identity.actor !== undefined,
          },
          expired
            ? 'token pass-through: the access token has expired and was not refreshed; the header is sent empty'
            : 'token pass-through: no token to send for this identity; the header is sent empty',
        );
      }
    }
    deps.metrics.upstreamTokens.inc({ token, result: usable ? 'sent' : 'missing' });
  };
  if (tokens.accessToken !== undefined) {
    const expiresAt = session?.accessTokenExpiresAt;
    const expired =
      session?.accessToken !== undefined &&
      expiresAt !== undefined &&
      expiresAt <= (deps.now ?? Date.now)();
    send('access', tokens.accessToken.header, session?.accessToken, expired);
  }
  if (tokens.idToken !== undefined) send('id', tokens.idToken.header, session?.idToken, false);
  return headers;
}

function refusal(outcome: 'unauthenticated' | 'forbidden', reason: Decision['reason']): Decision {
  return { outcome, reason, rule: null, roles: ['guest'], identity: null };
}

function incomingCheckOf(req: IncomingMessage): IncomingCheck {
  // Node joins repeated request headers into one string, except `set-cookie`, which no client
  // sends to an auth endpoint: the common case reuses Node's object instead of copying it.
  const raw = req.headers;
  let headers: Readonly<Record<string, string | undefined>>;
  if (raw['set-cookie'] === undefined) {
    headers = raw as Readonly<Record<string, string | undefined>>;
  } else {
    const copy: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(raw)) {
      copy[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers = copy;
  }
  return {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    headers,
    remoteAddress: req.socket.remoteAddress ?? '',
  };
}

function writeResponse(
  res: ServerResponse,
  response: CheckResponse,
  request: AuthRequest,
  decision: Decision,
  deps: CheckDependencies,
): void {
  res.statusCode = response.status;
  // Appended, not set: a 401 may carry several `WWW-Authenticate` fields (RFC 9110 §11.6.1).
  for (const [name, value] of response.headers) res.appendHeader(name, value);
  let body = '';
  if (response.page === 'forbidden' && request.acceptsRedirect) {
    // Traefik, Caddy and Envoy hand a non-2xx body to the browser; nginx replaces it with its own.
    for (const [name, value] of pageSecurityHeaders) res.setHeader(name, value);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    body = forbiddenPage({
      host: request.host,
      path: request.path.ok ? request.path.value : '',
      reason: decision.reason,
      requestId: request.requestId,
      contact: deps.forbiddenContact,
    });
  } else if (response.status >= 400) {
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    body = `${decision.reason}\n`;
  }
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function logDecision(
  deps: CheckDependencies,
  request: AuthRequest,
  decision: Decision,
  forged: string | null,
  audited: boolean,
  proxyRequestId: string | undefined,
): void {
  const logger = deps.logger;
  // Allows are the hot path: build nothing for a debug line that is not written.
  if (decision.outcome === 'allow' && !audited && !logger.isLevelEnabled('debug')) return;
  const fields = {
    requestId: request.requestId,
    // The ingress's own id, from a trusted proxy only (http/request-id.ts), to join its logs.
    ...(proxyRequestId === undefined ? {} : { proxyRequestId }),
    dialect: request.dialect,
    outcome: decision.outcome,
    reason: decision.reason,
    method: request.method,
    host: request.host,
    path: request.path.ok ? request.path.value : null,
    client: request.clientIp,
    user: decision.identity?.user ?? null,
    policy: decision.rule === null ? null : `${decision.rule.namespace}/${decision.rule.policy}`,
    rule: decision.rule?.rule ?? null,
    ...(forged === null ? {} : { forgedHeader: forged }),
  };
  if (audited) {
    // At info like a denial, so the lines an operator reviews before switching to Enforce are
    // there at the default level; `audit: true` tells them apart from real denials.
    logger.info(
      { ...fields, audit: true, mode: 'Audit' },
      `audit mode: would have been ${decision.outcome}`,
    );
    return;
  }
  // Allows are the hot path and stay at debug. A denial is one line on the audit trail, which
  // carries everything an operator searches for (and no second, operational copy of it).
  if (decision.outcome === 'allow') {
    logger.debug(fields, 'allowed');
    return;
  }
  deps.audit.record({
    event: 'deny',
    requestId: fields.requestId,
    ...(proxyRequestId === undefined ? {} : { proxyRequestId }),
    outcome: decision.outcome,
    reason: fields.reason,
    dialect: fields.dialect,
    method: fields.method,
    host: fields.host,
    path: fields.path,
    client: fields.client,
    user: fields.user,
    provider: decision.identity?.provider ?? null,
    policy: fields.policy,
    rule: fields.rule,
    ...(forged === null ? {} : { forgedHeader: forged }),
  });
}
