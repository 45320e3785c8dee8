/**
 * "Your sessions" in the portal (issue #20 part 1): a person sees every browser signed in as them
 * — provider, device, sign-in and last use, this one marked — and ends one or all the others.
 * Real Redis behind the per-replica cache, the real sign-in flow against the dev OpenID
 * Provider; an ended session is refused by the next check.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../dev/identity-provider.ts';
import { userKeyOf } from '../../src/sessions/session.ts';
import { CookieJar } from '../fixtures/oidc/cookie-jar.ts';
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
  type Gatehouse,
} from './sign-in/harness.ts';

const prefix = `gatehouse-test:portal-sessions:${randomUUID()}:`;
const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const safari =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

/** The token of the forms that end sessions (not the sign-out form's). */
function endToken(html: string): string {
  return (
    /action="\/oauth2\/sessions\/end"><input type="hidden" name="csrf" value="([^"]*)"/.exec(
      html,
    )?.[1] ?? ''
  );
}

/** The storage keys of the "End" buttons: the sessions other than this browser's. */
function otherSessionKeys(html: string): string[] {
  return [...html.matchAll(/name="session" value="([^"]*)"/g)].map((match) => match[1] ?? '');
}

describe('the portal lists and ends the person’s own sessions', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)]);
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

  /** A browser: its own cookies, and its User-Agent on every request. */
  async function browser(userAgent: string, user = 'alice'): Promise<CookieJar> {
    const jar = new CookieJar({
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('user-agent', userAgent);
        return fetch(input, { ...init, headers });
      },
    });
    await signIn(gatehouse, jar, user);
    return jar;
  }

  async function portal(jar: CookieJar): Promise<string> {
    const response = await jar.fetch(`${gatehouse.url}/oauth2/`);
    expect(response.status).toBe(200);
    return response.text();
  }

  async function end(jar: CookieJar, form: Record<string, string>, headers = {}) {
    return jar.fetch(`${gatehouse.url}/oauth2/sessions/end`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'same-origin',
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
    });
  }

  it('lists each browser with its device, marks this one, and ends another one on request', async () => {
    const laptop = await browser(firefox);
    const phone = await browser(safari);
    const html = await portal(laptop);
    expect(html).toContain('<h2>Your sessions</h2>');
    expect(html).toContain('Firefox on Linux');
    expect(html).toContain('Safari on iOS');
    expect(html).toContain('This device');
    const others = otherSessionKeys(html);
    expect(others).toHaveLength(1);

    expect((await check(gatehouse, phone.cookieHeader(gatehouse.url))).status).toBe(200);
    const ended = await end(laptop, { csrf: endToken(html), session: others[0] ?? '' });
    expect(ended.status).toBe(303);
    expect(ended.headers.get('location')).toBe('/oauth2/?ended=1');
    // Every replica drops it at once (revocation bus): the phone's next check is anonymous.
    expect((await check(gatehouse, phone.cookieHeader(gatehouse.url))).status).toBe(401);
    expect((await check(gatehouse, laptop.cookieHeader(gatehouse.url))).status).toBe(200);
    const after = await (await laptop.fetch(`${gatehouse.url}/oauth2/?ended=1`)).text();
    expect(after).toContain('One session was ended.');
    expect(otherSessionKeys(after)).toEqual([]);
    expect(after).toContain('You are signed in on this device only.');
  });

  it('"Sign out everywhere else" ends every other session and keeps this one', async () => {
    const main = await browser(firefox, 'bob');
    const second = await browser(safari, 'bob');
    const third = await browser(safari, 'bob');
    const html = await portal(main);
    expect(otherSessionKeys(html)).toHaveLength(2);
    const ended = await end(main, { csrf: endToken(html), all: 'others' });
    expect(ended.headers.get('location')).toBe('/oauth2/?ended=2');
    for (const jar of [second, third]) {
      expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(401);
    }
    expect((await check(gatehouse, main.cookieHeader(gatehouse.url))).status).toBe(200);
  });

  it("never ends someone else's session, and answers as for an ended one", async () => {
    const carol = await browser(firefox, 'carol');
    const [carolKey] = await gatehouse.store.listKeysByUser(userKeyOf('dev', 'carol-0003'));
    expect(carolKey).toBeDefined();
    const alice = await browser(firefox);
    const html = await portal(alice);
    const response = await end(alice, { csrf: endToken(html), session: carolKey ?? 'x' });
    expect(response.headers.get('location')).toBe('/oauth2/?ended=0');
    expect((await check(gatehouse, carol.cookieHeader(gatehouse.url))).status).toBe(200);
  });

  it('refuses a POST from another site, without the token, or asking two things at once', async () => {
    const jar = await browser(firefox, 'zoe');
    await browser(safari, 'zoe');
    const html = await portal(jar);
    const csrf = endToken(html);
    const crossSite = await end(jar, { csrf, all: 'others' }, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.text()).toContain('did not come from this site');
    const noToken = await end(jar, { all: 'others' });
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain('The form has expired');
    // The sign-out form's token is not this form's token.
    const signOutToken =
      /action="\/oauth2\/sign_out">\s*<input type="hidden" name="csrf" value="([^"]*)"/.exec(
        html,
      )?.[1];
    expect(signOutToken).toBeDefined();
    expect(signOutToken).not.toBe(csrf);
    expect((await end(jar, { csrf: signOutToken ?? '', all: 'others' })).status).toBe(403);
    const both = await end(jar, { csrf, all: 'others', session: 'x' });
    expect(both.status).toBe(400);
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(200);
  });
});
