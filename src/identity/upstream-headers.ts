/**
 * What goes upstream with an allowed request, and what a client must therefore never send: the
 * header profile's headers (rendered once per identity and roles), the impersonator header, the
 * session's tokens (`spec.upstreamTokens`) and the signed assertion; and the rules that refuse a
 * client's own copy of any of them, compiled once per policy snapshot. The check edge
 * (http/check-route.ts) calls these; nothing here knows HTTP.
 */
import type { Logger } from 'pino';
import type { Authenticator } from '../authn/authenticator.ts';
import type { Identity } from '../authz/identity.ts';
import type { AuthRequest } from '../authz/auth-request.ts';
import type { Decision, UpstreamTokens } from '../authz/decision.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import type { SessionTokens } from '../sessions/session.ts';
import type { AssertionSigner } from './assertion.ts';
import {
  compileClientHeaderGuard,
  geOrchestraFamily,
  impersonationFamily,
  type ClientHeaderGuard,
} from './forged-headers.ts';
import type { CompiledHeaderProfile, Header, HeaderProfiles } from './header-profiles.ts';
import { assertionHeaderName, impersonatorHeaderFor } from './reserved-header-names.ts';

/** What the upstream headers are built from; the check's dependencies satisfy it. */
export interface UpstreamHeaderDependencies {
  readonly authenticator: Pick<Authenticator, 'trustedSenderHeaders'>;
  readonly headerProfiles: HeaderProfiles;
  /** Signs `X-Gatehouse-Assertion` on every allow when the assertion is enabled. */
  readonly assertion?: AssertionSigner;
  /** Impersonation is configured: every allow carries the profile's impersonator header. */
  readonly impersonatorHeader?: boolean | undefined;
  /** The session tokens behind an identity, for `spec.upstreamTokens` (token pass-through). */
  readonly tokensOf?: ((identity: Identity) => SessionTokens | undefined) | undefined;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Epoch milliseconds; the composition root's injected clock (default `Date.now`). */
  readonly now?: (() => number) | undefined;
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
  UpstreamHeaderDependencies,
  { readonly snapshot: PolicySnapshot; readonly guard: ClientHeaderGuard }
>();

export function clientHeaderGuardFor(
  deps: UpstreamHeaderDependencies,
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
  deps: UpstreamHeaderDependencies,
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

/** Every header gatehouse sets upstream for an allowed decision. */
export function upstreamHeadersFor(
  decision: Decision,
  request: AuthRequest,
  deps: UpstreamHeaderDependencies,
): readonly Header[] | Promise<readonly Header[]> {
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
  if (identity === null) {
    headers.push([assertionHeaderName, '']);
    return headers;
  }
  const input = {
    identity,
    roles: decision.roles,
    host: request.host,
    ...(identity.actor === undefined ? {} : { actor: identity.actor.subject }),
  };
  // The cached path is synchronous: the hot path signs at most once per session, host and minute.
  const cached = deps.assertion.cachedAssertion(input);
  if (cached !== undefined) {
    headers.push([assertionHeaderName, cached]);
    return headers;
  }
  return deps.assertion.assertionFor(input).then((assertion) => {
    headers.push([assertionHeaderName, assertion]);
    return headers;
  });
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
  deps: UpstreamHeaderDependencies,
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
