import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../dev/identity-provider.ts';
import {
  startTestIdentityProvider,
  testProviderOptions as provider,
} from '../../test/fixtures/oidc/provider-options.ts';
import { Metrics } from '../metrics/metrics.ts';
import { ProviderRegistry, isLoopbackHost } from './provider-registry.ts';

const silent = pino({ level: 'silent' });

describe('ProviderRegistry', () => {
  let idp: DevIdentityProvider;

  beforeAll(async () => {
    idp = await startTestIdentityProvider();
  });
  afterAll(() => idp.close());

  it('retries discovery with capped exponential back-off and is ready once the provider answers', async () => {
    let failuresLeft = 4;
    const delays: number[] = [];
    const metrics = new Metrics({ collectProcessMetrics: false });
    const registry = new ProviderRegistry({
      providers: [provider(idp.issuer)],
      fetch: (input, init) => {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          return Promise.reject(new TypeError('fetch failed'));
        }
        return fetch(input, init);
      },
      logger: silent,
      metrics,
      initialRetryDelayMs: 100,
      maxRetryDelayMs: 500,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
    });
    expect(registry.ready()).toBe(false);
    expect(registry.get('dev')).toBeNull();
    await registry.start();
    expect(delays).toEqual([100, 200, 400, 500]);
    expect(registry.ready()).toBe(true);
    expect(registry.status()).toEqual([
      { name: 'dev', issuer: idp.issuer, state: 'ready', attempts: 5 },
    ]);
    const discovered = registry.get('dev')!;
    expect(registry.byIssuer(idp.issuer)).toBe(discovered);
    expect(registry.byIssuer('https://elsewhere.example')).toBeNull();
    expect(discovered.signingAlgorithms).not.toContain('none');
    expect(discovered.signingAlgorithms.some((alg) => alg.startsWith('HS'))).toBe(false);
    expect(discovered.signingAlgorithms).toContain('RS256');
    expect(
      await metrics.registry.getSingleMetricAsString('gatehouse_provider_discovery_total'),
    ).toContain('result="failure"} 4');
  });

  it('stays not ready while a provider is unreachable, and stops retrying on close', async () => {
    let attempts = 0;
    const registry = new ProviderRegistry({
      providers: [provider(idp.issuer), provider('https://down.example', { name: 'down' })],
      fetch: (input, init) => {
        if (
          (typeof input === 'string'
            ? input
            : input instanceof URL
              ? input.href
              : input.url
          ).startsWith('https://down.example')
        ) {
          attempts += 1;
          return Promise.reject(new TypeError('fetch failed'));
        }
        return fetch(input, init);
      },
      logger: silent,
      metrics: new Metrics({ collectProcessMetrics: false }),
      sleep: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    const started = registry.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(registry.get('dev')).not.toBeNull();
    expect(registry.ready()).toBe(false);
    expect(registry.status().find((status) => status.name === 'down')).toMatchObject({
      state: 'discovering',
      lastError: 'fetch failed',
    });
    registry.close();
    await started;
    const after = attempts;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(attempts).toBe(after);
  });

  it('skips disabled providers and refuses plain http outside loopback', () => {
    const options = {
      fetch,
      logger: silent,
      metrics: new Metrics({ collectProcessMetrics: false }),
    };
    const registry = new ProviderRegistry({
      ...options,
      providers: [
        provider('http://idp.localhost', { enabled: false }),
        provider('https://idp.example', { name: 'on' }),
      ],
    });
    expect(registry.enabled().map((entry) => entry.name)).toEqual(['on']);
    expect(
      () => new ProviderRegistry({ ...options, providers: [provider('http://idp.example.com')] }),
    ).toThrow(/https/);
    expect(
      () => new ProviderRegistry({ ...options, providers: [provider('http://127.0.0.1.nip.io')] }),
    ).toThrow(/https/);
    expect(
      () =>
        new ProviderRegistry({
          ...options,
          providers: [provider('https://a'), provider('https://b')],
        }),
    ).toThrow(/twice/);
    expect(
      ['localhost', 'idp.localhost', '127.0.0.1', '127.1.2.3', '[::1]'].every(isLoopbackHost),
    ).toBe(true);
    expect(['localhost.evil.com', '128.0.0.1', 'example.com'].some(isLoopbackHost)).toBe(false);
  });
});
