/**
 * Rules that span several settings, or that the schema cannot express, run on the decoded
 * configuration (durations in milliseconds). Pure: connectivity (Redis, issuers, key files) is
 * checked at start-up and by readiness, never here.
 */
import { getPublicSuffix } from 'tldts';
import { formatDuration } from './duration.ts';
import type { PathSegment, PendingProblem } from './problems.ts';
import type { Config } from './schema.ts';
import { builtInProfiles } from '../identity/header-profiles.ts';
import { reservedIdentityHeaderNames } from '../identity/reserved-header-names.ts';
import { parseExportHeaders } from '../tracing/exporter-settings.ts';

/** RFC 8725 §3.10 asks for a small leeway; minutes of skew would stretch every token. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::']);
// RFC 9110 §5.1 field-name = token.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function checkConfig(config: Config): PendingProblem[] {
  const problems: PendingProblem[] = [];
  const report = (segments: readonly PathSegment[], message: string): void => {
    problems.push({ segments, message });
  };
  checkCookie(config, report);
  checkServer(config, report);
  checkListeners(config, report);
  checkIdentityHeaders(config, report);
  checkSessions(config, report);
  checkBearer(config, report);
  checkProviders(config, report);
  checkPreAuthentication(config, report);
  checkBasicAuth(config, report);
  checkUnqualifiedSubjectSources(config, report);
  checkTracing(config, report);
  return problems;
}

/**
 * Settings that work but are probably not what the operator wants: loading succeeds, and
 * `gatehouse serve` logs each one at start-up (path and message, like a problem).
 */
export function warnConfig(config: Config): PendingProblem[] {
  const warnings: PendingProblem[] = [];
  const { cookie } = config.sessions;
  const publicUrl = new URL(config.publicUrl);
  // checkCookie refuses this for any other host; on loopback only Chromium and Firefox store a
  // Secure cookie over http (W3C Secure Contexts §3.2; WebKit bug 218980: Safari does not).
  if (cookie.secure && publicUrl.protocol === 'http:') {
    warnings.push({
      segments: ['sessions', 'cookie', 'secure'],
      message:
        'is true but publicUrl is http://: Chrome and Firefox keep Secure cookies from localhost, but Safari and most HTTP clients drop them, so sign-in loops there; serve https, or set secure: false for a local run',
    });
  }
  // Without a provider the sign-in has nothing to offer: every 401 sends a browser to a page
  // that cannot sign it in. Right for an API-only gatehouse, a mistake everywhere else.
  if (config.providers.filter((provider) => provider.enabled).length === 0) {
    warnings.push({
      segments: ['providers'],
      message:
        'no OpenID provider is configured (or none is enabled): nobody can sign in with a browser, and every rule that needs more than guest refuses them; add providers, or ignore this when only bearer tokens, pre-authentication or Basic are used',
    });
  }
  // The development identity provider is started by `make run` (dev/run-local.ts) alone;
  // `gatehouse serve` never starts one, so a configuration that enables it has providers that
  // point at nothing once it is served (issue #21: no setting that silently does nothing).
  if (config.devIdentityProvider.enabled) {
    warnings.push({
      segments: ['devIdentityProvider', 'enabled'],
      message:
        'is true, but only `make run` (dev/run-local.ts) starts the development identity provider; `gatehouse serve` does not, so providers pointing at it are unreachable. Remove devIdentityProvider from a configuration that is served',
    });
  }
  return warnings;
}

type Report = (segments: readonly PathSegment[], message: string) => void;

