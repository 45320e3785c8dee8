/**
 * Several cookie domains (issue #20) in a real Chromium: one gatehouse protects
 * `app.one.localhost` and `app.two.localhost`, two domains that share no parent a cookie could
 * name (`localhost` is a single label browsers refuse as a Domain). Each app host has its own nginx
 * (ingress-nginx rendition, dev/demo/app-ingress.ts) that also routes `/oauth2/` to gatehouse
 * with the Host unchanged, so each domain's sign-in host is its app host: `publicUrl` is
 * app.one's origin and `sessions.cookie.signInUrls` names app.two's. A person signs in once at
 * the provider and then reaches both apps; the browser keeps one session cookie per domain.
 *
 * Chromium maps *.localhost to 127.0.0.1 (chromium.ts) and treats it as a secure context, so the
 * default `Secure` cookie is kept over plain http.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startAppIngress } from '../../../dev/demo/app-ingress.ts';
import { startDevIdentityProvider } from '../../../dev/identity-provider.ts';
import { findFreePort } from '../../fixtures/gatehouse/free-port.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { identityHeaders } from '../harness/auth-stack.ts';
import { parseEcho, startEchoUpstream } from '../harness/echo-upstream.ts';
import { launchChromium } from './chromium.ts';

const hosts = { one: 'app.one.localhost', two: 'app.two.localhost' } as const;

const policies = `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata:
  name: apps
  creationTimestamp: '2025-01-01T00:00:00Z'
spec:
  hosts: [${hosts.one}, ${hosts.two}]
  rules:
    - name: signed-in
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
`;

interface Stack {
  /** `http://app.one.localhost:<port>` and `http://app.two.localhost:<port>`. */
  readonly origins: { readonly one: string; readonly two: string };
}

const closers: (() => Promise<void>)[] = [];
let stack: Stack | undefined;
let browser: Browser | undefined;
let context: BrowserContext;

async function startStack(): Promise<Stack> {
  // The ports are part of the sign-in URLs registered at the provider: chosen first.
  const ports = { one: await findFreePort(), two: await findFreePort() };
  const origins = {
    one: `http://${hosts.one}:${String(ports.one)}`,
    two: `http://${hosts.two}:${String(ports.two)}`,
  };
  const client = {
    clientId: 'gatehouse-domains-test',
    clientSecret: 'domains-test-secret',
    clientName: 'the cookie domains test',
    // One callback (and signed-out page) per sign-in host, as docs/operator-guide.md says.
    redirectUris: [`${origins.one}/oauth2/callback`, `${origins.two}/oauth2/callback`],
    postLogoutRedirectUris: [
      `${origins.one}/oauth2/signed-out`,
      `${origins.two}/oauth2/signed-out`,
    ],
  };
  const idp = await startDevIdentityProvider({ clients: [client] });
  closers.push(() => idp.close());
  const upstream = await startEchoUpstream();
  closers.push(() => upstream.close());
  // Loaded and checked as `gatehouse serve` would (config/checks.ts); redirects.allowedDomains
  // is left unset, so the cookie domains are the allowed destinations.
  const gatehouse = await startTestGatehouse({
    policies,
    publicUrl: origins.one,
    configYaml: `
sessions:
  cookie:
    domains: [one.localhost, two.localhost]
    signInUrls: ["${origins.two}"]
providers:
  - name: dev
    displayName: Development sign-in
    issuer: ${idp.issuer}
    clientId: ${client.clientId}
    clientSecret: ${client.clientSecret}
`,
  });
  closers.push(() => gatehouse.close());
  for (const name of ['one', 'two'] as const) {
    const ingress = await startAppIngress({
      host: hosts[name],
      port: ports[name],
      gatehouseUrl: gatehouse.url(''),
      upstreamUrl: upstream.url,
      routesPrefix: '/oauth2',
      responseHeaders: identityHeaders,
    });
    closers.push(() => ingress.stop());
  }
  return { origins };
}

beforeAll(async () => {
  const [startedStack, launched] = await Promise.allSettled([startStack(), launchChromium()]);
  if (startedStack.status === 'fulfilled') stack = startedStack.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  for (const outcome of [startedStack, launched]) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
});
afterAll(async () => {
  await browser?.close();
  for (const closer of closers.reverse()) await closer();
});
beforeEach(async () => {
  context = await running().browser.newContext();
  context.setDefaultTimeout(8_000);
});
afterEach(async () => {
  await context.close();
});

function running(): { stack: Stack; browser: Browser } {
  if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
  return { stack, browser };
}

/** The user the app saw on the page now shown (the echo upstream's JSON). */
async function echoedUser(page: Page): Promise<unknown> {
  const body = await page.locator('body').innerText();
  return parseEcho(body).headers['x-auth-request-user'];
}

/** The session cookies Chromium holds, by domain. */
async function sessionCookieDomains(): Promise<string[]> {
  return (await context.cookies())
    .filter((cookie) => cookie.name === '_gatehouse')
    .map((cookie) => cookie.domain)
    .sort();
}

describe('signing in with two cookie domains', () => {
  it('signs in once at the provider, then reaches the app in the other domain through single sign-on', async () => {
    const { origins } = running().stack;
    const page = await context.newPage();
    const one = `${origins.one}/private?x=1`;
    const two = `${origins.two}/reports`;

    // app.one: nginx's 401 → app.one's sign-in → the provider's form → back.
    await page.goto(one);
    await page.locator('#username').fill('bob');
    await page.locator('#password').fill('bob'); // the demo users' password is their name
    await page.locator('#sign-in').click();
    await page.waitForURL(one);
    expect(await echoedUser(page)).toBe('bob');
    expect(await sessionCookieDomains()).toEqual(['.one.localhost']);

    // app.two: its own sign-in host; the provider remembers bob and asks nothing.
    const visited: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest()) visited.push(request.url());
    });
    await page.goto(two);
    await page.waitForURL(two);
    expect(await echoedUser(page)).toBe('bob');
    expect(visited.some((url) => url.startsWith(`${origins.two}/oauth2/callback?`))).toBe(true);
    expect(await sessionCookieDomains()).toEqual(['.one.localhost', '.two.localhost']);
    const cookie = (await context.cookies(two)).find((entry) => entry.name === '_gatehouse');
    expect(cookie).toMatchObject({ path: '/', httpOnly: true, secure: true, sameSite: 'Lax' });
  });

  it("sends a sign-in started on app.one for an app.two page to app.two's sign-in host", async () => {
    const { origins } = running().stack;
    const page = await context.newPage();
    const two = `${origins.two}/from-one`;
    const visited: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest()) visited.push(request.url());
    });

    await page.goto(`${origins.one}/oauth2/start?${new URLSearchParams({ rd: two }).toString()}`);
    await page.locator('#username').fill('alice');
    await page.locator('#password').fill('alice');
    await page.locator('#sign-in').click();
    await page.waitForURL(two);
    expect(await echoedUser(page)).toBe('alice');
    expect(visited).toContain(
      `${origins.two}/oauth2/start?${new URLSearchParams({ rd: two }).toString()}`,
    );
    // Only app.two's domain got a session: app.one still sends the browser to sign in.
    expect(await sessionCookieDomains()).toEqual(['.two.localhost']);
  });
});
