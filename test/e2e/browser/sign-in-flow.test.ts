/**
 * What a person sees, in a real Chromium, through a real nginx (ingress-nginx rendition) in front
 * of gatehouse and the echo application, signing in at a real OpenID Provider. Screenshots of the
 * chooser, the 403 page and the signed-out page are written to test-results/screenshots/, at
 * 1280 px and on a phone (390 px, `phone-*.png`). The pages carry a branding (`pages`: title,
 * colour, footer, logo file), as an organisation would configure it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { parseEcho } from '../harness/echo-upstream.ts';
import { launchChromium, takeScreenshot, type Screenshot } from './chromium.ts';
import {
  appHost,
  providers,
  startSignInStack,
  type Provider,
  type SignInStack,
  type StackBranding,
} from './sign-in-stack.ts';

const branding = {
  title: 'Example Corp',
  colour: '#0f766e',
  footer: 'Need help? IT service desk, extension 4242.',
  logoSvg:
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"><rect width="120" height="40" rx="6" fill="#0f766e"/><text x="60" y="26" font-family="sans-serif" font-size="16" fill="#fff" text-anchor="middle">EXAMPLE</text></svg>',
} as const satisfies StackBranding;
/** `branding.colour` as getComputedStyle reports it. */
const brandRgb = 'rgb(15, 118, 110)';

let stack: SignInStack | undefined;
let browser: Browser | undefined;
let context: BrowserContext;

beforeAll(async () => {
  // Both are kept even if the other fails, so afterAll closes whatever did start.
  const [startedStack, launched] = await Promise.allSettled([
    startSignInStack({ branding }),
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
  // Shorter than the test timeout, so a stuck step fails with Playwright's message saying which.
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

/** The button on gatehouse's chooser for `provider`. */
function providerButton(page: Page, provider: Provider) {
  return page.getByRole('link', { name: `Sign in with ${provider.displayName}` });
}

/**
 * From an anonymous visit of `url` to the page itself: gatehouse's chooser, the provider's login
 * form, back at `url`. Resolves with the final response (the echo JSON).
 */
async function signIn(
  page: Page,
  url: string,
  username: string,
  provider: Provider = providers.dev,
): Promise<Response> {
  await page.goto(url);
  await providerButton(page, provider).click();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(username); // the demo users' password is their name
  const landed = page.waitForResponse((response) => response.url() === url);
  await page.locator('#sign-in').click();
  const response = await landed;
  await page.waitForURL(url);
  return response;
}

async function echoedHeaders(response: Response): Promise<Record<string, unknown>> {
  expect(response.status()).toBe(200);
  return parseEcho(await response.text()).headers;
}

/** For `expect.poll` on what follows a click: a navigation takes longer than poll's 1 s default. */
const settle = { timeout: 6_000 };

/**
 * What Chromium reports on the console when a page's Content-Security-Policy blocks something
 * (a form submission, or a redirect after one): the browser's reason, which a test should show.
 */
function contentSecurityViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) seen.push(message.text());
  });
  return seen;
}

function expectNotBlank(screenshot: Screenshot, heading: string): void {
  expect(screenshot.visibleText).toContain(heading);
  // A blank 1280x720 PNG is well under 1 KB; text, a button and anti-aliasing are not.
  expect(screenshot.bytes, screenshot.path).toBeGreaterThan(4000);
  expect(screenshot.colours, screenshot.path).toBeGreaterThan(10);
}