function checkCookie(config: Config, report: Report): void {
  const { cookie } = config.sessions;
  const publicUrl = new URL(config.publicUrl);
  // Browsers reject SameSite=None without Secure (RFC 6265bis §5.6.7; Chrome since 80).
  if (cookie.sameSite === 'none' && !cookie.secure) {
    report(['sessions', 'cookie', 'sameSite'], 'none requires sessions.cookie.secure: true');
  }
  // A Secure cookie is not stored from plain http, except on hosts browsers treat as
  // potentially trustworthy (W3C Secure Contexts §3.2: localhost and loopback).
  if (cookie.secure && publicUrl.protocol !== 'https:' && !isLoopbackHost(publicUrl.hostname)) {
    report(
      ['publicUrl'],
      'must be https when sessions.cookie.secure is true (browsers drop Secure cookies sent over http)',
    );
  }
  // Cookie name prefixes (RFC 6265bis §4.1.3): browsers silently drop a cookie breaking them.
  if (cookie.name.startsWith('__Secure-') && !cookie.secure) {
    report(
      ['sessions', 'cookie', 'name'],
      'a __Secure- cookie requires sessions.cookie.secure: true',
    );
  }
  if (
    cookie.name.startsWith('__Host-') &&
    (!cookie.secure || cookie.domain !== undefined || cookie.domains.length > 0)
  ) {
    report(
      ['sessions', 'cookie', 'name'],
      'a __Host- cookie requires sessions.cookie.secure: true and no sessions.cookie.domain or domains',
    );
  }
  if (cookie.domain !== undefined && cookie.domains.length > 0) {
    report(
      ['sessions', 'cookie', 'domains'],
      'cannot be combined with sessions.cookie.domain: list every domain in domains and leave domain empty',
    );
    return;
  }
  if (cookie.domains.length > 0 || cookie.signInUrls.length > 0) {
    checkCookieDomains(config, report);
    return;
  }
  // A browser refuses a Set-Cookie whose Domain does not cover the responding host (RFC 6265 §5.3).
  if (cookie.domain === undefined) return;
  const domain = cookie.domain.replace(/^\./, '').toLowerCase();
  const host = publicUrl.hostname;
  if (domain === '') return;
  const problem = cookieDomainProblem(domain);
  if (problem !== undefined) {
    report(['sessions', 'cookie', 'domain'], problem);
  } else if (host !== domain && !host.endsWith(`.${domain}`)) {
    report(
      ['sessions', 'cookie', 'domain'],
      `must be ${host} or a parent domain of it (publicUrl)`,
    );
  }
}

/**
 * Several cookie domains (`sessions.cookie.domains`) and their sign-in hosts (`publicUrl`,
 * `sessions.cookie.signInUrls`; oidc/sign-in-origins.ts). A browser stores a cookie only for a
 * domain containing the host that set it (RFC 6265 §5.3 step 6), so each domain needs exactly
 * one sign-in host inside it, and every sign-in host a domain to set. Nested domains would send
 * a host under both two session cookies of one name, and which one it reads would depend on the
 * browser's order (RFC 6265 §5.4 step 2 orders only by path).
 */
function checkCookieDomains(config: Config, report: Report): void {
  const { cookie } = config.sessions;
  const publicUrl = new URL(config.publicUrl);
  const at = (key: 'domains' | 'signInUrls', index?: number): PathSegment[] =>
    index === undefined ? ['sessions', 'cookie', key] : ['sessions', 'cookie', key, index];
  if (cookie.domains.length === 0) {
    report(
      at('signInUrls'),
      "needs sessions.cookie.domains: a further sign-in host serves a cookie domain that does not hold publicUrl's host",
    );
    return;
  }
  const domains = cookie.domains.map((entry) => entry.replace(/^\./, '').toLowerCase());
  const valid: { readonly domain: string; readonly index: number }[] = [];
  domains.forEach((domain, index) => {
    const first = domains.indexOf(domain);
    if (first !== index) {
      report(at('domains', index), `"${domain}" is already listed as entry ${first}`);
      return;
    }
    const problem = cookieDomainProblem(domain);
    if (problem !== undefined) {
      report(at('domains', index), problem);
      return;
    }
    const parent = domains.findIndex(
      (other, otherIndex) => otherIndex !== index && domain.endsWith(`.${other}`),
    );
    if (parent >= 0) {
      report(
        at('domains', index),
        `"${domain}" lies inside entry ${parent} (${domains[parent] ?? ''}): its hosts would receive both session cookies; keep only the parent`,
      );
      return;
    }
    valid.push({ domain, index });
  });
  const domainOf = (hostname: string): string | undefined =>
    valid.find(({ domain }) => hostname === domain || hostname.endsWith(`.${domain}`))?.domain;

  // The sign-in hosts: publicUrl's, then each further URL's.
  const hosts = new Map<string, string>([[publicUrl.hostname, 'publicUrl']]);
  const hostOfDomain = new Map<string, string>();
  const publicDomain = domainOf(publicUrl.hostname);
  if (publicDomain === undefined) {
    report(
      at('domains'),
      `must hold publicUrl's host ${publicUrl.hostname}: list it or a parent domain of it`,
    );
  } else {
    hostOfDomain.set(publicDomain, `publicUrl (${publicUrl.hostname})`);
  }
  cookie.signInUrls.forEach((text, index) => {
    const url = new URL(text);
    if (url.protocol !== publicUrl.protocol) {
      report(
        at('signInUrls', index),
        `must use ${publicUrl.protocol.slice(0, -1)}, like publicUrl: the login cookie and the redirect checks follow its scheme`,
      );
      return;
    }
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      report(at('signInUrls', index), 'must be a base URL, without user, query or fragment');
      return;
    }
    // As for publicUrl (checkCookie): a Secure cookie is not stored from plain http elsewhere.
    if (cookie.secure && url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) {
      report(
        at('signInUrls', index),
        'must be https when sessions.cookie.secure is true (browsers drop Secure cookies sent over http)',
      );
      return;
    }
    const taken = hosts.get(url.hostname);
    if (taken !== undefined) {
      report(at('signInUrls', index), `names the host ${url.hostname} of ${taken} again`);
      return;
    }
    hosts.set(url.hostname, `sessions.cookie.signInUrls[${index}]`);
    const domain = domainOf(url.hostname);
    if (domain === undefined) {
      report(
        at('signInUrls', index),
        `${url.hostname} lies in none of sessions.cookie.domains: a session cookie set there would hold for no configured domain`,
      );
      return;
    }
    const other = hostOfDomain.get(domain);
    if (other !== undefined) {
      report(
        at('signInUrls', index),
        `is a second sign-in host in ${domain}, after ${other}: keep one per cookie domain`,
      );
      return;
    }
    hostOfDomain.set(domain, `sessions.cookie.signInUrls[${index}] (${url.hostname})`);
  });
  for (const { domain, index } of valid) {
    if (hostOfDomain.has(domain)) continue;
    report(
      at('domains', index),
      `"${domain}" has no sign-in host: browsers take a cookie for ${domain} only from a host inside it (RFC 6265 §5.3), so add that host's URL (${publicUrl.protocol}//auth.${domain}) to sessions.cookie.signInUrls`,
    );
  }
}

