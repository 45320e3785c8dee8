import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import { userWithManyGroups } from '../../../dev/demo-users.ts';
import { pageContentSecurityPolicy } from '../../../src/http/pages.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  APP_URL,
  PUBLIC_PAGE,
  check,
  devClient,
  flushPrefix,
  gatehouseFetch,
  memoryStore,
  providerOptions,
  redisStore,
  reserveServer,
  signIn,
  signOut,
  startGatehouse,
  startProvider,
  testClock,
  type Gatehouse,
  type ResponseLog,
} from './harness.ts';

const prefix = `gatehouse-test:sign-in-flow:${randomUUID()}:`;

/** At most one cookie set per response, besides the callback's expiry of the login binding. */
function expectAtMostOneSmallCookie(log: ResponseLog): void {
  for (const response of log) {
    const cookies = response.headers
      .getSetCookie()
      .filter((cookie) => !cookie.startsWith('_gatehouse_login=; '));
    expect(cookies.length, `${response.url} sets ${cookies.length} cookies`).toBeLessThanOrEqual(1);
    for (const cookie of cookies) expect(Buffer.byteLength(cookie)).toBeLessThan(4096);
  }
}

describe('sign-in flow (Redis store, dev OpenID Provider)', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)], { extraUsers: [userWithManyGroups(200)] });
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 3000),
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
    await flushPrefix(prefix);
  });

  it('signs in, lets the session through /authz/nginx with the identity headers, signs out', async () => {
    const jar = new CookieJar();
    const log: ResponseLog = [];
    const before = await check(gatehouse, jar.cookieHeader(gatehouse.url));
    expect(before.status).toBe(401);
    expect(before.headers.get('location')).toContain('/oauth2/start?rd=');

    const { location } = await signIn(gatehouse, jar, 'alice', {
      rd: 'https://app.test/orders?id=7',
      log,
    });
    expect(location).toBe('https://app.test/orders?id=7');
    const sessionCookie = log.at(-1)!.headers.getSetCookie()[0]!;
    expect(sessionCookie).toMatch(
      /^_gatehouse=v1\.[\w-]{43}\.[\w-]{43}; Path=\/; Max-Age=28800; HttpOnly; Secure; SameSite=Lax$/,
    );

    const allowed = await check(gatehouse, jar.cookieHeader(gatehouse.url));
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-auth-request-user')).toBe('alice');
    expect(allowed.headers.get('x-auth-request-email')).toBe('alice@example.com');
    expect(allowed.headers.get('x-auth-request-groups')).toBe('admins,staff');

    const userinfo = await gatehouseFetch(jar, `${gatehouse.url}/oauth2/userinfo`);
    expect(userinfo.status).toBe(200);
    expect(userinfo.headers.get('cache-control')).toBe('no-store');
    expect(await userinfo.json()).toMatchObject({
      user: 'alice',
      email: 'alice@example.com',
      name: 'Alice Admin',
      groups: ['admins', 'staff'],
      roles: expect.arrayContaining(['guest', 'authenticated']),
      provider: 'dev',
    });

    const signedOut = await signOut(gatehouse, jar, log);
    expect(signedOut.status).toBe(302);
    // The landing page names the provider, whose own session may live on (endSession is off).
    expect(signedOut.headers.get('location')).toBe(
      `/oauth2/signed-out?rd=${encodeURIComponent(APP_URL)}&provider=dev`,
    );
    expect(signedOut.headers.getSetCookie()[0]).toMatch(/^_gatehouse=; Path=\/; Max-Age=0;/);
    const cookieAfter = sessionCookie.split(';')[0]!;
    expect((await check(gatehouse, cookieAfter)).status).toBe(401);
    expect((await gatehouseFetch(jar, `${gatehouse.url}/oauth2/userinfo`)).status).toBe(401);
    expectAtMostOneSmallCookie(log);
    expect(
      await gatehouse.metrics.registry.getSingleMetricAsString('gatehouse_logins_total'),
    ).toContain('gatehouse_logins_total{provider="dev",stage="completed",reason=""} 1');
  });

  it('keeps every cookie under 4 KB and sets at most one per response with 200 groups', async () => {
    const jar = new CookieJar();
    const log: ResponseLog = [];
    await signIn(gatehouse, jar, 'many-groups', { rd: APP_URL, log });
    const allowed = await check(gatehouse, jar.cookieHeader(gatehouse.url));
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-auth-request-groups')?.split(',')).toHaveLength(200);
    expect(Buffer.byteLength(jar.cookieHeader(gatehouse.url) ?? '')).toBeLessThan(4096);
    await signOut(gatehouse, jar, log);
    expect(log.length).toBeGreaterThanOrEqual(4);
    expectAtMostOneSmallCookie(log);
  });

  it('sends a refused rd to the default URL after the callback, and keeps an allowed one', async () => {
    const refused = [
      '//evil.com',
      '/\\evil.com',
      'https://app.test.evil.com/',
      'https://good.test@evil.com/',
      'javascript:alert(1)',
    ];
    for (const rd of refused) {
      const { location } = await signIn(gatehouse, new CookieJar(), 'bob', { rd });
      expect(location, rd).toBe(APP_URL);
    }
    expect(
      (await signIn(gatehouse, new CookieJar(), 'bob', { rd: 'https://good.test/x' })).location,
    ).toBe('https://good.test/x');
    expect(
      (await signIn(gatehouse, new CookieJar(), 'bob', { rd: '/oauth2/userinfo' })).location,
    ).toBe(`${gatehouse.url}/oauth2/userinfo`);
  });

  it('treats tampered, truncated, oversized and unknown cookies as anonymous, never as an error', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'carol');
    const good = jar.get(gatehouse.url, '_gatehouse')!;
    const flipped = good.slice(0, -5) + (good.at(-5) === 'A' ? 'B' : 'A') + good.slice(-4);
    const variants = [
      flipped,
      good.slice(0, 40),
      `${good}x`,
      'x'.repeat(8000),
      `v1.${'A'.repeat(43)}.${'A'.repeat(43)}`,
      '%00%0d%0a',
      good.replace('v1.', 'v2.'),
    ];
    for (const value of variants) {
      const guarded = await check(gatehouse, `_gatehouse=${value}`);
      expect(guarded.status, value.slice(0, 20)).toBe(401);
      // A stale cookie does not block guest pages.
      expect((await check(gatehouse, `_gatehouse=${value}`, PUBLIC_PAGE)).status).toBe(200);
    }
    // Several cookies of the name: the first live one wins.
    expect((await check(gatehouse, `_gatehouse=${flipped}; _gatehouse=${good}`)).status).toBe(200);
    expect(
      await gatehouse.metrics.registry.getSingleMetricAsString('gatehouse_authentications_total'),
    ).toMatch(/method="session",result="stale"} \d+/);
  });

  it('renders pages with the strict CSP and no script', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'alice');
    const pages = [
      await gatehouseFetch(
        jar,
        `${gatehouse.url}/oauth2/sign_out?rd=${encodeURIComponent(APP_URL)}`,
      ),
      await gatehouseFetch(
        jar,
        `${gatehouse.url}/oauth2/signed-out?rd=${encodeURIComponent('//evil.com')}`,
      ),
      await gatehouseFetch(jar, `${gatehouse.url}/oauth2/callback?state=nope&code=x`),
      await gatehouseFetch(jar, `${gatehouse.url}/oauth2/callback?error=access_denied&state=x`),
      await gatehouseFetch(jar, `${gatehouse.url}/oauth2/start?provider=nope`),
    ];
    expect(pages.map((page) => page.status)).toEqual([200, 200, 400, 403, 400]);
    for (const page of pages) {
      expect(page.headers.get('content-security-policy')).toBe(pageContentSecurityPolicy);
      expect(page.headers.get('cache-control')).toBe('no-store');
      const html = await page.text();
      expect(html).toContain('<html lang="en">');
      expect(html).not.toMatch(/<script|style=|javascript:/i);
    }
    const signedOut = await gatehouseFetch(
      jar,
      `${gatehouse.url}/oauth2/signed-out?rd=${encodeURIComponent('//evil.com')}`,
    );
    expect(await signedOut.text()).toContain(`href="${APP_URL}"`);
    const expired = await gatehouseFetch(
      jar,
      `${gatehouse.url}/oauth2/callback?state=${'A'.repeat(43)}&code=x`,
    );
    const html = await expired.text();
    expect(html).toContain('expired');
    expect(html).toContain('href="/oauth2/start"');
    expect(html).toContain(expired.headers.get('x-request-id')!);
  });

  it('refuses a cross-site sign-out POST and one without the form token', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob');
    const post = (headers: Record<string, string>, body: string) =>
      gatehouseFetch(jar, `${gatehouse.url}/oauth2/sign_out`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    expect((await post({ origin: 'https://evil.com' }, 'csrf=x')).status).toBe(403);
    expect((await post({ 'sec-fetch-site': 'cross-site' }, 'csrf=x')).status).toBe(403);
    expect((await post({}, 'csrf=forged')).status).toBe(403);
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(200);
    // A GET never signs out.
    await gatehouseFetch(jar, `${gatehouse.url}/oauth2/sign_out`);
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(200);
  });

  it('a sign-out POST without a session still clears the cookie and lands on signed-out', async () => {
    const response = await fetch(`${gatehouse.url}/oauth2/sign_out`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: `_gatehouse=v1.${'A'.repeat(43)}.${'A'.repeat(43)}`,
      },
      body: 'csrf=&rd=%2F%2Fevil.com',
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(
      `/oauth2/signed-out?rd=${encodeURIComponent(APP_URL)}`,
    );
    expect(response.headers.getSetCookie()).toHaveLength(1);
    expect(response.headers.getSetCookie()[0]).toMatch(/^_gatehouse=; Path=\/; Max-Age=0;/);
  });
});

