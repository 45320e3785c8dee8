import { buildAuthRequest } from './build-auth-request.ts';
import { allowResponse, forbiddenResponse, unauthorizedResponse } from './check-responses.ts';
import { malformedRequest } from './dialect.ts';
import type { Dialect, IncomingCheck } from './dialect.ts';
import { normaliseHost } from './host.ts';
import { parseMethod } from './method.ts';
import { hasOnlyUrlBytes, maxUrlLength, parseRequestTarget } from './request-target.ts';

/** `shop.example.com`, `app.test:8443`: lower-case labels, the last one starting with a letter. */
const plainAuthority =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z](?:[a-z0-9-]*[a-z0-9])?(?::\d{1,5})?$/;

/** scheme, authority, rest: split by hand so the path stays exactly as the client sent it. */
const absoluteUrl = /^(https?):\/\/([^/?#]*)(.*)$/i;

/** How `/authz/nginx` reads a check (configuration `dialects.nginx`). */
export interface NginxDialectOptions {
  /**
   * Refuse a check whose target does not carry the routed host (`?host=$host`). Off only for
   * setups whose own nginx configuration builds `X-Original-URL` from `$host`.
   */
  readonly requireRoutedHost: boolean;
}

/** `/authz/nginx?host=$host`: the query parameter that carries the host nginx routed. */
const routedHostParameter = 'host';

/**
 * The `host` parameters of the check's own target, raw. nginx interpolates `$host` into the
 * `auth-url` unescaped, and `$host` may hold any byte nginx's Host validation lets through
 * (`&`, `?`, `#`, `%`: ngx_http_validate_host only refuses `/`, `\`, NUL and bad dots), so a
 * client can make it look like two parameters: every occurrence is collected and more than one is
 * refused by the caller, never picked from.
 */
function routedHostValues(target: string): string[] {
  const query = target.indexOf('?');
  if (query === -1) return [];
  const values: string[] = [];
  for (const pair of target.slice(query + 1).split('&')) {
    const equals = pair.indexOf('=');
    const name = equals === -1 ? pair : pair.slice(0, equals);
    if (name === routedHostParameter) values.push(equals === -1 ? '' : pair.slice(equals + 1));
  }
  return values;
}

/** What nginx's `$host` can be when it names a host gatehouse could judge. */
const routedHostShape = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])$/;

/** `app.test:8443` → `app.test`, `[::1]:8443` → `[::1]`: `$host` never carries the port. */
function withoutPort(host: string): string {
  const colon = host.lastIndexOf(':');
  return colon === -1 || host.endsWith(']') ? host : host.slice(0, colon);
}

/**
 * The host nginx routed, from `?host=$host`, checked against the `X-Original-URL` host. nginx
 * builds `X-Original-URL` from `$http_host` (the client's `Host` header), but picks the server
 * block by `$host`, which is the request-line host when the request line is absolute-form (RFC
 * 9112 §3.2.2: `GET http://app/admin` + `Host: www`); judging `$http_host` would let a client
 * choose the policy its request is judged by.
 */
function checkRoutedHost(
  check: IncomingCheck,
  originalHost: string,
  scheme: 'http' | 'https',
  options: NginxDialectOptions,
): void {
  const values = routedHostValues(check.target);
  if (values.length === 0) {
    if (!options.requireRoutedHost) return;
    throw malformedRequest(
      'the check does not say which host nginx routed: add ?host=$host to the auth URL ' +
        '(ingress-nginx: nginx.ingress.kubernetes.io/auth-url: ' +
        '"http://<gatehouse service>/authz/nginx?host=$host"; plain nginx: ' +
        'proxy_pass http://<gatehouse>/authz/nginx?host=$host;). Without it a client can have ' +
        'one host judged while nginx serves another (docs/security.md)',
    );
  }
  if (values.length > 1) {
    throw malformedRequest('the check names the routed host more than once (?host=)');
  }
  // `$host` is a bare name or an IPv6 literal: never a port, never an escape to decode.
  const value = values[0] ?? '';
  const routed = routedHostShape.test(value) ? normaliseHost(value, scheme) : null;
  if (routed === null) {
    throw malformedRequest('the routed host (?host=$host) is not a valid host name');
  }
  if (routed !== withoutPort(originalHost)) {
    throw malformedRequest(
      `X-Original-URL names host "${withoutPort(originalHost)}" but nginx routed the request to ` +
        `"${routed}": the Host header and the request line disagree`,
    );
  }
}

/**
 * ingress-nginx `auth-url`, NGINX Gateway Fabric and any `auth_request` (docs/proxy-protocols.md).
 *
 * nginx overwrites `X-Original-URL` (`$scheme://$http_host$request_uri`), `X-Original-Method`,
 * `X-Real-IP` and `X-Forwarded-For` on the subrequest, so those are the only headers read, plus
 * the routed host that the auth URL itself carries (`?host=$host`). `X-Forwarded-Host/-Uri/
 * -Method` arrive from the client unchanged (observed) and are ignored.
 *
 * Every fact must be the one nginx routed to the upstream, or the check is refused (400): a host
 * followed by anything but `/` (`Host: app?` turns `http://app?/admin` into a judged `/`), a
 * `Host` header that differs from the routed host, a missing method (nginx subrequests are always
 * GET, so a missing `X-Original-Method` would judge a DELETE as a GET).
 */
export function createNginxDialect(options: NginxDialectOptions): Dialect {
  return {
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
      const rest = parts[3] ?? '';
      // `$request_uri` always starts with "/", so anything else after the authority came from
      // the client's Host header (`Host: app.example.com?` or `#`): nginx routed a path that
      // gatehouse cannot recover. Refused, never repaired.
      if (!rest.startsWith('/')) {
        throw malformedRequest(
          'X-Original-URL has something other than "/" after the host: the Host header held ' +
            'characters no host may hold (such as "?" or "#")',
        );
      }
      // A plain lower-case DNS name (its last label not numeric) reads the same to every parser;
      // anything else is also read the WHATWG way and refused when the readings differ.
      const plain = plainAuthority.test(authority);
      const url = plain ? null : URL.parse(raw);
      if (url === null && !plain) {
        throw malformedRequest('X-Original-URL must be an absolute http:// or https:// URL');
      }
      // Userinfo has no place in a request nginx routed and is the classic confusion vector
      // (`https://good.example@evil.example/`), so it is refused rather than stripped.
      if (
        authority.includes('@') ||
        (url !== null && (url.username !== '' || url.password !== ''))
      ) {
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
      checkRoutedHost(check, host, scheme, options);
      const target = parseRequestTarget(rest, 'X-Original-URL');

      // nginx subrequests are GET whatever the client sent: without X-Original-Method every
      // method-scoped rule would be judged as GET (an `api-reader` could DELETE).
      const originalMethod = headers['x-original-method'];
      if (originalMethod === undefined || originalMethod.trim() === '') {
        throw malformedRequest(
          'X-Original-Method is missing: nginx auth subrequests are always GET, so add ' +
            'proxy_set_header X-Original-Method $request_method; next to X-Original-URL ' +
            '(ingress-nginx sets both)',
        );
      }
      return buildAuthRequest({
        dialect: 'nginx',
        method: parseMethod(originalMethod, 'X-Original-Method'),
        scheme,
        host,
        target,
        clientIp: trust.clientAddress(check.remoteAddress, headers, { realIpHeader: true }),
        sourceAddress: trust.reportedClientAddress(check.remoteAddress, headers, {
          realIpHeader: true,
        }),
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
}

/** The dialect with the safe default: the routed host is required. */
export const nginxDialect: Dialect = createNginxDialect({ requireRoutedHost: true });
