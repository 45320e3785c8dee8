/**
 * Sign-in per organisation in a real Chromium, through a real nginx (ingress-nginx rendition) in
 * front of gatehouse, with two real OpenID Providers (two dev oidc-provider instances): the
 * partner area (`spec.authentication.providers: [partner]`) sends a visitor to the partner
 * provider only, with no chooser; a corporate session there gets gatehouse's 403 page, whose
 * offer signs in with the partner provider and comes back. Screenshots go to
 * test-results/screenshots/.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { parseEcho } from '../harness/echo-upstream.ts';
import { launchChromium, takeScreenshot } from './chromium.ts';
import { appHost, providers, startSignInStack, type SignInStack } from './sign-in-stack.ts';

/** A ClusterAccessPolicy for the partner area of the app host: partner sign-in only. */
const partnerArea = `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata:
  name: partner-area
  creationTimestamp: '2025-01-01T00:00:00Z'
spec:
  hosts: [${appHost}]
  authentication:
    providers: [${providers.partner.name}]
  rules:
    - name: partners
      match: [{ path: { type: PathPrefix, value: /partner } }]
      roles: [authenticated]
`;

let stack: SignInStack | undefined;
let browser: Browser | undefined;
let context: BrowserContext;

beforeAll(async () => {
  const [startedStack, launched] = await Promise.allSettled([
    startSignInStack({ extraPolicies: partnerArea }),
    launchChromium(),
  ]);
  if (startedStack.status === 'fulfilled') stack = startedStack.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  for (const outcome of [startedStack, launched]) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});
beforeEach(async () => {
  context = await running().browser.newContext();
  context.setDefaultTimeout(8_000);
});
afterEach(async () => {
  await context.close();
});

function running(): { stack: SignInStack; browser: Browser } {
  if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
  return { stack, browser };
}

function app(path: string): string {
  return `${running().stack.origin}${path}`;
}

/** On a provider's login form: signs in and waits for `url` to be served. */
async function logIn(page: Page, url: string, username: string): Promise<Response> {
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(username); // the demo users' password is their name
  const landed = page.waitForResponse((response) => response.url() === url);
  await page.locator('#sign-in').click();
  const response = await landed;
  await page.waitForURL(url);
  return response;
}

async function echoedUser(response: Response): Promise<unknown> {
  expect(response.status()).toBe(200);
  return parseEcho(await response.text()).headers['x-auth-request-user'];
}

describe('sign-in per organisation through nginx', () => {
  it('sends a visitor of the partner area straight to the partner provider, with no chooser', async () => {
    const page = await context.newPage();
    const partnerPage = app('/partner/orders?page=2');
    await page.goto(partnerPage);
    // No chooser: the login form is the partner provider's.
    expect(new URL(page.url()).origin).toBe(new URL(running().stack.partnerIdp.issuer).origin);
    await page.locator('#username').waitFor();
    expect(await echoedUser(await logIn(page, partnerPage, 'carol'))).toBe('carol');
  });

  it('shows a corporate session the 403 page, whose offer signs in with the partner provider', async () => {
    const page = await context.newPage();
    // Signed in with the corporate (dev) provider elsewhere on the host.
    const home = app('/private/home');
    await page.goto(home);
    await page.getByRole('link', { name: `Sign in with ${providers.dev.displayName}` }).click();
    expect(await echoedUser(await logIn(page, home, 'bob'))).toBe('bob');

    const partnerPage = app('/partner/orders');
    const denied = await page.goto(partnerPage);
    expect(denied?.status()).toBe(403);
    expect(await page.locator('#reason').textContent()).toBe('provider-not-allowed');
    const offer = page.getByRole('link', { name: `Sign in with ${providers.partner.displayName}` });
    await offer.waitFor();
    // Only the allowed provider is offered.
    expect(
      await page.getByRole('link', { name: `Sign in with ${providers.dev.displayName}` }).count(),
    ).toBe(0);
    await takeScreenshot(page, 'provider-not-allowed');

    await offer.click();
    expect(new URL(page.url()).origin).toBe(new URL(running().stack.partnerIdp.issuer).origin);
    expect(await echoedUser(await logIn(page, partnerPage, 'carol'))).toBe('carol');
  });
});
