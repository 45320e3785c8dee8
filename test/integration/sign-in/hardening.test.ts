import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import { ProxyTrust } from '../../../src/dialects/proxy-trust.ts';
import { metricValue } from '../../fixtures/gatehouse/metrics-text.ts';
import { browserlessLogin } from '../../fixtures/oidc/browserless-login.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  APP_URL,
  devClient,
  flushPrefix,
  gatehouseFetch,
  memoryStore,
  providerOptions,
  redisStore,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  testClock,
  type Gatehouse,
} from './harness.ts';

/**
 * Hardening of the sign-in flow: the login-binding cookie cannot be tossed in by a sibling
 * subdomain (`__Host-` prefix, RFC 6265bis §4.1.3.2), sign-in starts are bounded per client and
 * in total (a flood cannot fill Redis with login state), and an https deployment never sends the
 * browser on to a plain-http destination (RFC 6797 §7.2 spirit: no downgrade after sign-in).
 */

const LOGIN_COOKIE = '__Host-_gatehouse_login';

/**
 * A gatehouse whose public URL is https (as in production) while the test talks to it over
 * http on loopback: only the scheme of `publicUrl` decides the cookie attributes and the
 * redirect checks; the provider is told the https callback.
 */
interface HttpsGatehouse {
  readonly gatehouse: Gatehouse;
  /** `https://127.0.0.1:<port>`, the configured public URL. */
  readonly publicUrl: string;
  /** `http://127.0.0.1:<port>`, where the test reaches it. */
  readonly url: string;
}

/** The callback URL the provider sends the browser to, turned to the test's http address. */
function reachable(callback: URL, url: string): string {
  return `${url}${callback.pathname}${callback.search}`;
}

async function authorize(
  jar: CookieJar,
  authorizationUrl: string,
  publicUrl: string,
  username: string,
): Promise<URL> {
  return browserlessLogin({
    authorizationUrl,
    username,
    password: username,
    jar,
    redirectUri: `${publicUrl}/oauth2/callback`,
  });
}