/**
 * Why browsers would drop a cookie with this Domain attribute, if they would. RFC 6265 §5.3
 * step 5 (RFC 6265bis §5.7 step 9) ignores a Domain that is a public suffix, and browsers treat
 * an unlisted single label (`localhost`, `internal`) as one too (the PSL's implicit `*` rule):
 * the cookie is never stored and sign-in loops forever. The list is the Public Suffix List as
 * bundled by tldts (ICANN and private sections, so `github.io` counts), read offline.
 */
function cookieDomainProblem(domain: string): string | undefined {
  if (!domain.includes('.')) {
    return `"${domain}" is a single label: browsers drop such a cookie and sign-in loops; use a parent with at least two labels (demo.localhost for auth.demo.localhost and app.demo.localhost), or leave it empty`;
  }
  if (getPublicSuffix(domain, { allowPrivateDomains: true }) === domain) {
    return `"${domain}" is a public suffix (Public Suffix List): browsers refuse the cookie, and if they did not, every site under it would receive it; use your own registrable domain`;
  }
  return undefined;
}

function checkServer(config: Config, report: Report): void {
  const { requestTimeout, headersTimeout } = config.server;
  // Node's http.Server throws ERR_OUT_OF_RANGE at start-up otherwise.
  if (requestTimeout > 0 && headersTimeout > requestTimeout) {
    report(['server', 'headersTimeout'], 'must not be longer than server.requestTimeout');
  }
}

function checkListeners(config: Config, report: Report): void {
  const { main, operations } = config.listeners;
  if (overlaps(main, operations)) {
    report(['listeners', 'operations', 'port'], 'must differ from listeners.main.port');
  }
  const dev = config.devIdentityProvider;
  if (dev.enabled) {
    const devListener = { host: '127.0.0.1', port: dev.port };
    if (overlaps(main, devListener) || overlaps(operations, devListener)) {
      report(['devIdentityProvider', 'port'], 'must differ from the listener ports');
    }
  }
}

function overlaps(
  a: { readonly host: string; readonly port: number },
  b: { readonly host: string; readonly port: number },
): boolean {
  return (
    a.port === b.port &&
    (a.host === b.host || WILDCARD_HOSTS.has(a.host) || WILDCARD_HOSTS.has(b.host))
  );
}

function checkIdentityHeaders(config: Config, report: Report): void {
  const headers = config.identityHeaders;
  if (headers.profile === 'custom' && Object.keys(headers.custom).length === 0) {
    report(['identityHeaders', 'custom'], 'must name at least one header when profile is custom');
  }
  for (const name of Object.keys(headers.custom)) {
    if (!HEADER_NAME.test(name)) {
      report(['identityHeaders', 'custom', name], 'is not a valid header name');
    }
  }
  if (
    headers.assertion.enabled &&
    headers.assertion.signingKeyFile === undefined &&
    !headers.assertion.generateKey
  ) {
    report(
      ['identityHeaders', 'assertion', 'signingKeyFile'],
      'is required when the assertion is enabled (or set generateKey: true for a single-replica local run)',
    );
  }
  if (headers.assertion.ttl < 1000) {
    report(['identityHeaders', 'assertion', 'ttl'], 'must be at least 1s');
  }
  // Upstreams are told an assertion lives at most a minute; a longer one widens replay windows.
  if (headers.assertion.ttl > 60_000) {
    report(['identityHeaders', 'assertion', 'ttl'], 'must be at most 60s');
  }
}

