/**
 * Step-up sign-in per rule (issue #19) in a real Chromium, through a real nginx (ingress-nginx
 * rendition) in front of gatehouse, at a real OpenID Provider (the dev oidc-provider): a page
 * whose rule asks for `authentication.maxAge` sends a session of unknown age (its sign-in asked
 * for no `max_age`, so the provider never said when it happened) back through the sign-in with
 * `max_age` and `prompt=login`; the provider asks for the password again although it still holds
 * a session, and the page then opens. Screenshots go to test-results/screenshots/.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { parseEcho } from '../harness/echo-upstream.ts';
import { launchChromium, takeScreenshot } from './chromium.ts';
import { appHost, providers, startSignInStack, type SignInStack } from './sign-in-stack.ts';

/** A ClusterAccessPolicy for the billing area of the app host: a sign-in of 15 minutes at most. */
const billingArea = `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata:
  name: billing-area
  creationTimestamp: '2025-01-01T00:00:00Z'
spec:
  hosts: [${appHost}]
  rules:
    - name: billing
      match: [{ path: { type: PathPrefix, value: /billing } }]
      roles: [authenticated]
      authentication: { maxAge: 15m }
`;

let stack: SignInStack | undefined;
let browser: Browser | undefined;
let context: BrowserContext;

beforeAll(async () => {
  const [startedStack, launched] = await Promise.allSettled([
    startSignInStack({ extraPolicies: billingArea }),
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
  if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
  context = await browser.newContext();
  context.setDefaultTimeout(8_000);
});
afterEach(async () => {
  await context.close();
});

function app(path: string): string {
  if (stack === undefined) throw new Error('the stack did not start');
  return `${stack.origin}${path}`;
}

/** On the provider's login form: types `username` (password = username) and waits for `url`. */
async function logIn(page: Page, username: string, url: string): Promise<Response> {
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(username);
  const landed = page.waitForResponse((response) => response.url() === url);
  await page.locator('#sign-in').click();
  const response = await landed;
  await page.waitForURL(url);
  return response;
}

// ingress-nginx's auth-signin link carries only `rd`: /oauth2/start finds the rule's step-up
// from it (composition/sign-in.ts stepUpFor), so the provider is asked for `max_age`.
describe('step-up sign-in (issue #19)', () => {
  it('asks an old session for the password again on a maxAge page, then opens it', async () => {
    const page = await context.newPage();
    const home = app('/');
    await page.goto(home);
    await page.getByRole('link', { name: `Sign in with ${providers.dev.displayName}` }).click();
    const first = await logIn(page, 'bob', home);
    expect(first.status()).toBe(200);

    // The billing page: the session's sign-in age is unknown, so back to the sign-in, asking
    // the provider for max_age and prompt=login; the chooser keeps them on its links.
    const billing = app('/billing/invoices');
    const authorizations: URL[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.endsWith('/auth') && url.searchParams.has('client_id')) {
        authorizations.push(url);
      }
    });
    await page.goto(billing);
    await page.getByRole('link', { name: `Sign in with ${providers.dev.displayName}` }).click();
    // The provider still holds bob's session, yet shows the login form: prompt=login.
    await page.locator('#password').waitFor({ state: 'visible' });
    expect(authorizations.at(-1)?.searchParams.get('max_age')).toBe('900');
    expect(authorizations.at(-1)?.searchParams.get('prompt')).toBe('login');
    await takeScreenshot(page, 'step-up-login-again');

    const second = await logIn(page, 'bob', billing);
    expect(second.status()).toBe(200);
    const echoed = parseEcho(await second.text());
    expect(echoed.headers['x-auth-request-user']).toBe('bob');
  });
});
