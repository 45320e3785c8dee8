import { createRemoteJWKSet, customFetch as joseCustomFetch, type JWTVerifyGetKey } from 'jose';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.ts';
import { describeError } from './describe-error.ts';
import type { ProviderOptions } from './provider-options.ts';
import { definedFields } from '../defined-fields.ts';

/**
 * The enabled OpenID Providers and their discovered metadata (OpenID Connect Discovery 1.0).
 *
 * Discovery runs at start, in the background, per provider, retrying with capped exponential
 * back-off so a provider that is down when gatehouse starts is picked up when it comes back.
 * `ready()` says whether every enabled provider is discovered; it is not a readiness condition
 * (composition/listeners.ts): a provider that is down fails only its own sign-ins.
 *
 * Issuers must be https (OAuth 2.0 Security BCP, RFC 9700 §2.6 / RFC 6749 §3.1); plain http is
 * allowed only for loopback and `*.localhost` hosts (the dev provider, tests), with a warning.
 */
export interface ProviderRegistryOptions {
  readonly providers: readonly ProviderOptions[];
  readonly fetch: typeof globalThis.fetch;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Waits `ms`, or resolves early when `signal` aborts; injected so tests need not wait. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** First retry delay (default 500 ms), doubled per attempt up to `maxRetryDelayMs` (30 s). */
  readonly initialRetryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** Per-request timeout of discovery and of later provider calls, in seconds (default 10). */
  readonly requestTimeoutSeconds?: number;
}

export type ProviderState = 'discovering' | 'ready';

export interface ProviderStatus {
  readonly name: string;
  readonly issuer: string;
  readonly state: ProviderState;
  readonly attempts: number;
  readonly lastError?: string;
}

/** A provider whose metadata is known: everything a login, refresh or logout needs. */
export interface DiscoveredProvider {
  readonly options: ProviderOptions;
  readonly config: client.Configuration;
  /** The provider's signing keys (for Back-Channel Logout tokens), cached by jose. */
  readonly jwks: JWTVerifyGetKey;
  /**
   * Asymmetric algorithms the provider says it signs ID tokens with: an explicit list for
   * jwtVerify (invariant 7). `none` and the HS* family are never accepted.
   */
  readonly signingAlgorithms: readonly string[];
}

interface Entry {
  readonly options: ProviderOptions;
  readonly insecure: boolean;
  discovered: DiscoveredProvider | null;
  attempts: number;
  lastError: string | undefined;
}

const DEFAULT_ALGORITHMS = ['RS256'];

export class ProviderRegistry {
  readonly #entries: Map<string, Entry>;
  readonly #options: ProviderRegistryOptions;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #abort = new AbortController();
  #started: Promise<void> | undefined;

