import { buildAuthRequest } from './build-auth-request.ts';
import {
  allowResponse,
  forbiddenResponse,
  signInRedirect,
  unauthorizedResponse,
} from './check-responses.ts';
import { malformedRequest } from './dialect.ts';
import type { Dialect } from './dialect.ts';
import { normaliseHost } from './host.ts';
import { parseMethod } from './method.ts';
import { parseRequestTarget } from './request-target.ts';

function required(
  headers: Readonly<Record<string, string | undefined>>,
  name: string,
  display: string,
): string {
  const value = headers[name];
  if (value === undefined || value.trim() === '') {
    throw malformedRequest(
      `${display} is missing: Traefik ForwardAuth and Caddy forward_auth set X-Forwarded-Method, ` +
        '-Proto, -Host and -Uri on the check request',
    );
  }
  return value.trim();
}

/**
 * Traefik ForwardAuth and Caddy `forward_auth` (proxy-protocols.md §3, §5). The check request
 * always goes to a fixed path; the original request is described only by `X-Forwarded-*`.
 *
 * Those headers are exactly what a client can forge, so they count only when the socket peer is
 * a configured proxy (security invariant 3; Traefik CVE-2024-45410 showed a client can even make
 * Traefik drop the values it set). From any other peer the original request is unknown, and
 * guessing it would let a client choose the host and path it is judged on: 400 instead.
 */
export const forwardAuthDialect: Dialect = {
  name: 'forward-auth',

  parse(check, trust, requestId) {
    const { headers } = check;
    if (!trust.isTrusted(check.remoteAddress)) {
      throw malformedRequest(
        `the check request came from ${check.remoteAddress}, which is not a trusted proxy, so its ` +
          'X-Forwarded-* headers cannot be believed: add the proxy address to trustedProxies',
      );
    }
    const method = parseMethod(
      required(headers, 'x-forwarded-method', 'X-Forwarded-Method'),
      'X-Forwarded-Method',
    );
    const proto = required(headers, 'x-forwarded-proto', 'X-Forwarded-Proto').toLowerCase();
    if (proto !== 'http' && proto !== 'https') {
      throw malformedRequest('X-Forwarded-Proto must be "http" or "https"');
    }
    const host = normaliseHost(required(headers, 'x-forwarded-host', 'X-Forwarded-Host'), proto);
    if (host === null) throw malformedRequest('X-Forwarded-Host is not a valid host');
    const target = parseRequestTarget(
      required(headers, 'x-forwarded-uri', 'X-Forwarded-Uri'),
      'X-Forwarded-Uri',
    );

    return buildAuthRequest({
      dialect: 'forward-auth',
      method,
      scheme: proto,
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
      case 'allow':
        return allowResponse(inputs.identityHeaders);
      case 'unauthenticated':
        // Traefik and Caddy pass a non-2xx answer to the client as is, so gatehouse redirects
        // browsers itself; API and XHR clients get a 401 they can act on.
        return request.acceptsRedirect
          ? signInRedirect(request.method, inputs.signInUrl)
          : unauthorizedResponse(inputs, false);
      case 'forbidden':
        return forbiddenResponse();
    }
  },
};
