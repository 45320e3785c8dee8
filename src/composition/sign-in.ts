/** The options of the sign-in routes (oidc/sign-in-options.ts), from the configuration. */
import type { Config } from '../config/schema.ts';
import type { DecideOptions } from '../authz/decide.ts';
import type { ProxyTrust } from '../dialects/proxy-trust.ts';
import { allowedProvidersForUrl, stepUpForUrl } from '../http/allowed-providers.ts';
import { loadPageTheme, type PageOptions } from '../http/sign-in/page-branding.ts';
import type { ProviderRegistry } from '../oidc/provider-registry.ts';
import type { SignInOptions } from '../oidc/sign-in-options.ts';
import { buildSignInOrigins, type SignInOrigins } from '../oidc/sign-in-origins.ts';
import { clusterRolesOf, type CurrentSnapshot } from './policy.ts';
import type { Runtime } from './runtime.ts';
import { definedFields } from '../defined-fields.ts';
import type { PageTheme } from '../http/pages.ts';

/** The settings sign-in reads (a `Config` is one). */
export type SignInSettings = Pick<
  Config,
  'publicUrl' | 'routes' | 'redirects' | 'signIn' | 'pages'
> & {
  readonly sessions: Pick<
    Config['sessions'],
    'cookie' | 'idleTimeout' | 'absoluteLifetime' | 'loginStateTtl' | 'refreshMargin'
  >;
};

export interface SignInParts {
  readonly store: SignInOptions['store'];
  readonly providers: ProviderRegistry;
  /**
   * Which proxies name the client, for the per-client sign-in rate limit (`trustedProxies`);
   * undefined: that limit is not applied.
   */
  readonly proxyTrust: ProxyTrust | undefined;
  /** The serving snapshot and how it decides: `/userinfo` roles, providers per destination. */
  readonly snapshot: CurrentSnapshot;
  readonly decideOptions: DecideOptions;
  /** Mounts `<prefix>/impersonate` when set. */
  readonly impersonation: SignInOptions['impersonation'];
  /** The pages' branding, loaded once at start (main.ts); absent: loaded from `config.pages`. */
  readonly pageTheme?: PageTheme | undefined;
}

/**
 * Reads `pages.logoFile` when set: a missing, oversized or non-image file stops the start
 * (http/sign-in/page-branding.ts).
 */
export function buildSignInOptions(
  config: SignInSettings,
  parts: SignInParts,
  runtime: Runtime,
): SignInOptions & PageOptions {
  const { sessions } = config;
  const { snapshot, decideOptions } = parts;
  const cookieDomains = cookieDomainsOf(sessions.cookie);
  // Several cookie domains: one sign-in host per domain (oidc/sign-in-origins.ts).
  const origins =
    sessions.cookie.signInUrls.length === 0
      ? undefined
      : buildSignInOrigins(config.publicUrl, sessions.cookie.signInUrls, cookieDomains);
  const domain = origins === undefined ? sessions.cookie.domain : origins.all[0]?.cookieDomain;
  return {
    publicUrl: config.publicUrl,
    signInOrigins: origins,
    routesPrefix: config.routes.prefix,
    cookie: {
      name: sessions.cookie.name,
      ...definedFields({ domain }),
      secure: sessions.cookie.secure,
      sameSite: sessions.cookie.sameSite,
    },
    idleTimeoutMs: sessions.idleTimeout,
    absoluteLifetimeMs: sessions.absoluteLifetime,
    loginStateTtlMs: sessions.loginStateTtl,
    refreshMarginMs: sessions.refreshMargin,
    allowedRedirectDomains: allowedRedirectDomainsOf(config, cookieDomains, origins),
    defaultRedirectUrl: config.redirects.defaultUrl,
    allowHttpRedirects: config.redirects.allowHttp,
    signInLimits: {
      clientRateLimit: config.signIn.clientRateLimit,
      clientRateWindowMs: config.signIn.clientRateWindow,
      maxPending: config.signIn.maxPending,
    },
    proxyTrust: parts.proxyTrust,
    store: parts.store,
    providers: parts.providers,
    now: runtime.now,
    fetch: runtime.fetch,
    logger: runtime.logger.child({ component: 'sign-in' }),
    metrics: runtime.metrics,
    audit: runtime.audit,
    forbiddenContact: config.pages.forbiddenContact,
    // The pages' branding, for the sign-in routes (http/sign-in/routes.ts).
    pageTheme: parts.pageTheme ?? loadPageTheme(config.pages),
    rolesOf: clusterRolesOf(snapshot, decideOptions),
    impersonation: parts.impersonation,
    // Sign-in per organisation: /oauth2/start offers only the providers rd's policy allows.
    allowedProviders: (rd) => allowedProvidersForUrl(rd, snapshot(), decideOptions),
    // Step-up per rule (issue #19): /oauth2/start asks the provider for what rd's rule needs.
    stepUpFor: (rd) => stepUpForUrl(rd, snapshot(), decideOptions),
  };
}

/** `sessions.cookie.domains`, or the single `domain` as a list of one (they are never both set). */
function cookieDomainsOf(cookie: SignInSettings['sessions']['cookie']): readonly string[] {
  if (cookie.domains.length > 0) return cookie.domains;
  return cookie.domain === undefined ? [] : [cookie.domain];
}

/**
 * `redirects.allowedDomains`, or when empty the cookie domains with their subdomains (issue #20):
 * a host that receives the session cookie is one sign-in serves. The further sign-in hosts are
 * always allowed, as `publicUrl`'s is (redirect-target.ts), so a sign-in moved to another
 * domain's host can still end on this one's pages.
 */
function allowedRedirectDomainsOf(
  config: SignInSettings,
  cookieDomains: readonly string[],
  origins: SignInOrigins | undefined,
): readonly string[] {
  const configured = config.redirects.allowedDomains;
  const allowed =
    configured.length > 0
      ? configured
      : cookieDomains.map((domain) => `.${domain.replace(/^\./, '')}`);
  const signInHosts = origins === undefined ? [] : origins.all.map((origin) => origin.hostname);
  return [...new Set([...allowed, ...signInHosts])];
}