  /** @throws TypeError when an issuer is not https (or http on loopback), or names repeat. */
  constructor(options: ProviderRegistryOptions) {
    this.#options = options;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#entries = new Map();
    for (const provider of options.providers) {
      if (provider.enabled === false) continue;
      if (this.#entries.has(provider.name)) {
        throw new TypeError(`provider "${provider.name}" is configured twice`);
      }
      const insecure = checkIssuer(provider);
      if (insecure) {
        options.logger.warn(
          { provider: provider.name, issuer: provider.issuer },
          'provider issuer uses plain http: acceptable on loopback for development only',
        );
      }
      this.#entries.set(provider.name, {
        options: provider,
        insecure,
        discovered: null,
        attempts: 0,
        lastError: undefined,
      });
    }
  }

  /**
   * Starts discovery of every enabled provider (once); resolves when all are discovered or
   * `close()` was called. Callers need not await it: `ready()` tells.
   */
  start(): Promise<void> {
    this.#started ??= Promise.all(
      [...this.#entries.values()].map((entry) => this.#discoverWithRetries(entry)),
    ).then(() => undefined);
    return this.#started;
  }

  /** True once every enabled provider is discovered. */
  ready(): boolean {
    for (const entry of this.#entries.values()) if (entry.discovered === null) return false;
    return true;
  }

  /** Enabled providers in configuration order, discovered or not. */
  enabled(): readonly ProviderOptions[] {
    return [...this.#entries.values()].map((entry) => entry.options);
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The discovered provider, or null when unknown or not discovered yet. */
  get(name: string): DiscoveredProvider | null {
    return this.#entries.get(name)?.discovered ?? null;
  }

  /** The discovered provider whose issuer identifier is exactly `issuer`. */
  byIssuer(issuer: string): DiscoveredProvider | null {
    for (const entry of this.#entries.values()) {
      if (entry.discovered?.config.serverMetadata().issuer === issuer) return entry.discovered;
    }
    return null;
  }

  status(): readonly ProviderStatus[] {
    return [...this.#entries.values()].map((entry) => ({
      name: entry.options.name,
      issuer: entry.options.issuer,
      state: entry.discovered === null ? 'discovering' : 'ready',
      attempts: entry.attempts,
      ...definedFields({ lastError: entry.lastError }),
    }));
  }

  /** Stops retrying discovery (shutdown). */
  close(): void {
    this.#abort.abort();
  }

  async #discoverWithRetries(entry: Entry): Promise<void> {
    const { logger, metrics } = this.#options;
    const initial = this.#options.initialRetryDelayMs ?? 500;
    const max = this.#options.maxRetryDelayMs ?? 30_000;
    const name = entry.options.name;
    while (!this.#abort.signal.aborted) {
      entry.attempts += 1;
      try {
        entry.discovered = await this.#discover(entry);
        entry.lastError = undefined;
        metrics.providerDiscovery.inc({ provider: name, result: 'success' });
        logger.info(
          { provider: name, issuer: entry.options.issuer, attempts: entry.attempts },
          'provider discovered',
        );
        // RP-Initiated Logout 1.0 §2: without end_session_endpoint there is nowhere to send the
        // browser, so sign-out silently ends only gatehouse's session (oidc/sign-out.ts).
        if (
          entry.options.endSession &&
          entry.discovered.config.serverMetadata().end_session_endpoint === undefined
        ) {
          logger.warn(
            { provider: name, issuer: entry.options.issuer, setting: 'providers[].endSession' },
            `provider "${name}": endSession is true but the provider advertises no end_session_endpoint, so sign-out ends the gatehouse session only, not the one at the provider`,
          );
        }
        return;
      } catch (error: unknown) {
        entry.lastError = error instanceof Error ? error.message : String(error);
        metrics.providerDiscovery.inc({ provider: name, result: 'failure' });
        const delay = Math.min(max, initial * 2 ** Math.min(entry.attempts - 1, 20));
        logger.warn(
          {
            provider: name,
            issuer: entry.options.issuer,
            attempts: entry.attempts,
            err: describeError(error),
            retryInMs: delay,
          },
          'provider discovery failed; retrying',
        );
        await this.#sleep(delay, this.#abort.signal);
      }
    }
  }

  async #discover(entry: Entry): Promise<DiscoveredProvider> {
    const { options } = entry;
    const fetchImpl = this.#options.fetch;
    const secret = options.clientSecret;
    const auth =
      secret === undefined
        ? client.None()
        : options.tokenEndpointAuthMethod === 'client_secret_post'
          ? client.ClientSecretPost(secret)
          : client.ClientSecretBasic(secret);
    // openid-client refuses plain http unless told, and recognises the telling by this very
    // function in `execute`; checkIssuer confines it to loopback and *.localhost issuers.
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
    const execute = entry.insecure ? [client.allowInsecureRequests] : [];
    const config = await client.discovery(new URL(options.issuer), options.clientId, secret, auth, {
      [client.customFetch]: (url, init) => fetchImpl(url, init as RequestInit),
      execute,
      timeout: this.#options.requestTimeoutSeconds ?? 10,
    });
    const metadata = config.serverMetadata();
    if (metadata.jwks_uri === undefined) throw new Error('the provider advertises no jwks_uri');
    const jwksUri = new URL(metadata.jwks_uri);
    if (jwksUri.protocol !== 'https:' && !entry.insecure) {
      throw new Error('the provider advertises a jwks_uri that is not https');
    }
    return {
      options,
      config,
      jwks: createRemoteJWKSet(jwksUri, {
        [joseCustomFetch]: (url, init) => fetchImpl(url, init),
        timeoutDuration: (this.#options.requestTimeoutSeconds ?? 10) * 1000,
      }),
      signingAlgorithms: asymmetricAlgorithms(metadata.id_token_signing_alg_values_supported),
    };
  }
}

/** Whether the issuer needs plain http (loopback only); throws for anything else that is not https. */
function checkIssuer(provider: ProviderOptions): boolean {
  const url = URL.parse(provider.issuer);
  if (url === null) throw new TypeError(`provider "${provider.name}": issuer is not a URL`);
  if (url.protocol === 'https:') return false;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return true;
  throw new TypeError(
    `provider "${provider.name}": issuer must be https (plain http only for loopback or *.localhost)`,
  );
}

export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    /^127(?:\.\d{1,3}){3}$/.test(hostname) ||
    hostname === '[::1]'
  );
}

function asymmetricAlgorithms(advertised: readonly string[] | undefined): readonly string[] {
  const usable = (advertised ?? DEFAULT_ALGORITHMS).filter(
    (alg) => alg !== 'none' && !alg.startsWith('HS'),
  );
  return usable.length === 0 ? DEFAULT_ALGORITHMS : usable;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    timer.unref();
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
