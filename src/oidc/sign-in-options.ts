import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Identity } from '../authn/identity.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { Impersonation } from './impersonation.ts';
import type { ProviderRegistry } from './provider-registry.ts';

/** The session cookie as configured (`sessions.cookie`). */
export interface SessionCookieOptions {
  /** Default `_gatehouse`; the login-binding cookie is `<name>_login`. */
  readonly name: string;
  /** For one sign-in across subdomains; omitted: host-only. */
  readonly domain?: string | undefined;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
}

/**
 * Everything the sign-in flow needs, as plain values; the composition root maps the configuration
 * onto it. Clock, randomness and fetch are injected so tests control them.
 */
export interface SignInOptions {
  /** gatehouse's external URL (`https://auth.example.com`); the callback lives under it. */
  readonly publicUrl: string;
  /** Prefix of the sign-in routes, `/oauth2` by default. */
  readonly routesPrefix: string;
  readonly cookie: SessionCookieOptions;
  readonly idleTimeoutMs: number;
  readonly absoluteLifetimeMs: number;
  readonly loginStateTtlMs: number;
  /** Refresh access tokens this long before they expire; 0 disables refreshing. */
  readonly refreshMarginMs: number;
  readonly allowedRedirectDomains: readonly string[];
  /** Where to go when no valid `rd` is given; empty: the public URL. */
  readonly defaultRedirectUrl: string;
  readonly store: SessionStore;
  readonly providers: ProviderRegistry;
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

/** Paths derived from the options, computed once. */
export interface SignInPaths {
  readonly prefix: string;
  readonly publicBase: string;
  readonly callbackUrl: string;
  readonly signedOutUrl: string;
  readonly stylesheetHref: string;
  readonly loginCookieName: string;
}

export function signInPaths(
  options: Pick<SignInOptions, 'publicUrl' | 'routesPrefix' | 'cookie'>,
): SignInPaths {
  const publicBase = options.publicUrl.replace(/\/+$/, '');
  const prefix = `/${options.routesPrefix.replace(/^\/+|\/+$/g, '')}`;
  return {
    prefix,
    publicBase,
    callbackUrl: `${publicBase}${prefix}/callback`,
    signedOutUrl: `${publicBase}${prefix}/signed-out`,
    stylesheetHref: `${prefix}/static/gatehouse.css`,
    loginCookieName: `${options.cookie.name}_login`,
  };
}
