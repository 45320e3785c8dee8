/** Everything one external-auth check needs (http/check-route.ts CheckDependencies). */
import type { AuthRequest } from '../authz/auth-request.ts';
import type { DecideOptions } from '../authz/decide.ts';
import type { Config } from '../config/schema.ts';
import type { ProxyTrust } from '../dialects/proxy-trust.ts';
import { bearerChallengeFor, type CheckDependencies } from '../http/check-route.ts';
import type { Authenticators } from './authenticators.ts';
import type { IdentityParts } from './identity.ts';
import type { CurrentSnapshot } from './policy.ts';
import type { Runtime } from './runtime.ts';
import { definedFields } from '../defined-fields.ts';
import type { Tracing } from '../tracing/tracing.ts';
import type { PageTheme } from '../http/pages.ts';
import { loadPageTheme } from '../http/sign-in/page-branding.ts';

/** The settings a check reads (a `Config` is one). */
export type CheckSettings = Pick<Config, 'publicUrl' | 'routes' | 'pages'> & {
  readonly bearer: { readonly issuers: readonly unknown[] };
  readonly identityHeaders: Pick<Config['identityHeaders'], 'rejectClientCopies'>;
  readonly providers: readonly {
    readonly name: string;
    readonly displayName?: string | undefined;
  }[];
};

export interface CheckParts {
  readonly authenticators: Pick<Authenticators, 'chain' | 'session' | 'basic' | 'impersonation'>;
  readonly identity: Pick<IdentityParts, 'headerProfiles' | 'assertion'>;
  readonly snapshot: CurrentSnapshot;
  readonly decideOptions: DecideOptions;
  /** Whose `X-Forwarded-*`, `X-Real-IP` and `X-Request-ID` count (`trustedProxies`). */
  readonly proxyTrust: ProxyTrust;
  /** One span per check when `tracing.enabled` (composition/tracing.ts). */
  readonly tracing?: Tracing | undefined;
  /** The pages' branding, loaded once at start (main.ts); absent: loaded from `config.pages`. */
  readonly pageTheme?: PageTheme | undefined;
}

export function buildCheckDependencies(
  config: CheckSettings,
  parts: CheckParts,
  runtime: Runtime,
): CheckDependencies {
  const { authenticators, identity } = parts;
  const signInStart = `${config.publicUrl.replace(/\/+$/, '')}${config.routes.prefix}/start`;
  return {
    authenticator: authenticators.chain,
    snapshot: parts.snapshot,
    decideOptions: parts.decideOptions,
    headerProfiles: identity.headerProfiles,
    ...definedFields({ assertion: identity.assertion }),
    proxyTrust: parts.proxyTrust,
    // RFC 6750 §3: an anonymous 401 tells API clients how to authenticate.
    bearerChallenge:
      config.bearer.issuers.length > 0 ? bearerChallengeFor(config.publicUrl) : undefined,
    now: runtime.now,
    rejectForgedIdentityHeaders: config.identityHeaders.rejectClientCopies,
    signInUrl: (request: AuthRequest) =>
      `${signInStart}?rd=${encodeURIComponent(request.originalUrl)}`,
    forbiddenContact: config.pages.forbiddenContact,
    pageTheme: parts.pageTheme ?? loadPageTheme(config.pages),
    signInBase: `${config.publicUrl.replace(/\/+$/, '')}${config.routes.prefix}`,
    // Sign-in per organisation: the 403 page's offers name providers as the chooser does.
    providerDisplayName: (name) =>
      config.providers.find((provider) => provider.name === name)?.displayName,
    metrics: runtime.metrics,
    audit: runtime.audit,
    logger: runtime.logger.child({ component: 'authz' }),
    basicChallenge: authenticators.basic?.challenge,
    impersonatorHeader: authenticators.impersonation !== undefined,
    tokensOf: (identity) => authenticators.session.tokensOf(identity),
    ...definedFields({ tracing: parts.tracing }),
  };
}
