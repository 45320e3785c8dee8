/**
 * Changes at the provider take effect (issue 15, finding 5): a session is re-validated with the
 * provider every `sessions.revalidateInterval` (refresh token grant under the session's lock),
 * its groups and claims replaced by what the provider says now, and ended when the provider
 * refuses. Real parts: the dev OpenID Provider (oidc-provider) and Redis.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import type { DevUser } from '../../../dev/demo-users.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  check,
  devClient,
  flushPrefix,
  gatehouseFetch,
  providerOptions,
  redisStore,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  testClock,
  type Clock,
  type Gatehouse,
} from './harness.ts';

const prefix = `gatehouse-test:revalidation:${randomUUID()}:`;
const FIVE_MINUTES = 5 * 60 * 1000;

/** A user whose groups the test changes "at the provider" (the dev IdP reads them per token). */
const frank: { -readonly [K in keyof DevUser]: DevUser[K] } = {
  username: 'frank',
  password: 'frank',
  subject: 'frank-0007',
  email: 'frank@example.com',
  emailVerified: true,
  name: 'Frank',
  givenName: 'Frank',
  familyName: 'F',
  groups: ['admins', 'staff'],
};

describe('session revalidation with the provider (dev OpenID Provider, Redis)', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  let clock: Clock;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)], { extraUsers: [frank] });
    clock = testClock();
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 5000, clock),
      clock,
      revalidateIntervalMs: FIVE_MINUTES,
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
    await flushPrefix(prefix);
  });

  async function groupsOf(jar: CookieJar): Promise<unknown> {
    const response = await gatehouseFetch(jar, `${gatehouse.url}/oauth2/userinfo`);
    return response.status === 200 ? ((await response.json()) as { groups: unknown }).groups : null;
  }

  it('replaces the groups with the provider’s after the interval, and ends a refused session', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'frank');
    expect(await groupsOf(jar)).toEqual(['admins', 'staff']);

    frank.groups = ['staff']; // removed from admins at the provider
    clock.advance(FIVE_MINUTES - 10_000);
    expect(await groupsOf(jar)).toEqual(['admins', 'staff']); // not yet due
    clock.advance(20_000);
    const allowed = await check(gatehouse, jar.cookieHeader(gatehouse.url));
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-auth-request-groups')).toBe('staff');
    expect(await groupsOf(jar)).toEqual(['staff']);

    // The account is disabled at the provider: its grants are revoked.
    await idp.signOutUser(frank.subject);
    clock.advance(FIVE_MINUTES + 1000);
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(401);
    expect(await groupsOf(jar)).toBeNull();
  });
});
