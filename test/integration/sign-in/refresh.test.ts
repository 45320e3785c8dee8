import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import { parseTicket } from '../../../src/sessions/ticket.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  check,
  devClient,
  flushPrefix,
  providerOptions,
  redisStore,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  testClock,
  type Gatehouse,
  urlOf,
} from './harness.ts';

const prefix = `gatehouse-test:sign-in-refresh:${randomUUID()}:`;
const ACCESS_TOKEN_TTL_S = 60;
const MARGIN_MS = 30_000;

function bodyOf(init: RequestInit | undefined): string {
  const body = init?.body;
  return body instanceof URLSearchParams ? body.toString() : typeof body === 'string' ? body : '';
}

describe('access-token refresh (Redis store, one refresh per session at a time)', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  const clock = testClock();
  let refreshGrants = 0;

  beforeAll(async () => {
    const reserved = await reserveServer();
    // No back-channel logout URI: the provider ending the grant must be noticed through refresh.
    const { backchannelLogoutUri: _unused, ...client } = devClient(reserved);
    idp = await startProvider([client], { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S });
    const countingFetch: typeof fetch = (input, init) => {
      if (urlOf(input).endsWith('/token') && bodyOf(init).includes('grant_type=refresh_token')) {
        refreshGrants += 1;
      }
      return fetch(input, init);
    };
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 3000, clock),
      clock,
      fetch: countingFetch,
      refreshMarginMs: MARGIN_MS,
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
    await flushPrefix(prefix);
  });

  async function sessionOf(jar: CookieJar) {
    return gatehouse.store.get(parseTicket(jar.get(gatehouse.url, '_gatehouse'))!, {
      bypassCache: true,
    });
  }

  it('does not refresh while the access token is far from expiry', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'alice');
    const before = refreshGrants;
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(200);
    expect(refreshGrants).toBe(before);
  });

  it('refreshes once for many concurrent requests near expiry, and all of them pass', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob');
    const cookie = jar.cookieHeader(gatehouse.url)!;
    const old = await sessionOf(jar);
    clock.advance(ACCESS_TOKEN_TTL_S * 1000 - MARGIN_MS / 2);
    const before = refreshGrants;

    const responses = await Promise.all(Array.from({ length: 8 }, () => check(gatehouse, cookie)));
    expect(responses.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect(refreshGrants - before).toBe(1);

    const renewed = await sessionOf(jar);
    expect(renewed?.tokens.accessToken).not.toBe(old?.tokens.accessToken);
    expect(renewed?.tokens.refreshToken).not.toBe(old?.tokens.refreshToken);
    expect(renewed?.tokens.accessTokenExpiresAt).toBeGreaterThan(clock.now() + MARGIN_MS);
    // Fresh again: later requests do not refresh.
    expect((await check(gatehouse, cookie)).status).toBe(200);
    expect(refreshGrants - before).toBe(1);
    expect(
      await gatehouse.metrics.registry.getSingleMetricAsString('gatehouse_token_refreshes_total'),
    ).toContain('result="success"} 1');
  });

  it('ends the session when the provider refuses the refresh token (invalid_grant)', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'carol');
    const cookie = jar.cookieHeader(gatehouse.url)!;
    expect((await check(gatehouse, cookie)).status).toBe(200);
    await idp.signOutUser('carol-0003'); // revokes the grant at the provider
    clock.advance(ACCESS_TOKEN_TTL_S * 1000 - MARGIN_MS / 2);

    expect((await check(gatehouse, cookie)).status).toBe(401);
    expect(await sessionOf(jar)).toBeNull();
    expect((await check(gatehouse, cookie)).status).toBe(401);
    expect(
      await gatehouse.metrics.registry.getSingleMetricAsString(
        'gatehouse_session_revocations_total',
      ),
    ).toContain('source="invalid-grant"} 1');
  });
});
