import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../dev/identity-provider.ts';
import {
  startTestIdentityProvider,
  testProviderOptions as provider,
} from '../../test/fixtures/oidc/provider-options.ts';
import { capturingLogger } from '../../test/fixtures/gatehouse/log-capture.ts';
import { Metrics } from '../metrics/metrics.ts';
import { ProviderRegistry } from './provider-registry.ts';
import { warnIfUserIsSubject } from './session-identity.ts';

describe('endSession without an end_session_endpoint', () => {
  let idp: DevIdentityProvider;
  beforeAll(async () => {
    idp = await startTestIdentityProvider();
  });
  afterAll(() => idp.close());

  async function discover(endSession: boolean, stripEndpoint: boolean) {
    const { logger, lines } = capturingLogger('info');
    const registry = new ProviderRegistry({
      providers: [provider(idp.issuer, { endSession })],
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (
          !stripEndpoint ||
          !String(input instanceof Request ? input.url : input).endsWith(
            '/.well-known/openid-configuration',
          )
        )
          return response;
        const { end_session_endpoint: _gone, ...metadata } = (await response.json()) as Record<
          string,
          unknown
        >;
        return Response.json(metadata);
      },
      logger,
      metrics: new Metrics({ collectProcessMetrics: false }),
    });
    await registry.start();
    registry.close();
    return lines
      .filter((line) => line.setting === 'providers[].endSession')
      .map((line) => line.msg);
  }

  it('warns at discovery, naming the setting', async () => {
    expect(await discover(true, true)).toEqual([
      expect.stringContaining(
        'endSession is true but the provider advertises no end_session_endpoint',
      ),
    ]);
    expect(await discover(true, false)).toEqual([]);
    expect(await discover(false, true)).toEqual([]);
  });
});

describe('user name falling back to sub', () => {
  it('warns once per provider at the first occurrence', () => {
    const { logger, lines } = capturingLogger('info');
    const corp = provider('https://login.example.com');
    warnIfUserIsSubject(logger, corp, { sub: 'x', preferred_username: 'alice' });
    expect(lines).toEqual([]);
    warnIfUserIsSubject(logger, corp, { sub: 'x' });
    warnIfUserIsSubject(logger, corp, { sub: 'y' });
    expect(lines.map((line) => line.msg)).toEqual([
      'provider "dev": the preferred_username claim (providers[].claims.username) is missing, so user names fall back to the opaque sub; request the profile scope, or set claims.username to a claim the provider sends (warned once)',
    ]);
    warnIfUserIsSubject(logger, provider('https://other.example.com', { name: 'other' }), {});
    expect(lines).toHaveLength(2);
    warnIfUserIsSubject(
      logger,
      provider('https://s.example.com', {
        name: 's',
        claims: { username: 'sub', email: 'email', name: 'name', groups: 'groups' },
      }),
      {},
    );
    expect(lines).toHaveLength(2);
  });
});
