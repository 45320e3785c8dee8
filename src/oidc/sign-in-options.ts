import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Identity } from '../authz/identity.ts';
import type { ProxyTrust } from '../dialects/proxy-trust.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { LoginStateStore } from '../sessions/login-state-store.ts';
import type { ReplayGuard } from '../sessions/replay-guard.ts';
import type { RevocationBus } from '../sessions/revocation-bus.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { Impersonation } from './impersonation.ts';
import type { ProviderRegistry } from './provider-registry.ts';
import type { SignInOrigins } from './sign-in-origins.ts';
import type { StepUpRequirement } from '../authz/step-up.ts';

/** The session cookie as configured (`sessions.cookie`). */
export interface SessionCookieOptions {
  /**
   * Default `_gatehouse`. The login-binding cookie is `__Host-<name>_login` when the public URL is
   * https, `<name>_login` over http (any `__Host-`/`__Secure-` prefix of `name` left out).
   */
  readonly name: string;
  /**
   * For one sign-in across subdomains; omitted: host-only. With several cookie domains, the one
   * of the origin the request is answered on (sign-in-origins.ts `atOrigin`).
   */
  readonly domain?: string | undefined;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
}

/**
 * The session-backend roles (sessions/session-backend.ts) the sign-in routes use between them.
 * Each flow names only its own, as `SignInOptions<Roles>`: the start `LoginStateStore`, the
 * callback `SessionStore & LoginStateStore`, sign-out `SessionStore`, back-channel logout
 * `SessionStore & ReplayGuard`, impersonation `SessionStore & RevocationBus`; `unknown`: none.
 */
export type SignInStore = SessionStore & LoginStateStore & ReplayGuard & RevocationBus;

/**
 * Everything the sign-in flow needs, as plain values; the composition root maps the configuration
 * onto it. Clock, randomness and fetch are injected so tests control them.
 */
export interface SignInOptions<Store = SignInStore> {
  /**
   * gatehouse's external URL (`https://auth.example.com`); the callback lives under it. With
   * several cookie domains, the URL of the sign-in origin a request is answered on
   * (sign-in-origins.ts `atOrigin`).
   */
  readonly publicUrl: string;
  /**
   * Sign-in on several hosts, one per cookie domain (`sessions.cookie.domains` and
   * `signInUrls`; sign-in-origins.ts): each sign-in request is answered as the origin its
   * `Host` names, others are refused. Absent: every request is answered as `publicUrl`.
   */
  readonly signInOrigins?: SignInOrigins | undefined;
  /** Prefix of the sign-in routes, `/oauth2` by default. */
  readonly routesPrefix: string;
  readonly cookie: SessionCookieOptions;
  readonly idleTimeoutMs: number;
  readonly absoluteLifetimeMs: number;
  readonly loginStateTtlMs: number;
  /** Refresh access tokens this long before they expire; 0 disables refreshing. */
  readonly refreshMarginMs: number;
  readonly allowedRedirectDomains: readonly string[];
  /** Where to go when no valid `rd` is given; unset: the public URL. */
  readonly defaultRedirectUrl?: string | undefined;
  /**
   * Allow `http://` destinations although the public URL is https (`redirects.allowHttp`);
   * default false.
   */
  readonly allowHttpRedirects?: boolean | undefined;
  /** Bounds on sign-in starts (`signIn`); absent: the defaults of `defaultSignInLimits`. */
  readonly signInLimits?: SignInLimits | undefined;
  /**
   * Which proxies' `X-Forwarded-For` / `X-Real-IP` name the client (`trustedProxies`), for the
   * per-client sign-in rate limit. Absent: that limit is not applied (only the global cap is),
   * since every client would otherwise share the ingress's address.
   */
  readonly proxyTrust?: ProxyTrust | undefined;
  readonly store: Store;
  readonly providers: ProviderRegistry;
  /**
   * Sign-in per organisation: the providers allowed for a destination (the validated `rd`), from
   * `spec.authentication.providers` of the policy that governs it (http/allowed-providers.ts);
   * undefined: every provider. `/oauth2/start` offers only those, and goes straight to the one
   * when there is one. Absent: every destination allows every provider.
   */
  readonly allowedProviders?: ((rd: string) => readonly string[] | undefined) | undefined;
  /**
   * Step-up per rule (issue #19): what the rule deciding `rd` asks of the sign-in (how recent,
   * how strong), so `/oauth2/start?rd=` asks the provider for it even when the proxy's sign-in
   * link carries nothing else (oidc/step-up.ts).
   */
  readonly stepUpFor?: ((rd: string) => StepUpRequirement | undefined) | undefined;
  readonly now: () => number;
  readonly fetch: typeof globalThis.fetch;
  readonly random?: ((size: number) => Buffer) | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Logins, logouts and revocations go to the audit trail. */
  readonly audit: AuditLog;
  /** Whom a denied person should ask, on `<prefix>/forbidden` (configuration `pages.forbiddenContact`). */
  readonly forbiddenContact?: string | undefined;
  /** The roles an identity holds, for `/userinfo` (cluster scope). */
  readonly rolesOf: (identity: Identity) => readonly string[];
  /** `<prefix>/impersonate` is mounted when set (configuration `impersonation.enabled`). */
  readonly impersonation?: Impersonation | undefined;
}

export interface SignInLimits {
  /** Starts one client may make per window; 0: no limit. */
  readonly clientRateLimit: number;
  readonly clientRateWindowMs: number;
  /** Most sign-ins pending at once across replicas; 0: no limit. */
  readonly maxPending: number;
}

/** The configuration defaults (`signIn` in config/schema.ts). */
export const defaultSignInLimits: SignInLimits = {
  clientRateLimit: 20,
  clientRateWindowMs: 60_000,
  maxPending: 10_000,
};

/** How the login-binding cookie is named and scoped; set and cleared with the same attributes. */
export interface LoginCookie {
  readonly name: string;
  readonly path: string;
  readonly secure: boolean;
}

/** Paths derived from the options, computed once. */
export interface SignInPaths {
  readonly prefix: string;
  readonly publicBase: string;
  readonly callbackUrl: string;
  readonly signedOutUrl: string;
  readonly stylesheetHref: string;
  readonly loginCookie: LoginCookie;
}

export function signInPaths(
  options: Pick<SignInOptions, 'publicUrl' | 'routesPrefix' | 'cookie'>,
): SignInPaths {
  const publicBase = options.publicUrl.replace(/\/+$/, '');
  const prefix = `/${options.routesPrefix.replace(/^\/+|\/+$/g, '')}`;
  const baseName = `${options.cookie.name.replace(/^__(?:Host|Secure)-/i, '')}_login`;
  return {
    prefix,
    publicBase,
    callbackUrl: `${publicBase}${prefix}/callback`,
    signedOutUrl: `${publicBase}${prefix}/signed-out`,
    stylesheetHref: `${prefix}/static/gatehouse.css`,
    // Over https the binding cookie is `__Host-`: browsers accept such a cookie only when it is
    // Secure, has no Domain and Path=/, so a sibling subdomain (or an http page on the same host)
    // cannot plant one, and a planted plain `<name>_login` is never read (login CSRF by cookie
    // tossing; RFC 6265bis §4.1.3.2, §8.8). Over http (local runs) no prefix can be honoured.
    loginCookie: publicBase.toLowerCase().startsWith('https:')
      ? { name: `__Host-${baseName}`, path: '/', secure: true }
      : { name: baseName, path: prefix, secure: options.cookie.secure },
  };
}