describe('signing in through nginx', () => {
  it('takes an anonymous visitor through the provider and back to the original URL, with their headers at the upstream', async () => {
    const page = await context.newPage();
    const setCookies: { url: string; server: string | null; value: string }[] = [];
    page.on('response', (response) => {
      void response.headerValue('set-cookie').then((value) => {
        if (value !== null) {
          setCookies.push({
            url: response.url(),
            server: response.headers()['server'] ?? null,
            value,
          });
        }
      });
    });
    const original = app('/private/page?x=1');

    await page.goto(original);
    // nginx's auth-signin redirect, with rd built the ingress-nginx way.
    const chooser = new URL(page.url());
    expect(chooser.origin).toBe(running().stack.origin);
    expect(chooser.pathname).toBe('/oauth2/start');
    expect(chooser.searchParams.get('rd')).toBe(original);

    const response = await signIn(page, original, 'bob');
    expect(page.url()).toBe(original);
    expect(parseEcho(await response.text()).url).toBe('/private/page?x=1');
    const headers = await echoedHeaders(response);
    expect(headers['x-auth-request-user']).toBe('bob');
    expect(headers['x-auth-request-email']).toBe('bob@example.com');
    expect(headers['x-auth-request-groups']).toBe('staff');

    const session = (await context.cookies(original)).find(
      (cookie) => cookie.name === '_gatehouse',
    );
    expect(session).toMatchObject({
      domain: appHost,
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
    });
    // It was set by gatehouse's callback, answered through nginx on the app's own origin.
    const fromCallback = setCookies.find((entry) => entry.value.startsWith('_gatehouse='));
    expect(fromCallback?.url.startsWith(app('/oauth2/callback?'))).toBe(true);
    expect(fromCallback?.server).toMatch(/^nginx/);
  });

  it('offers both providers on the chooser, and each signs in with its own account, bound to its source', async () => {
    const page = await context.newPage();
    await page.goto(app('/'));
    await expect
      .poll(() => page.getByRole('link', { name: /^Sign in with / }).allInnerTexts())
      .toEqual([
        `Sign in with ${providers.dev.displayName}`,
        `Sign in with ${providers.partner.displayName}`,
      ]);
    const chooser = await takeScreenshot(page, 'chooser');
    expectNotBlank(chooser, 'Choose how you want to sign in.');

    // alice through the second provider is signed in, but she is not the first provider's
    // alice: the unqualified `User alice@example.com` mapping (examples/policies/
    // role-mappings.yaml) matches only the first provider's users (authz.unqualifiedSubjectSources),
    // so the partner's alice does not inherit app-admin.
    await signIn(page, app('/'), 'alice', providers.partner);
    const home = await page.goto(app('/'));
    expect(home?.status()).toBe(200);
    const headers = await echoedHeaders(home!);
    expect(headers['x-auth-request-user']).toBe('alice');
    expect(String(headers['x-auth-request-roles']).split(',')).not.toContain('app-admin');
    const admin = await page.goto(app('/admin/settings'));
    expect(admin?.status()).toBe(403);
  });
});

describe('denied', () => {
  it("shows gatehouse's 403 page through nginx (error_page 403 asks /authz/nginx again), with the reason and request id", async () => {
    const { stack } = running();
    const page = await context.newPage();
    await signIn(page, app('/'), 'bob');
    const reachedUpstream = stack.upstream.received.length;

    const response = await page.goto(app('/admin/users'));
    expect(response?.status()).toBe(403);
    await expect.poll(() => page.locator('h1').innerText()).toBe('Access denied');
    expect(await page.locator('#reason').innerText()).toBe('missing-role');
    const requestId = await page.locator('#request-id').innerText();
    expect(requestId).toMatch(/\S{8,}/);
    // The page's request id is the one on gatehouse's audit trail, where an operator looks it up.
    expect(
      stack.gatehouse.logs.matching({ event: 'deny', requestId, user: 'bob' }).length,
    ).toBeGreaterThan(0);
    // Nothing under /admin reached the application (the browser's /favicon.ico may have).
    const reached = stack.upstream.received.slice(reachedUpstream).map((request) => request.url);
    expect(reached.filter((url) => url.startsWith('/admin'))).toEqual([]);
    // The page is styled: its stylesheet comes through the /oauth2/ location on the same host
    // (the page's CSP allows only 'self'). The expression runs in the page (no DOM types here).
    expect(await page.evaluate('getComputedStyle(document.body).maxWidth')).not.toBe('none');

    expectNotBlank(await takeScreenshot(page, 'forbidden'), 'Access denied');
  });
});

