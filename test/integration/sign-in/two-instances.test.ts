import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  check,
  devClient,
  flushPrefix,
  providerOptions,
  redisStore,
  reserveServer,
  signIn,
  signOut,
  startGatehouse,
  startProvider,
  type Gatehouse,
} from './harness.ts';

const prefix = `gatehouse-test:sign-in-two:${randomUUID()}:`;

/** Polls until the check answers `status`, for at most `withinMs`; returns the time it took. */
async function untilStatus(
  gatehouse: Gatehouse,
  cookie: string,
  status: number,
  withinMs: number,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await check(gatehouse, cookie)).status === status) return Date.now() - started;
    if (Date.now() - started > withinMs)
      throw new Error(`still not ${status} after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('two gatehouse instances sharing one Redis', () => {
  let idp: DevIdentityProvider;
  let first: Gatehouse;
  let second: Gatehouse;

  beforeAll(async () => {
    const reservedFirst = await reserveServer();
    const reservedSecond = await reserveServer();
    idp = await startProvider([devClient([reservedFirst, reservedSecond])]);
    // A long cache TTL: only the published revocation can make the other replica deny quickly.
    first = await startGatehouse({
      reserved: reservedFirst,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 60_000),
    });
    second = await startGatehouse({
      reserved: reservedSecond,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 60_000),
    });
  });

  afterAll(async () => {
    await first.close();
    await second.close();
    await first.store.close();
    await second.store.close();
    await idp.close();
    await flushPrefix(prefix);
  });

  it('a sign-out on one instance makes the other deny within a second', async () => {
    const jar = new CookieJar();
    await signIn(first, jar, 'alice');
    const cookie = jar.cookieHeader(first.url)!;
    // Both serve the session, and the second now has it cached.
    expect((await check(first, cookie)).status).toBe(200);
    expect((await check(second, cookie)).status).toBe(200);
    expect((await check(second, cookie)).status).toBe(200);

    expect((await signOut(first, jar)).status).toBe(302);
    expect(await untilStatus(second, cookie, 401, 1000)).toBeLessThan(1000);
  });

  it('a back-channel revocation received by one instance reaches the other within a second', async () => {
    const jar = new CookieJar();
    await signIn(second, jar, 'bob');
    const cookie = jar.cookieHeader(second.url)!;
    expect((await check(first, cookie)).status).toBe(200);
    expect((await check(second, cookie)).status).toBe(200);

    // The provider's back-channel logout goes to the first instance only.
    const deliveries = await idp.signOutUser('bob-0002');
    expect(deliveries.every((delivery) => delivery.ok)).toBe(true);
    expect(await untilStatus(second, cookie, 401, 1000)).toBeLessThan(1000);
    expect((await check(first, cookie)).status).toBe(401);
  });
});