function checkSessions(config: Config, report: Report): void {
  const sessions = config.sessions;
  for (const key of ['idleTimeout', 'absoluteLifetime', 'loginStateTtl'] as const) {
    if (sessions[key] === 0) report(['sessions', key], 'must be longer than 0s');
  }
  if (sessions.idleTimeout > sessions.absoluteLifetime) {
    report(['sessions', 'idleTimeout'], 'must not be longer than sessions.absoluteLifetime');
  }
  if (sessions.store !== 'redis') return;
  const redis = sessions.redis;
  if (redis.mode === 'standalone' && redis.url === '') {
    report(['sessions', 'redis', 'url'], 'is required when sessions.store is redis (standalone)');
  }
  if (redis.mode === 'sentinel') {
    if (redis.sentinels.length === 0) {
      report(
        ['sessions', 'redis', 'sentinels'],
        'must list at least one sentinel (mode: sentinel)',
      );
    }
    if (redis.sentinelName === '') {
      report(['sessions', 'redis', 'sentinelName'], 'is required (mode: sentinel)');
    }
  }
  if (redis.mode === 'cluster' && redis.clusterNodes.length === 0) {
    report(['sessions', 'redis', 'clusterNodes'], 'must list at least one node (mode: cluster)');
  }
}

function checkBearer(config: Config, report: Report): void {
  const issuers = config.bearer.issuers;
  reportDuplicateNames(issuers, ['bearer', 'issuers'], report);
  issuers.forEach((issuer, index) => {
    if (issuer.clockSkew > MAX_CLOCK_SKEW_MS) {
      report(
        ['bearer', 'issuers', index, 'clockSkew'],
        `must be at most ${formatDuration(MAX_CLOCK_SKEW_MS)} (is ${formatDuration(issuer.clockSkew)})`,
      );
    }
  });
}

function checkProviders(config: Config, report: Report): void {
  reportDuplicateNames(config.providers, ['providers'], report);
  config.providers.forEach((provider, index) => {
    // OpenID Connect Core 1.0 §3.1.2.1: without `openid` the request is plain OAuth 2.0.
    if (!provider.scopes.includes('openid')) {
      report(['providers', index, 'scopes'], 'must include openid');
    }
  });
}

function reportDuplicateNames(
  items: readonly { readonly name: string }[],
  listPath: readonly PathSegment[],
  report: Report,
): void {
  const firstIndex = new Map<string, number>();
  items.forEach((item, index) => {
    const first = firstIndex.get(item.name);
    if (first === undefined) firstIndex.set(item.name, index);
    else report([...listPath, index, 'name'], `"${item.name}" is already used by entry ${first}`);
  });
}

/** Hosts browsers treat as secure contexts even over http (localhost, *.localhost, loopback). */
function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '127.0.0.1' ||
    hostname === '[::1]'
  );
}

/** Pre-authentication without both guards would let anyone assert an identity (CWE-290). */
function checkPreAuthentication(config: Config, report: Report): void {
  const preauth = config.preAuthentication;
  if (!preauth.enabled) return;
  if (preauth.trustedProxies.length === 0) {
    report(
      ['preAuthentication', 'trustedProxies'],
      'must list the SSO fronts when preAuthentication is enabled',
    );
  }
  if ((preauth.sharedSecret ?? '').length < 16) {
    report(
      ['preAuthentication', 'sharedSecret'],
      'must have at least 16 characters when preAuthentication is enabled',
    );
  }
  // The front's headers reach gatehouse in the client request: a name gatehouse also sends
  // upstream would be refused as a forged identity header (identityHeaders.rejectClientCopies).
  const identityNames = new Set<string>(reservedIdentityHeaderNames);
  for (const profile of Object.values(builtInProfiles)) {
    for (const name of Object.keys(profile.headers)) identityNames.add(name.toLowerCase());
  }
  for (const name of Object.keys(config.identityHeaders.custom)) {
    identityNames.add(name.toLowerCase());
  }
  for (const key of ['sharedSecretHeader', 'remoteUserHeader', 'groupsHeader'] as const) {
    const value = preauth[key];
    // remoteUserHeader and groupsHeader may be unset; sharedSecretHeader may not (its schema).
    if (value === undefined) continue;
    if (!HEADER_NAME.test(value)) {
      report(['preAuthentication', key], 'is not a valid header name');
    } else if (identityNames.has(value.toLowerCase())) {
      report(
        ['preAuthentication', key],
        `is an identity header gatehouse sends upstream, so a request carrying it is refused as a forged copy; use another name (e.g. x-preauth-user)`,
      );
    }
  }
  // Without forwarded addresses believed, the client address is the ingress itself.
  if (config.trustedProxies.length === 0) {
    report(
      ['trustedProxies'],
      'must list the ingress controllers when preAuthentication is enabled (the fronts are recognised by the client address the ingress forwards)',
    );
  }
}

