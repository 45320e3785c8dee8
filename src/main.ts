/**
 * Composition root: turns a validated, frozen configuration into running listeners. Every
 * dependency is built here and handed down explicitly; nothing below reads configuration or
 * globals. `startGatehouse` is what the CLI's `serve` runs and what integration tests start; it
 * is a sequence of named steps, each built by one file of composition/.
 */
import type { Config } from './config/schema.ts';
import { ProxyTrust } from './dialects/proxy-trust.ts';
import type { Metrics } from './metrics/metrics.ts';
import type { PolicySource } from './policy/policy-source.ts';
import { buildAuthenticators, openHtpasswd } from './composition/authenticators.ts';
import { buildCheckDependencies } from './composition/check.ts';
import { Closers } from './composition/closers.ts';
import { buildIdentity } from './composition/identity.ts';
import { buildMainHandler, readinessChecks, startListeners } from './composition/listeners.ts';
import { buildPolicySource, decideOptionsFor, startPolicySource } from './composition/policy.ts';
import { buildProviders, buildRefresher } from './composition/providers.ts';
import { createRuntime, type RuntimeOptions } from './composition/runtime.ts';
import { openSessions } from './composition/sessions.ts';
import { buildTracing } from './composition/tracing.ts';
import { buildSignInOptions } from './composition/sign-in.ts';
import { loadPageTheme } from './http/sign-in/page-branding.ts';

/** How to start gatehouse: the logger, and the clock, fetch and metrics switch tests inject. */
export type StartOptions = RuntimeOptions;

export interface Gatehouse {
  /** `http://host:port` of the main listener as bound (port 0 resolves here). */
  readonly mainUrl: string;
  readonly operationsUrl: string;
  readonly metrics: Metrics;
  readonly policy: PolicySource;
  /** Fails readiness, waits `server.shutdownDelay`, drains in-flight requests, closes everything. */
  shutdown(reason?: string): Promise<void>;
}

export async function startGatehouse(config: Config, options: StartOptions): Promise<Gatehouse> {
  const runtime = createRuntime(options);
  const closers = new Closers();

  // First opened, last closed: the spans of the last checks are exported at shutdown.
  const tracingParts = await buildTracing(config, runtime);
  if (tracingParts !== undefined) closers.add(tracingParts.shutdown);
  const tracing = tracingParts?.tracing;

  const policy = await buildPolicySource(config, runtime);
  closers.add(() => policy.stop());
  const snapshot = () => policy.current();
  const decideOptions = decideOptionsFor(config);

  // Read before anything is opened: a bad htpasswd file or signing key stops the start.
  const htpasswd = await openHtpasswd(config, runtime);
  if (htpasswd !== undefined) {
    closers.add(() => {
      htpasswd.stop();
    });
  }
  const identity = await buildIdentity(config, runtime);

  const sessions = await openSessions(config, runtime, tracing);
  closers.add(() => sessions.close());

  const providers = buildProviders(config, runtime);
  // Discovery retries in the background until every provider answers; /readyz waits for it.
  void providers.start();
  closers.add(() => {
    providers.close();
  });
  const refresher = buildRefresher(
    config.sessions,
    { store: sessions.store, providers, tracing },
    runtime,
  );

  const authenticators = buildAuthenticators(
    config,
    {
      sessions: sessions.store,
      refresher,
      htpasswd,
      redis: sessions.redis,
      snapshot,
      decideOptions,
    },
    runtime,
  );

  const proxyTrust = new ProxyTrust(config.trustedProxies);
  // Read once (a logo file is read from disk here), for the check's 403 page and the sign-in's.
  const pageTheme = loadPageTheme(config.pages);
  const check = buildCheckDependencies(
    config,
    { authenticators, identity, snapshot, decideOptions, proxyTrust, tracing, pageTheme },
    runtime,
  );
  const signIn = buildSignInOptions(
    config,
    {
      store: sessions.store,
      providers,
      proxyTrust,
      snapshot,
      decideOptions,
      impersonation: authenticators.impersonation,
      pageTheme,
    },
    runtime,
  );
  const mainHandler = buildMainHandler(
    config,
    { check, signIn, signingKeys: identity.signingKeys },
    runtime,
  );

  await startPolicySource(policy, runtime.logger);
  const listeners = await startListeners(
    config,
    {
      mainHandler,
      readiness: readinessChecks({ policy, providers, sessions: sessions.store }),
      closers,
      policySource: policy.name,
    },
    runtime,
  );

  return {
    mainUrl: listeners.mainUrl,
    operationsUrl: listeners.operationsUrl,
    metrics: runtime.metrics,
    policy,
    shutdown: listeners.shutdown,
  };
}