describe('sign-in behind an https public URL: binding cookie and redirect scheme', () => {
  let idp: DevIdentityProvider;
  let https: HttpsGatehouse;

  beforeAll(async () => {
    const reserved = await reserveServer();
    const publicUrl = reserved.url.replace(/^http:/, 'https:');
    idp = await startProvider([
      devClient(reserved, {
        redirectUris: [`${publicUrl}/oauth2/callback`],
        postLogoutRedirectUris: [`${publicUrl}/oauth2/signed-out`],
      }),
    ]);
    const gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: memoryStore(),
      allowedRedirectDomains: ['.app.test'],
      // `secure: false` and a cookie domain must not weaken the binding cookie: `__Host-` needs
      // Secure, no Domain and Path=/ (RFC 6265bis §4.1.3.2), whatever the session cookie has.
      cookie: { secure: false, domain: 'app.test' },
      signIn: { publicUrl },
    });
    https = { gatehouse, publicUrl, url: reserved.url };
  });

  afterAll(async () => {
    await https.gatehouse.close();
    await idp.close();
  });

  async function start(jar: CookieJar, rd?: string): Promise<Response> {
    const query = rd === undefined ? '' : `?${new URLSearchParams({ rd }).toString()}`;
    return gatehouseFetch(jar, `${https.url}/oauth2/start${query}`);
  }

  /** A whole sign-in through the https gatehouse; the callback's response. */
  async function signInHttps(jar: CookieJar, username: string, rd?: string): Promise<Response> {
    const started = await start(jar, rd);
    expect(started.status).toBe(302);
    const callback = await authorize(
      jar,
      started.headers.get('location')!,
      https.publicUrl,
      username,
    );
    return gatehouseFetch(jar, reachable(callback, https.url));
  }

  it('sets the binding cookie as __Host-: Secure, Path=/, no Domain', async () => {
    const jar = new CookieJar();
    const started = await start(jar);
    expect(started.status).toBe(302);
    expect(started.headers.getSetCookie()).toEqual([
      expect.stringMatching(
        /^__Host-_gatehouse_login=[\w-]{43}; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/,
      ),
    ]);
  });

  it('does not bind a login with a non-__Host- cookie planted by a sibling subdomain (cookie tossing)', async () => {
    // The attacker starts a sign-in in their own browser and signs in at the provider as
    // themselves, but does not open the callback.
    const attacker = new CookieJar();
    const started = await start(attacker);
    // Whatever the name, the attacker's browser holds the binding value it was given.
    const binding =
      attacker.get(https.url, LOGIN_COOKIE) ??
      attacker.get(`${https.url}/oauth2/callback`, '_gatehouse_login');
    expect(binding).toMatch(/^[\w-]{43}$/);
    const callback = await authorize(
      attacker,
      started.headers.get('location')!,
      https.publicUrl,
      'carol',
    );

    // From evil.app.test they plant their binding value under the name a sibling can set
    // (`Domain=app.test; Path=/oauth2`), then lure the victim to their callback URL.
    const victim = new CookieJar();
    victim.setCookie(https.url, `_gatehouse_login=${binding}; Path=/oauth2`);
    const before = await https.gatehouse.metrics.registry.metrics();
    const landed = await gatehouseFetch(victim, reachable(callback, https.url));

    expect(landed.status).toBe(403);
    expect(await landed.text()).toContain('Sign-in started elsewhere');
    expect(landed.headers.getSetCookie()).toEqual([]);
    expect(victim.get(https.url, '_gatehouse')).toBeUndefined();
    const after = await https.gatehouse.metrics.registry.metrics();
    const failed = { provider: 'unknown', stage: 'failed', reason: 'other-browser' };
    expect(metricValue(after, 'gatehouse_logins_total', failed)).toBe(
      metricValue(before, 'gatehouse_logins_total', failed) + 1,
    );
  });

  it('clears the binding cookie at the callback, with the attributes it was set with', async () => {
    const jar = new CookieJar();
    const done = await signInHttps(jar, 'alice');
    expect(done.status).toBe(302);
    const cookies = done.headers.getSetCookie();
    expect(cookies).toContainEqual(expect.stringMatching(/^_gatehouse=v1\./));
    expect(cookies).toContainEqual(
      `${LOGIN_COOKIE}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax`,
    );
    expect(jar.get(https.url, LOGIN_COOKIE)).toBeUndefined();
  });

  it('refuses an http destination after sign-in (scheme downgrade), landing on the default', async () => {
    const before = await https.gatehouse.metrics.registry.metrics();
    const done = await signInHttps(new CookieJar(), 'alice', 'http://app.test/orders');
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe(APP_URL);
    const after = await https.gatehouse.metrics.registry.metrics();
    const refused = { flow: 'sign-in', reason: 'insecure-scheme' };
    expect(metricValue(after, 'gatehouse_redirect_refusals_total', refused)).toBeGreaterThan(
      metricValue(before, 'gatehouse_redirect_refusals_total', refused),
    );
    // The same destination over https is fine.
    const secure = await signInHttps(new CookieJar(), 'alice', 'https://app.test/orders');
    expect(secure.headers.get('location')).toBe('https://app.test/orders');
  });

  it('refuses an http destination at sign-out too', async () => {
    const jar = new CookieJar();
    await signInHttps(jar, 'alice');
    const page = await gatehouseFetch(
      jar,
      `${https.url}/oauth2/sign_out?${new URLSearchParams({ rd: 'http://app.test/' }).toString()}`,
    );
    const html = await page.text();
    expect(html).not.toContain('http://app.test/');
    expect(html).toContain(`name="rd" value="${APP_URL}"`);
    const csrf = /name="csrf" value="([^"]*)"/.exec(html)?.[1] ?? '';

    const before = await https.gatehouse.metrics.registry.metrics();
    const posted = await gatehouseFetch(jar, `${https.url}/oauth2/sign_out`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: https.publicUrl,
      },
      body: new URLSearchParams({ csrf, rd: 'http://app.test/' }).toString(),
    });
    expect(posted.status).toBe(302);
    expect(posted.headers.get('location')).toBe(
      `/oauth2/signed-out?${new URLSearchParams({ rd: APP_URL }).toString()}`,
    );
    const landing = await gatehouseFetch(
      jar,
      `${https.url}/oauth2/signed-out?${new URLSearchParams({ rd: 'http://app.test/' }).toString()}`,
    );
    const landingHtml = await landing.text();
    expect(landingHtml).not.toContain('http://app.test/');
    const after = await https.gatehouse.metrics.registry.metrics();
    const refused = { flow: 'sign-out', reason: 'insecure-scheme' };
    expect(metricValue(after, 'gatehouse_redirect_refusals_total', refused)).toBeGreaterThan(
      metricValue(before, 'gatehouse_redirect_refusals_total', refused),
    );
  });
});