function checkBasicAuth(config: Config, report: Report): void {
  const basic = config.basicAuth;
  if (basic.enabled && basic.htpasswdFile === undefined) {
    report(['basicAuth', 'htpasswdFile'], 'is required when basicAuth is enabled');
  }
  // RFC 7617 §2: the realm is a quoted-string; keep it printable and quote-free.
  if (!/^[\u0020\u0021\u0023-\u005B\u005D-\u007E]+$/.test(basic.realm)) {
    report(['basicAuth', 'realm'], 'must be printable ASCII without " or \\');
  }
  for (const key of ['findTime', 'banTime'] as const) {
    if (basic.throttle[key] < 1000) report(['basicAuth', 'throttle', key], 'must be at least 1s');
  }
}

/**
 * `authz.unqualifiedSubjectSources` names sources that exist: a typo would silently take every
 * unqualified role away from the users it meant, or (worse) mean a source added later inherits
 * them without anyone deciding so.
 */
function checkUnqualifiedSubjectSources(config: Config, report: Report): void {
  const providers = new Set(config.providers.map((provider) => provider.name));
  const issuers = new Set(config.bearer.issuers.map((issuer) => issuer.name));
  config.authz.unqualifiedSubjectSources.forEach((source, index) => {
    const at = ['authz', 'unqualifiedSubjectSources', index];
    if (source.startsWith('provider/')) {
      const name = source.slice('provider/'.length);
      if (!providers.has(name)) report(at, `names provider "${name}", which is not configured`);
    } else if (source.startsWith('issuer/')) {
      const name = source.slice('issuer/'.length);
      if (!issuers.has(name)) report(at, `names bearer issuer "${name}", which is not configured`);
    } else if (source === 'preauth' && !config.preAuthentication.enabled) {
      report(at, 'is preauth, but preAuthentication is not enabled');
    } else if (source === 'basic' && !config.basicAuth.enabled) {
      report(at, 'is basic, but basicAuth is not enabled');
    }
  });
}

/**
 * Tracing (issue #20). The trace-context headers (W3C Trace Context `traceparent`, `tracestate`;
 * W3C Baggage `baggage`) are the proxies' to send, traced or not: as an identity or a
 * pre-authentication header, the proxy's own value would be refused as a forged copy or read as
 * who the user is. So they are refused as such whether or not gatehouse traces.
 */
function checkTracing(config: Config, report: Report): void {
  const traceHeaders = new Set(['traceparent', 'tracestate', 'baggage']);
  for (const name of Object.keys(config.identityHeaders.custom)) {
    if (traceHeaders.has(name.toLowerCase())) {
      report(
        ['identityHeaders', 'custom', name],
        'is a trace-context header the proxies send with every traced request (W3C Trace Context); it cannot carry an identity, use another name',
      );
    }
  }
  const preauth = config.preAuthentication;
  for (const key of ['sharedSecretHeader', 'remoteUserHeader', 'groupsHeader'] as const) {
    if (traceHeaders.has((preauth[key] ?? '').toLowerCase())) {
      report(
        ['preAuthentication', key],
        'is a trace-context header the proxies send with every traced request (W3C Trace Context); it cannot carry an identity, use another name',
      );
    }
  }
  const { tracing } = config;
  // Secret: the message names the entry, never its value (exporter-settings.ts).
  const headers = parseExportHeaders(tracing.headers);
  if (!headers.ok) report(['tracing', 'headers'], headers.message);
  // The signal-specific URL is used as written (OTLP exporter specification): a collector's
  // base URL there would post traces to `/`, which collectors answer with 404.
  const endpoint = tracing.endpoint === undefined ? null : URL.parse(tracing.endpoint);
  if (endpoint !== null && endpoint.pathname === '/') {
    report(
      ['tracing', 'endpoint'],
      // The origin, not the URL: credentials written into it stay out of the message.
      `is the collector's base URL; OTLP/HTTP traces go to its /v1/traces path (e.g. ${endpoint.origin}/v1/traces)`,
    );
  }
}