describe('sign-in flow (memory store): expiry, chooser, RP-initiated logout', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  const clock = testClock();

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)]);
    gatehouse = await startGatehouse({
      reserved,
      providers: [
        providerOptions(idp, { endSession: true }),
        providerOptions(idp, { name: 'other', displayName: 'Other <provider>' }),
      ],
      store: memoryStore(clock),
      clock,
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await idp.close();
  });

  it('offers a chooser with both providers, carrying the validated rd', async () => {
    const response = await fetch(
      `${gatehouse.url}/oauth2/start?rd=${encodeURIComponent('https://app.test/x')}`,
    );
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('href="/oauth2/start?provider=dev&amp;rd=https%3A%2F%2Fapp.test%2Fx"');
    expect(html).toContain('Sign in with Other &lt;provider&gt;');
    expect(html).not.toContain('<script');
  });

  it('ends the session at its idle timeout, judged by the clock', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'alice', { provider: 'dev' });
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(200);
    clock.advance(2 * 60 * 60 * 1000);
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(401);
  });

  it('signs out at the provider too when endSession is set, and comes back to signed-out', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob', { provider: 'dev' });
    const response = await signOut(gatehouse, jar);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin).toBe(idp.issuer);
    expect(location.searchParams.get('id_token_hint')).toEqual(expect.any(String));
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe(
      `${gatehouse.url}/oauth2/signed-out`,
    );
    expect(location.searchParams.get('state')).toBe(APP_URL);
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(401);
  });
});
