import { buildAuthRequest } from './build-auth-request.ts';
import { allowResponse, forbiddenResponse, unauthorizedResponse } from './check-responses.ts';
import { malformedRequest } from './dialect.ts';
import type { Dialect } from './dialect.ts';
import { normaliseHost } from './host.ts';
import { parseMethod } from './method.ts';
import { hasOnlyUrlBytes, maxUrlLength, parseRequestTarget } from './request-target.ts';

/** `shop.example.com`, `app.test:8443`: lower-case labels, the last one starting with a letter. */
const plainAuthority =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z](?:[a-z0-9-]*[a-z0-9])?(?::\d{1,5})?$/;

/** scheme, authority, rest: split by hand so the path stays exactly as the client sent it. */
const absoluteUrl = /^(https?):\/\/([^/?#]*)(.*)$/i;

/**
 * ingress-nginx `auth-url`, NGINX Gateway Fabric and any `auth_request` (proxy-protocols.md §1).
 *
 * nginx overwrites `X-Original-URL` (`$scheme://$http_host$request_uri`), `X-Original-Method`,
 * `X-Real-IP` and `X-Forwarded-For` on the subrequest, so those are the only headers read.
 * `X-Forwarded-Host/-Uri/-Method` arrive from the client unchanged (observed) and are ignored.
 */
export const nginxDialect: Dialect = {
  name: 'nginx',

  parse(check, trust, requestId) {
    const { headers } = check;
    const raw = headers['x-original-url'];
    if (raw === undefined || raw === '') {
      throw malformedRequest(
        'X-Original-URL is missing: /authz/nginx answers nginx auth_request subrequests ' +
          '(ingress-nginx auth-url sets the header); use /authz/forward-auth or /authz/ext-authz for other proxies',
      );
    }
    if (raw.length > maxUrlLength) {
      throw malformedRequest(`X-Original-URL is longer than ${maxUrlLength} characters`);
    }
    if (!hasOnlyUrlBytes(raw)) {
      throw malformedRequest('X-Original-URL contains a space or a control character');
    }
    const parts = absoluteUrl.exec(raw);
    if (parts === null) {
      throw malformedRequest('X-Original-URL must be an absolute http:// or https:// URL');
    }
    const scheme = (parts[1] ?? '').toLowerCase() === 'https' ? 'https' : 'http';
    const authority = parts[2] ?? '';
    // A plain lower-case DNS name (its last label not numeric) reads the same to every parser;
    // anything else is also read the WHATWG way and refused when the readings differ.
    const url = plainAuthority.test(authority) ? null : URL.parse(raw);
    if (url === null && !plainAuthority.test(authority)) {
      throw malformedRequest('X-Original-URL must be an absolute http:// or https:// URL');
    }
    // Userinfo has no place in a request nginx routed and is the classic confusion vector
    // (`https://good.example@evil.example/`), so it is refused rather than stripped.
    if (authority.includes('@') || (url !== null && (url.username !== '' || url.password !== ''))) {
      throw malformedRequest('X-Original-URL must not contain user information');
    }
    const host = normaliseHost(authority, scheme);
    if (host === null) throw malformedRequest('X-Original-URL has an invalid host');
    // WHATWG URL rewrites some hosts (`0x7f.1` → `127.0.0.1`, `%61` → `a`); when it disagrees
    // with the raw reading, different components would see different hosts, so refuse.
    if (url !== null && !host.startsWith('[')) {
      const whatwg = url.hostname.replace(/\.$/, '') + (url.port === '' ? '' : `:${url.port}`);
      if (whatwg !== host) throw malformedRequest('X-Original-URL has an ambiguous host');
    }
    const rest = parts[3] ?? '';
    const target = parseRequestTarget(rest.startsWith('/') ? rest : `/${rest}`, 'X-Original-URL');

    const originalMethod = headers['x-original-method'];
    return buildAuthRequest({
      dialect: 'nginx',
      // nginx subrequests are GET; X-Original-Method carries the client's method. Plain
      // `auth_request` setups that do not set it are GET-only by nature.
      method:
        originalMethod === undefined ? 'GET' : parseMethod(originalMethod, 'X-Original-Method'),
      scheme,
      host,
      target,
      clientIp: trust.clientAddress(check.remoteAddress, headers, { realIpHeader: true }),
      requestId,
      headers,
    });
  },

  respond(decision, _request, inputs) {
    switch (decision.outcome) {
      case 'allow':
        return allowResponse(inputs.identityHeaders);
      case 'unauthenticated':
        // Never 3xx: nginx answers any auth status other than 2xx/401/403 with a 500
        // ("auth request unexpected status: 302"). The 401 carries the sign-in URL in
        // `Location` so `error_page 401 =302 $location` setups need no set-misc module.
        return unauthorizedResponse(inputs, true);
      case 'forbidden':
        return forbiddenResponse();
    }
  },
};
