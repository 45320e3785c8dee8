/**
 * Attack suite, part 3: the sign-in routes against a real OpenID Provider (the dev provider over
 * HTTP, gatehouse's sign-in routes on their own port; test/integration/sign-in/harness.ts). The
 * invariants at stake: 4 (every redirect target checked against the allowed domains) and 5 (state
 * bound to the browser, PKCE, nonce, single use, a new session id at every login), plus the
 * OpenID Connect Back-Channel Logout 1.0 token rules. Each case is named after the advisory or
 * technique it reproduces; docs/security.md indexes them.
 */
import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../dev/identity-provider.ts';
import { browserlessLogin } from '../fixtures/oidc/browserless-login.ts';
import { CookieJar } from '../fixtures/oidc/cookie-jar.ts';
import {
  APP_URL,
  check,
  devClient,
  gatehouseFetch,
  memoryStore,
  providerOptions,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  startSignIn,
  type Gatehouse,
} from '../integration/sign-in/harness.ts';

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

let idp: DevIdentityProvider;
let gatehouse: Gatehouse;

beforeAll(async () => {
  const reserved = await reserveServer();
  idp = await startProvider([devClient(reserved)]);
  // Allowed redirect domains: `.app.test` (app.test and its subdomains) and `good.test`.
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

/** Where a full sign-in started with `rd` sends the browser in the end. */
async function landingAfterSignIn(rd: string, jar = new CookieJar()): Promise<string> {
  const { location } = await signIn(gatehouse, jar, 'alice', { rd });
  return location;
}

describe('open redirects after sign-in (`rd`)', () => {
  it.each([
    ['oauth2-proxy GHSA-4mf2-f3wh-gvf2 (tab after the slash)', '/%09/evil.test'],
    ['oauth2-proxy GHSA-4mf2-f3wh-gvf2 (raw tab)', '/\t/evil.test'],
    ['oauth2-proxy CVE-2020-5233 / GHSA-qqxw-m5fj-f7gv (`/\\`)', '/\\evil.test'],
    ['oauth2-proxy GHSA-5vf5-3j5p-j7vx (`\\@` host confusion)', 'https://evil.test\\@app.test/'],
    ['oauth2-proxy CVE-2021-21291 (domain suffix without a dot boundary)', 'https://evilapp.test/'],
    ['domain suffix as a subdomain of the attacker', 'https://app.test.evil.test/'],
    ['mod_auth_openidc CVE-2021-32786 (`/\\t/` before the host)', '/\\t/evil.test'],
    ['mod_auth_openidc CVE-2021-39191 (protocol-relative target)', '//evil.test/'],
    ['protocol-relative hidden behind one decoding (`/%2F`)', '/%2F/evil.test'],
    ['userinfo (`https://app.test@evil.test`)', 'https://app.test@evil.test/'],
    ['Unicode two-dot leader (`\\u2025`)', 'https://evil.test\u2025app.test/'],
    ['full-width dot (WHATWG maps it to ".")', 'https://evil\uff0eapp.test/'],
    ['ideographic full stop', 'https://evil\u3002app.test/'],
    ['`javascript:` scheme', 'javascript:alert(document.cookie)'],
    ['`data:` scheme', 'data:text/html,<script>alert(1)</script>'],
    ['scheme without slashes (`https:evil.test`)', 'https:evil.test'],
  ])('%s: refused, the browser lands on the default URL', async (_technique, rd) => {
    expect(await landingAfterSignIn(rd)).toBe(APP_URL);
  });

  it('vouch-proxy-style target carrying a second URL in its query: lands on the allowed host, never the embedded one', async () => {
    const rd = 'https://shop.app.test/next?url=https://evil.test/&r=//evil.test';
    const landing = new URL(await landingAfterSignIn(rd));
    expect(landing.hostname).toBe('shop.app.test');
  });

  it('Pomerium CVE-2021-29651 (GHSA-35vc-w93w-75c2, crafted sign-in link for a signed-in user): still refused', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'alice');
    expect(await landingAfterSignIn('https://evil.test/', jar)).toBe(APP_URL);
  });

  it('Pomerium sign_out redirect (pomerium#6358): the sign-out form carries only an allowed target', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'alice');
    const page = await gatehouseFetch(
      jar,
      `${gatehouse.url}/oauth2/sign_out?rd=${encodeURIComponent('https://evil.test/')}`,
    );
    const html = await page.text();
    expect(html).not.toContain('evil.test');
    expect(html).toContain(`name="rd" value="${APP_URL}"`);
  });
});