describe('signing out', () => {
  it('ends the session after the confirmation, and another tab is sent to sign in on reload', async () => {
    const first = await context.newPage();
    await signIn(first, app('/private/first'), 'bob');
    const second = await context.newPage();
    const secondUrl = app('/private/second');
    const before = await second.goto(secondUrl);
    expect((await echoedHeaders(before!))['x-auth-request-user']).toBe('bob');

    // A link alone never signs out: GET shows a confirmation with a POST form.
    await first.goto(app(`/oauth2/sign_out?rd=${encodeURIComponent(app('/public/'))}`));
    await expect
      .poll(() => first.locator('main').innerText())
      .toContain('You are signed in as bob.');
    const blocked = contentSecurityViolations(first);
    await first.locator('#sign-out').click();
    // Polled as text, so a refusal fails with gatehouse's own explanation.
    await expect
      .poll(async () => ({ text: await first.locator('main').innerText(), blocked }), settle)
      .toMatchObject({ text: expect.stringContaining('You are signed out'), blocked: [] });
    expect(first.url().startsWith(app('/oauth2/signed-out?'))).toBe(true);
    expectNotBlank(await takeScreenshot(first, 'signed-out'), 'You are signed out');
    expect(await first.getByRole('link', { name: 'Continue' }).getAttribute('href')).toBe(
      app('/public/'),
    );
    const cookies = await context.cookies(app('/'));
    expect(cookies.map((cookie) => cookie.name)).not.toContain('_gatehouse');

    // The second tab still shows bob's page; reloading it asks to sign in again.
    await second.reload();
    const signInAgain = new URL(second.url());
    expect(signInAgain.pathname).toBe('/oauth2/start');
    expect(signInAgain.searchParams.get('rd')).toBe(secondUrl);
    await expect(providerButton(second, providers.dev).isVisible()).resolves.toBe(true);
  });

  it('signs out at the provider too when it is configured to (RP-initiated logout), so the next sign-in asks for a password', async () => {
    const { stack } = running();
    const page = await context.newPage();
    await signIn(page, app('/private/page'), 'carol', providers.partner);

    await page.goto(app('/oauth2/sign_out'));
    const blocked = contentSecurityViolations(page);
    await page.locator('#sign-out').click();
    // The provider asks for its own confirmation, then sends the browser back to gatehouse.
    await expect
      .poll(() => ({ at: new URL(page.url()).origin, blocked }), settle)
      .toEqual({ at: new URL(stack.partnerIdp.url).origin, blocked: [] });
    await page.locator('#sign-out').click();
    await page.waitForURL((url) => url.href.startsWith(app('/oauth2/signed-out')));
    await expect.poll(() => page.locator('h1').innerText()).toBe('You are signed out');

    await page.goto(app('/private/page'));
    await providerButton(page, providers.partner).click();
    await expect.poll(() => page.locator('#password').isVisible()).toBe(true);
  });
});

