import type { AuthRequest } from '../authz/auth-request.ts';
import type { Decision } from '../authz/decision.ts';
import { Reasons } from '../authz/reasons.ts';
import { credentialsOf } from './build-auth-request.ts';
import { assertionHeaderName } from '../identity/reserved-header-names.ts';
import { forbiddenResponse, unauthorizedResponse } from './check-responses.ts';
import type { CheckResponse, Dialect, IncomingCheck } from './dialect.ts';
import { parseMethod } from './method.ts';
import { nginxDialect } from './nginx.ts';
import {
  meetsAllowedLists,
  parseOauth2ProxyQuery,
  type Oauth2ProxyQuery,
} from './oauth2-proxy-query.ts';
import type { ProxyTrust } from './proxy-trust.ts';

/**
 * The `auth-url` query of each check this dialect parsed, for its judge(): an AuthRequest is the
 * same object from parse() to respond(), and is dropped with it.
 */
const queries = new WeakMap<AuthRequest, Oauth2ProxyQuery>();

/** A check without a routed host judges no path: this says so wherever the path is shown. */
const pathNotJudged = {
  ok: false,
  problem: 'not judged: the oauth2-proxy endpoint judges paths only with ?host=$host',
} as const;

const guestOnly: readonly string[] = Object.freeze(['guest']);
const signedIn: readonly string[] = Object.freeze(['guest', 'authenticated']);

/** The original method, for logs only (nothing is decided on it without a routed host). */
function loggedMethod(check: IncomingCheck): string {
  const original = check.headers['x-original-method'];
  if (original !== undefined) {
    try {
      return parseMethod(original, 'X-Original-Method');
    } catch {
      // Not judged, so not refused: oauth2-proxy ignores the header too.
    }
  }
  return check.method.toUpperCase();
}

/**
 * A check without a routed host: only the credentials (and the client address, for logs and
 * login throttling) are read, as oauth2-proxy reads only its cookie and `Authorization`. The
 * host is left empty rather than taken from `X-Original-URL`, which nginx builds from the
 * client's `Host` header: nothing host-bound (the assertion's audience, a policy's tokens or
 * providers) may ever be derived from it.
 */
function credentialsOnly(check: IncomingCheck, trust: ProxyTrust, requestId: string): AuthRequest {
  const { headers } = check;
  return {
    dialect: 'oauth2-proxy',
    method: loggedMethod(check),
    scheme: 'https',
    host: '',
    path: pathNotJudged,
    originalUrl: '',
    clientIp: trust.clientAddress(check.remoteAddress, headers, { realIpHeader: true }),
    requestId,
    // The answer goes to a proxy that follows its own `auth-signin`: never a page to render.
    acceptsRedirect: false,
    credentials: credentialsOf(headers),
  };
}

/**
 * The headers of an allow. Never the session's tokens (`spec.upstreamTokens`): this endpoint
 * lives under the sign-in prefix, which the sign-in host routes publicly (as oauth2-proxy's
 * does), so anyone holding a session cookie could read its access token from the answer and use
 * it after sign-out; `/authz/nginx`, which only the proxy reaches, sends them. Without a routed
 * host the signed assertion is sent empty: its audience is the host it vouches for, and there is
 * none (a client's copy is still overwritten).
 */
function allowHeaders(
  decision: Decision,
  routed: boolean,
  identityHeaders: readonly (readonly [string, string])[],
): (readonly [string, string])[] {
  const tokens = decision.rule?.upstreamTokens;
  const withheld = new Set(
    [tokens?.accessToken?.header, tokens?.idToken?.header]
      .filter((name) => name !== undefined)
      .map((name) => name.toLowerCase()),
  );
  const headers: (readonly [string, string])[] = [];
  for (const [name, value] of identityHeaders) {
    const lower = name.toLowerCase();
    if (withheld.has(lower)) continue;
    headers.push(!routed && lower === assertionHeaderName ? [name, ''] : [name, value]);
  }
  return headers;
}

/**
 * oauth2-proxy's `GET /oauth2/auth` (issue #19): a drop-in so an ingress-nginx `auth-url` can move
 * from oauth2-proxy to gatehouse by changing only the Service (docs/migrating-from-oauth2-proxy.md).
 *
 * It answers as oauth2-proxy v7.15.6's `AuthOnly` does: 202 with the identity headers when a
 * valid session or bearer token meets the auth URL's `allowed_groups`, `allowed_emails` and
 * `allowed_email_domains`; 401 without a credential (or with an invalid one); 403 when the
 * signed-in user does not meet a list. It is never weaker than either side:
 *
 * - without `host=` it judges exactly what oauth2-proxy judges, and nothing about the request:
 *   `X-Original-URL` is built from the client's `Host` header (docs/security.md), so no policy is
 *   applied on it, no host-bound output is produced, and its absence is no error;
 * - with `host=$host` (as `/authz/nginx?host=$host`) the check is read exactly as `/authz/nginx`
 *   reads it (the same refusals), and gatehouse's policy decides too, after oauth2-proxy's
 *   judgement: a refusal by the credential or a list is never lifted by the policy, not even by
 *   an Audit-mode policy, and anonymous callers get 401 even on `guest` paths, as oauth2-proxy
 *   gives them.
 */
export const oauth2ProxyDialect: Dialect = {
  name: 'oauth2-proxy',

  parse(check, trust, requestId) {
    const query = parseOauth2ProxyQuery(check.target);
    const request: AuthRequest = query.routedHost
      ? { ...nginxDialect.parse(check, trust, requestId), dialect: 'oauth2-proxy' }
      : credentialsOnly(check, trust, requestId);
    queries.set(request, query);
    return request;
  },

  judge(request, identity, policy) {
    const query = queries.get(request);
    // Only this dialect's parse() makes the requests it judges; anything else is a wiring bug.
    if (query === undefined) throw new Error('oauth2-proxy judge() called on a foreign request');
    if (identity === null) {
      return {
        outcome: 'unauthenticated',
        reason: Reasons.AuthenticationRequired,
        rule: null,
        roles: guestOnly,
        identity: null,
      };
    }
    // `rule: null`: an Audit-mode policy turns only its own refusals into allows (authz/audit-mode.ts).
    if (!meetsAllowedLists(identity, query.allowed)) {
      return {
        outcome: 'forbidden',
        reason: Reasons.NotInAllowedList,
        rule: null,
        roles: signedIn,
        identity,
      };
    }
    if (query.routedHost) return policy();
    return {
      outcome: 'allow',
      reason: Reasons.AuthenticatedOnly,
      rule: null,
      roles: signedIn,
      identity,
    };
  },

  respond(decision, request, inputs): CheckResponse {
    const routed = queries.get(request)?.routedHost === true;
    switch (decision.outcome) {
      case 'allow':
        // 202, as oauth2-proxy: nginx accepts any 2xx. Envoy would not, and has its own endpoint.
        return { status: 202, headers: allowHeaders(decision, routed, inputs.identityHeaders) };
      case 'unauthenticated':
        // The sign-in URL only when its `rd` comes from the routed request; nginx's `auth-signin`
        // builds its own either way, and never a 3xx (nginx turns it into a 500).
        return unauthorizedResponse(inputs, routed);
      case 'forbidden':
        return forbiddenResponse();
    }
  },
};