describe('login state', () => {
  it("login CSRF (RFC 9700 §4.7): a callback started in the attacker's browser is refused in the victim's, without a session", async () => {
    const attacker = new CookieJar();
    const callbackUrl = await browserlessLogin({
      authorizationUrl: await startSignIn(gatehouse, attacker),
      username: 'carol',
      password: 'carol',
      jar: attacker,
      redirectUri: `${gatehouse.url}/oauth2/callback`,
    });
    const victim = new CookieJar();
    await startSignIn(gatehouse, victim);
    const response = await gatehouseFetch(victim, callbackUrl.href);
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it('state replay (OpenID Connect Core §3.1.2.7, single use): the second use of a callback is refused', async () => {
    const jar = new CookieJar();
    const callbackUrl = await browserlessLogin({
      authorizationUrl: await startSignIn(gatehouse, jar),
      username: 'alice',
      password: 'alice',
      jar,
      redirectUri: `${gatehouse.url}/oauth2/callback`,
    });
    expect((await gatehouseFetch(jar, callbackUrl.href)).status).toBe(302);
    const replay = await gatehouseFetch(jar, callbackUrl.href);
    expect(replay.status).toBe(400);
    expect(replay.headers.getSetCookie()).toEqual([]);
  });

  it('session fixation (OWASP, CWE-384): a session cookie planted before login is replaced by a new id', async () => {
    const attacker = new CookieJar();
    await signIn(gatehouse, attacker, 'carol');
    const planted = attacker.get(gatehouse.url, '_gatehouse')!;
    const victim = new CookieJar();
    victim.setCookie(gatehouse.url, `_gatehouse=${planted}; Path=/`);
    await signIn(gatehouse, victim, 'alice');
    const issued = victim.get(gatehouse.url, '_gatehouse')!;
    expect(issued).not.toBe(planted);
    const asVictim = await check(gatehouse, `_gatehouse=${issued}`);
    expect(asVictim.headers.get('x-auth-request-user')).toBe('alice');
  });

  it('logout CSRF: a cross-site GET, or a POST without the form token, signs nobody out', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob');
    await fetch(`${gatehouse.url}/oauth2/sign_out`, {
      headers: { cookie: jar.cookieHeader(gatehouse.url)! },
    });
    const forged = await fetch(`${gatehouse.url}/oauth2/sign_out`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: jar.cookieHeader(gatehouse.url)!,
        origin: 'https://evil.test',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'csrf=forged',
    });
    expect(forged.status).toBe(403);
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(200);
  });
});

describe('back-channel logout', () => {
  async function logoutToken(
    claims: Record<string, unknown> = {},
    key: CryptoKey = idp.keys.rs256.privateKey,
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: idp.issuer,
      aud: 'gatehouse',
      iat: now,
      exp: now + 120,
      jti: randomUUID(),
      sub: 'bob-0002',
      events: { [BACKCHANNEL_EVENT]: {} },
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: idp.keys.rs256.kid, typ: 'logout+jwt' })
      .sign(key);
  }

  function deliver(token: string): Promise<Response> {
    return fetch(`${gatehouse.url}/oauth2/backchannel_logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
    });
  }

  it('logout token replay (Back-Channel Logout 1.0 §2.6, `jti`): accepted once, its replay refused', async () => {
    const token = await logoutToken({ sub: 'nobody-signed-in' });
    expect((await deliver(token)).status).toBe(200);
    const replay = await deliver(token);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('forged logout tokens (another key, `alg: none`, an ID token) end no session', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob');
    const { privateKey: otherKey } = await generateKeyPair('RS256');
    const payload = Buffer.from(
      JSON.stringify({ iss: idp.issuer, aud: 'gatehouse', sub: 'bob-0002', jti: randomUUID() }),
    ).toString('base64url');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    for (const token of [
      await logoutToken({}, otherKey),
      unsigned,
      await logoutToken({ nonce: 'n' }),
    ]) {
      expect((await deliver(token)).status).toBe(400);
    }
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(200);
  });
});

describe('cookie bombs', () => {
  it('hundreds of cookies and a 15 KB Cookie header (cookie bomb): every sign-in route and the check answer normally, never 500', async () => {
    const junk = Array.from({ length: 300 }, (_, index) => `c${String(index)}=${'x'.repeat(20)}`);
    const stale = Array.from(
      { length: 50 },
      () => `_gatehouse=v1.${'A'.repeat(43)}.${'A'.repeat(43)}`,
    );
    const cookie = [...junk, ...stale, `_gatehouse_login=${'B'.repeat(43)}`].join('; ');
    expect(cookie.length).toBeGreaterThan(12_000);
    expect(cookie.length).toBeLessThan(16_000);
    const headers = { cookie };
    const start = await fetch(`${gatehouse.url}/oauth2/start`, { headers, redirect: 'manual' });
    expect(start.status).toBe(302);
    const callback = await fetch(
      `${gatehouse.url}/oauth2/callback?code=x&state=${'s'.repeat(43)}`,
      {
        headers,
        redirect: 'manual',
      },
    );
    expect(callback.status).toBeGreaterThanOrEqual(400);
    expect(callback.status).toBeLessThan(500);
    expect((await fetch(`${gatehouse.url}/oauth2/userinfo`, { headers })).status).toBe(401);
    expect((await check(gatehouse, cookie)).status).toBe(401);
  });
});