describe('on a phone (390 x 844)', () => {
  const width = 390;
  let phone: BrowserContext;

  beforeEach(async () => {
    phone = await running().browser.newContext({
      viewport: { width, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    phone.setDefaultTimeout(8_000);
  });
  afterEach(async () => {
    await phone.close();
  });

  /** Nothing wider than the screen: no sideways scrolling, and `#id` (when given) inside it. */
  async function expectFits(page: Page, id?: string): Promise<void> {
    const scrollWidth = await page.evaluate('document.documentElement.scrollWidth');
    expect(scrollWidth, page.url()).toBeLessThanOrEqual(width);
    if (id !== undefined) {
      const element = page.locator(`#${id}`);
      expect(await element.isVisible(), `#${id} on ${page.url()}`).toBe(true);
      const box = await element.boundingBox();
      expect((box?.x ?? Infinity) + (box?.width ?? 0), `#${id}`).toBeLessThanOrEqual(width);
    }
  }

  /** The organisation's title, logo (loaded: the page's CSP let it through), footer and colour. */
  async function expectBranded(page: Page): Promise<void> {
    expect(await page.locator('#brand-title').innerText()).toBe(branding.title);
    expect(await page.locator('#footer').innerText()).toBe(branding.footer);
    // An image the browser refused or could not decode has no natural width.
    expect(await page.evaluate("document.getElementById('logo').naturalWidth")).toBeGreaterThan(0);
    expect(
      await page.evaluate(
        "getComputedStyle(document.querySelector('.button, button')).backgroundColor",
      ),
    ).toBe(brandRgb);
  }

  it('fits the chooser, the 403 page, the portal and the signed-out page on the screen, and "switch account" leads to another account', async () => {
    const page = await phone.newPage();
    const blocked = contentSecurityViolations(page);
    const admin = app('/admin/users');

    await page.goto(admin);
    await expect(providerButton(page, providers.dev).isVisible()).resolves.toBe(true);
    await expectFits(page);
    await expectBranded(page);
    expectNotBlank(await takeScreenshot(page, 'phone-chooser'), 'Choose how you want to sign in.');

    // bob is not an administrator: nginx shows the 403 page of the check itself.
    await providerButton(page, providers.dev).click();
    await page.locator('#username').fill('bob');
    await page.locator('#password').fill('bob');
    await page.locator('#sign-in').click();
    await page.waitForURL(admin);
    await expect.poll(() => page.locator('h1').innerText()).toBe('Access denied');
    await expectFits(page, 'request-id');

    // gatehouse's own 403 page (nginx error_page): whose account was refused, and a way out.
    const forbidden = app(
      `/oauth2/forbidden?${new URLSearchParams({ rd: admin, reason: 'missing-role' }).toString()}`,
    );
    const response = await page.goto(forbidden);
    expect(response?.status()).toBe(403);
    expect(await page.locator('#signed-in-as').innerText()).toBe(
      `Signed in as bob@example.com via ${providers.dev.displayName}.`,
    );
    await expectFits(page, 'request-id');
    await expectFits(page, 'signed-in-as');
    await expectFits(page, 'switch-account');
    await expectBranded(page);
    expectNotBlank(await takeScreenshot(page, 'phone-forbidden'), 'Switch account');

    await page.goto(app('/oauth2/'));
    await expect.poll(() => page.locator('h1').innerText()).toBe('Signed in as Bob User');
    await expectFits(page, 'signed-in');
    await expectFits(page, 'absolute-expiry');
    await expectBranded(page);
    expectNotBlank(await takeScreenshot(page, 'phone-portal'), 'Signed in with');

    // Switch account: sign out here; the provider still knows bob, and the page says so.
    await page.goto(forbidden);
    await page.locator('#switch-account').click();
    await page.locator('#sign-out').click();
    await page.waitForURL((url) => url.href.startsWith(app('/oauth2/signed-out')));
    expect(await page.locator('#provider-warning').innerText()).toContain(
      `You may still be signed in at ${providers.dev.displayName}`,
    );
    await expectFits(page, 'provider-warning');
    await expectFits(page, 'provider-sign-out');
    await expectBranded(page);
    expectNotBlank(await takeScreenshot(page, 'phone-signed-out'), 'You are signed out');

    // Its link signs out at the provider (which asks), and comes back here.
    await page.locator('#provider-sign-out').click();
    await page.locator('#sign-out').click();
    await page.waitForURL((url) => url.href.startsWith(app('/oauth2/signed-out')));
    await expect.poll(() => page.locator('#provider-signed-out').isVisible(), settle).toBe(true);

    // Continue leads back to the address, whose sign-in now asks who you are: alice, this time.
    await page.getByRole('link', { name: 'Continue' }).click();
    await providerButton(page, providers.dev).click();
    await page.locator('#username').fill('alice');
    await page.locator('#password').fill('alice');
    const landed = page.waitForResponse((answer) => answer.url() === admin);
    await page.locator('#sign-in').click();
    expect((await echoedHeaders(await landed))['x-auth-request-user']).toBe('alice');
    expect(blocked).toEqual([]);
  });
});