describe('sign-in over http (local runs): the plain binding cookie, cleared at the callback', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)]);
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: memoryStore(),
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await idp.close();
  });

  it('keeps `_gatehouse_login` on Path=/oauth2 and expires it when the sign-in completes', async () => {
    const jar = new CookieJar();
    const { callback } = await signIn(gatehouse, jar, 'alice');
    expect(callback.status).toBe(302);
    expect(callback.headers.getSetCookie()).toContainEqual(
      '_gatehouse_login=; Path=/oauth2; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    );
    expect(jar.get(`${gatehouse.url}/oauth2/start`, '_gatehouse_login')).toBeUndefined();
  });
});

describe('sign-in floods (Redis store): per-client rate limit and a cap on pending sign-ins', () => {
  const prefix = `gatehouse-test:sign-in-hardening:${randomUUID()}:`;
  const admin = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  const clock = testClock();

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)]);
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 0, clock),
      clock,
      signIn: {
        // The test talks from 127.0.0.1 as a trusted ingress would, naming the client in
        // X-Forwarded-For.
        proxyTrust: new ProxyTrust(['127.0.0.1/32']),
        signInLimits: { clientRateLimit: 3, clientRateWindowMs: 60_000, maxPending: 6 },
      },
    });
    await admin.connect();
  });

  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
    await flushPrefix(prefix);
    admin.disconnect();
  });

  function startFrom(client: string, jar = new CookieJar()): Promise<Response> {
    return gatehouseFetch(jar, `${gatehouse.url}/oauth2/start`, {
      headers: { 'x-forwarded-for': client, accept: 'text/html' },
    });
  }

  async function loginStateKeys(): Promise<number> {
    return (await admin.keys(`${prefix}login:*`)).length;
  }

  async function refusals(reason: string): Promise<number> {
    return metricValue(
      await gatehouse.metrics.registry.metrics(),
      'gatehouse_sign_in_refusals_total',
      { reason },
    );
  }

  it('answers the fourth start of one client within the window with an HTML 429 and Retry-After, writing nothing', async () => {
    for (let index = 0; index < 3; index += 1) {
      expect((await startFrom('198.51.100.7')).status).toBe(302);
    }
    const keys = await loginStateKeys();
    const refused = await startFrom('198.51.100.7');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(await refused.text()).toMatch(/Too many sign-in attempts/);
    expect(await loginStateKeys()).toBe(keys);
    expect(await refusals('client-rate')).toBe(1);

    // Another client is not affected; the same client is welcome again in the next window.
    expect((await startFrom('203.0.113.9')).status).toBe(302);
    clock.advance(60_000);
    expect((await startFrom('198.51.100.7')).status).toBe(302);
  });

  it('counts an IPv6 client by its /64, so rotating addresses inside it does not help', async () => {
    clock.advance(11 * 60_000); // the earlier sign-ins expired: the global cap is not in the way
    for (let index = 1; index <= 3; index += 1) {
      expect((await startFrom(`2001:db8:7:1::${index}`)).status).toBe(302);
    }
    expect((await startFrom('2001:db8:7:1:ffff:ffff:ffff:fffe')).status).toBe(429);
    expect((await startFrom('2001:db8:7:2::1')).status).toBe(302);
  });

  it('refuses new sign-ins while the cap of pending ones is reached, until one completes or they expire', async () => {
    clock.advance(11 * 60_000); // every earlier login state is past its 10 minutes
    const pending: { jar: CookieJar; location: string }[] = [];
    for (let index = 0; index < 6; index += 1) {
      const jar = new CookieJar();
      const started = await startFrom(`192.0.2.${index + 1}`, jar);
      expect(started.status).toBe(302);
      pending.push({ jar, location: started.headers.get('location')! });
    }
    const keys = await loginStateKeys();
    const refused = await startFrom('192.0.2.100');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(600);
    expect(await refused.text()).toMatch(/Too many sign-ins/);
    expect(await loginStateKeys()).toBe(keys);
    expect(await refusals('pending-cap')).toBe(1);

    // A completed sign-in frees its place: the callback takes the state.
    const first = pending[0]!;
    const callback = await browserlessLogin({
      authorizationUrl: first.location,
      username: 'alice',
      password: 'alice',
      jar: first.jar,
      redirectUri: `${gatehouse.url}/oauth2/callback`,
    });
    expect((await gatehouseFetch(first.jar, callback.href)).status).toBe(302);
    expect((await startFrom('192.0.2.101')).status).toBe(302);
    expect((await startFrom('192.0.2.102')).status).toBe(429);

    // Abandoned sign-ins stop counting when their login state expires.
    clock.advance(11 * 60_000);
    expect((await startFrom('192.0.2.103')).status).toBe(302);
  });
});
