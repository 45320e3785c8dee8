import { buildAuthRequest } from './build-auth-request.ts';
import {
  allowResponse,
  forbiddenResponse,
  signInRedirect,
  unauthorizedResponse,
} from './check-responses.ts';
import { malformedRequest } from './dialect.ts';
import type { Dialect, RespondInputs } from './dialect.ts';
import { normaliseHost } from './host.ts';
import { parseMethod } from './method.ts';
import { parseRequestTarget } from './request-target.ts';

/** The route prefix; Envoy's `path_prefix` (Istio `pathPrefix`, Envoy Gateway `http.path`). */
export const extAuthzPrefix = '/authz/ext-authz';

/**
 * Envoy ext_authz in HTTP service mode, Envoy Gateway `SecurityPolicy` and Istio `CUSTOM`
 * (proxy-protocols.md §4). Envoy keeps the original method and `Host` and sends
 * `path_prefix + :path`, so the original request is the check request itself.
 */
/**
 * Remove lists per name list (the check route's per-snapshot `ClientHeaderGuard.removeNames`:
 * profile, assertion, impersonator, token pass-through and pre-authentication headers) and per
 * set of names a response sets: a handful of profiles, each computed once, off the hot path.
 */
const removeLists = new WeakMap<readonly string[], Map<string, string>>();

/**
 * Envoy replaces the upstream headers the response sets but leaves client copies of the ones it
 * omits (proxy-protocols.md §2, implication 4), so every other identity header name is listed
 * for removal. Envoy also keeps header names with `_` unless `headers_with_underscores_action`
 * says otherwise, and WSGI/CGI upstreams read `X_Auth_Request_User` as `X-Auth-Request-User`:
 * the underscore spelling of every identity header is removed too. Comma without spaces:
 * Envoy splits on ','.
 */
function removeListFor(
  identityHeaders: RespondInputs['identityHeaders'],
  identityHeaderNames: readonly string[],
): string {
  let key = '';
  for (const [name] of identityHeaders) key += `${name},`;
  let cache = removeLists.get(identityHeaderNames);
  if (cache === undefined) {
    cache = new Map();
    removeLists.set(identityHeaderNames, cache);
  }
  let list = cache.get(key);
  if (list === undefined) {
    const set = new Set(identityHeaders.map(([name]) => name.toLowerCase()));
    const remove = new Set<string>();
    for (const raw of identityHeaderNames) {
      const name = raw.toLowerCase();
      if (!set.has(name)) remove.add(name);
      if (name.includes('-')) remove.add(name.replaceAll('-', '_'));
    }
    list = [...remove].join(',');
    if (cache.size < 64) cache.set(key, list);
  }
  return list;
}

export const extAuthzDialect: Dialect = {
  name: 'ext-authz',

  parse(check, trust, requestId) {
    const { headers } = check;
    if (!check.target.startsWith(extAuthzPrefix)) {
      throw malformedRequest(`ext_authz checks must be sent under ${extAuthzPrefix}`);
    }
    const rest = check.target.slice(extAuthzPrefix.length);
    // With `path_prefix: /authz/ext-authz/` Envoy sends `//a`: the normaliser merges the slashes.
    if (rest !== '' && !rest.startsWith('/')) {
      throw malformedRequest(
        `the original path must follow ${extAuthzPrefix} and start with "/"; ` +
          `set the proxy's path prefix to ${extAuthzPrefix}`,
      );
    }
    const target = parseRequestTarget(rest === '' ? '/' : rest, 'the original path');

    // Envoy only forwards X-Forwarded-Proto when it is in `allowed_headers`; without it, or from
    // an untrusted peer, assume https: the scheme only shapes the `rd` URL, and https is the
    // safe guess for an ingress.
    const forwardedProto = trust.isTrusted(check.remoteAddress)
      ? headers['x-forwarded-proto']?.trim().toLowerCase()
      : undefined;
    const scheme = forwardedProto === 'http' ? 'http' : 'https';

    const rawHost = headers.host;
    if (rawHost === undefined || rawHost.trim() === '') {
      throw malformedRequest('the Host header (HTTP/2 :authority) is missing');
    }
    const host = normaliseHost(rawHost, scheme);
    if (host === null) throw malformedRequest('the Host header is not a valid host');

    return buildAuthRequest({
      dialect: 'ext-authz',
      method: parseMethod(check.method, 'the request method'),
      scheme,
      host,
      target,
      clientIp: trust.clientAddress(check.remoteAddress, headers),
      sourceAddress: trust.reportedClientAddress(check.remoteAddress, headers),
      requestId,
      headers,
    });
  },

  respond(decision, request, inputs) {
    switch (decision.outcome) {
      case 'allow': {
        const remove = removeListFor(inputs.identityHeaders, inputs.identityHeaderNames);
        return allowResponse(
          remove === ''
            ? inputs.identityHeaders
            : [...inputs.identityHeaders, ['x-envoy-auth-headers-to-remove', remove]],
        );
      }
      case 'unauthenticated':
        return request.acceptsRedirect
          ? signInRedirect(request.method, inputs.signInUrl)
          : unauthorizedResponse(inputs, false);
      case 'forbidden':
        return forbiddenResponse();
    }
  },
};
