/**
 * Sign-in on several cookie domains (issue #20: `sessions.cookie.domains` with
 * `sessions.cookie.signInUrls`). Pure.
 *
 * A browser stores a cookie whose `Domain` attribute does not domain-match the host that set it
 * nowhere (RFC 6265 §5.3 step 6; RFC 6265bis §5.7 step 9), so a session cookie for
 * `example.org` cannot come from `auth.example.com`. Each cookie domain therefore has its own
 * sign-in origin, a host inside it where gatehouse's sign-in routes are also served: `publicUrl`
 * for the domain holding its host, an entry of `signInUrls` for every other one. A sign-in
 * request is answered as the origin its `Host` names:
 * - the OAuth `redirect_uri` and the `post_logout_redirect_uri` are built on that origin (each
 *   must be registered at the provider);
 * - the session cookie gets the configured domain containing that host (the longest, as
 *   oauth2-proxy picks among several `--cookie-domain`s, pkg/cookies `GetCookieDomain`; unlike
 *   it, on a dot boundary, and never a domain that does not contain the host, which browsers
 *   would drop);
 * - the login-binding cookie stays host-only (`__Host-` over https), so a callback is only ever
 *   completed on the host its sign-in started on.
 * A `Host` that names no configured origin is refused, never trusted: it only selects among
 * configured values, so a forged one can at worst pick a cookie the browser drops.
 */
import type { SessionCookieOptions, SignInOptions } from './sign-in-options.ts';

/** One host gatehouse's sign-in is served on. */
export interface SignInOrigin {
  /** Its base URL as configured (`publicUrl`, or an entry of `sessions.cookie.signInUrls`). */
  readonly publicUrl: string;
  /** Lower-case host name without port: what a request's `Host` is matched against. */
  readonly hostname: string;
  /** The cookie domain containing `hostname` (longest match); undefined: a host-only cookie. */
  readonly cookieDomain: string | undefined;
}

/** Every sign-in origin, `publicUrl`'s first; built once from the configuration. */
export interface SignInOrigins {
  readonly all: readonly SignInOrigin[];
}

/**
 * The origins of `publicUrl` and the further sign-in URLs, each with its cookie domain. The
 * configuration checks (config/checks.ts) keep the host names distinct and one per domain.
 */
export function buildSignInOrigins(
  publicUrl: string,
  signInUrls: readonly string[],
  cookieDomains: readonly string[],
): SignInOrigins {
  const all = [publicUrl, ...signInUrls].map((url): SignInOrigin => {
    const hostname = new URL(url).hostname;
    return {
      publicUrl: url.replace(/\/+$/, ''),
      hostname,
      cookieDomain: cookieDomainFor(hostname, cookieDomains),
    };
  });
  return { all };
}

/**
 * The configured domain the host lies in (equal to it, or a subdomain on a dot boundary), the
 * longest when several do; undefined when none does. A leading dot in the configuration
 * (`.example.com`, the RFC 2109 spelling) is ignored, as browsers ignore it (RFC 6265 §5.2.3).
 */
export function cookieDomainFor(hostname: string, domains: readonly string[]): string | undefined {
  const host = hostname.toLowerCase();
  let best: string | undefined;
  for (const entry of domains) {
    const domain = entry.toLowerCase().replace(/^\./, '');
    if (domain === '' || (host !== domain && !host.endsWith(`.${domain}`))) continue;
    if (best === undefined || domain.length > best.length) best = domain;
  }
  return best;
}

/**
 * The host name a `Host` header names (lower-case, no port, no trailing dot), or undefined when
 * the header is not a plain `host[:port]` (RFC 9110 §7.2): anything with a path, user
 * information, whitespace or a backslash is no host to sign in on.
 */
export function hostnameOfHostHeader(header: string | undefined): string | undefined {
  if (header === undefined || header === '' || header.length > 260) return undefined;
  if (/[/?#@\\\s]/.test(header)) return undefined;
  const url = URL.parse(`http://${header}`);
  if (url === null || url.hostname === '') return undefined;
  return url.hostname.replace(/\.$/, '');
}

/** The origin a sign-in request is for, by its `Host`; undefined: not a configured sign-in host. */
export function originOfRequestHost(
  origins: SignInOrigins,
  hostHeader: string | undefined,
): SignInOrigin | undefined {
  const hostname = hostnameOfHostHeader(hostHeader);
  return hostname === undefined
    ? undefined
    : origins.all.find((origin) => origin.hostname === hostname);
}

/**
 * The origin whose cookie domain holds `url`'s host (the one whose cookie that host receives);
 * undefined when no cookie domain does, or `url` is not absolute.
 */
export function originOfDestination(origins: SignInOrigins, url: string): SignInOrigin | undefined {
  const parsed = URL.parse(url);
  if (parsed === null) return undefined;
  const domain = cookieDomainFor(
    parsed.hostname,
    origins.all.flatMap((origin) =>
      origin.cookieDomain === undefined ? [] : [origin.cookieDomain],
    ),
  );
  return domain === undefined
    ? undefined
    : origins.all.find((origin) => origin.cookieDomain === domain);
}

/**
 * The sign-in options as seen on one origin: its URL as the public URL (callback, signed-out
 * page, relative destinations, same-origin checks) and its cookie domain as the cookie's. The
 * flows (login.ts, callback.ts, sign-out.ts) read nothing else of the host, so they run
 * unchanged on every origin.
 */
export function atOrigin<O extends Pick<SignInOptions<unknown>, 'publicUrl' | 'cookie'>>(
  options: O,
  origin: SignInOrigin,
): O {
  const cookie: SessionCookieOptions = { ...options.cookie, domain: origin.cookieDomain };
  return { ...options, publicUrl: origin.publicUrl, cookie };
}

/**
 * Where a sign-in for `destination` must run instead of on `options`' own origin: the origin of
 * the cookie domain holding the destination's host, when that is another origin (a session for
 * `app.example.org` can only be set from `auth.example.org`). Undefined: here.
 */
export function signInOriginElsewhere(
  options: Pick<SignInOptions<unknown>, 'publicUrl' | 'signInOrigins'>,
  destination: string,
): SignInOrigin | undefined {
  if (options.signInOrigins === undefined) return undefined;
  const target = originOfDestination(options.signInOrigins, destination);
  if (target === undefined) return undefined;
  return target.hostname === new URL(options.publicUrl).hostname ? undefined : target;
}
