/** The OpenID Providers users sign in with, and the refresher that keeps their sessions current. */
import type { Config } from '../config/schema.ts';
import { ProviderRegistry, type ProviderRegistryOptions } from '../oidc/provider-registry.ts';
import { TokenRefresher, type TokenRefresherOptions } from '../oidc/token-refresh.ts';
import type { Tracing } from '../tracing/tracing.ts';
import type { Runtime } from './runtime.ts';

/**
 * The registry of `providers[]` (the configuration's entries are its options as they are).
 * Discovery is not started: the caller starts it (`start()`) and closes it at shutdown.
 */
export function buildProviders(
  config: { readonly providers: ProviderRegistryOptions['providers'] },
  runtime: Runtime,
): ProviderRegistry {
  return new ProviderRegistry({
    providers: config.providers,
    fetch: runtime.fetch,
    logger: runtime.logger.child({ component: 'providers' }),
    metrics: runtime.metrics,
  });
}

/**
 * Renews access tokens within `sessions.refreshMargin` of their expiry and re-validates sessions
 * every `sessions.revalidateInterval`; undefined when both are 0.
 */
export function buildRefresher(
  sessions: Pick<Config['sessions'], 'refreshMargin' | 'revalidateInterval'>,
  parts: {
    readonly store: TokenRefresherOptions['store'];
    readonly providers: ProviderRegistry;
    /** Token and userinfo requests made during a traced check become child spans of it. */
    readonly tracing?: Tracing | undefined;
  },
  runtime: Runtime,
): TokenRefresher | undefined {
  if (sessions.refreshMargin <= 0 && sessions.revalidateInterval <= 0) return undefined;
  return new TokenRefresher({
    store: parts.store,
    providers: parts.providers,
    refreshMarginMs: sessions.refreshMargin,
    revalidateIntervalMs: sessions.revalidateInterval,
    now: runtime.now,
    logger: runtime.logger.child({ component: 'refresh' }),
    metrics: runtime.metrics,
    audit: runtime.audit,
    ...(parts.tracing === undefined ? {} : { tracer: parts.tracing.tracer }),
  });
}
