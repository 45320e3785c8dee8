/**
 * "Your sessions" in a real Chromium (issue #20 part 1), through a real nginx (ingress-nginx
 * rendition) in front of gatehouse with the dev OpenID Provider: two browser profiles of the same
 * person sign in; the first one's portal lists both, marks itself, and ends the other with its
 * "End" button; the other profile is then sent to sign in again. Screenshot in
 * test-results/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, takeScreenshot } from './chromium.ts';
import { providers, startSignInStack, type SignInStack } from './sign-in-stack.ts';

let stack: SignInStack | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  const [startedStack, launched] = await Promise.allSettled([startSignInStack(), launchChromium()]);
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

function running(): { stack: SignInStack; browser: Browser } {
  if (stack === undefined || browser === undefined) throw new Error('the stack did not start');
  return { stack, browser };
}

/** A browser profile of its own (its own cookies), identified by `userAgent`. */
async function profile(userAgent: string): Promise<BrowserContext> {
  const context = await running().browser.newContext({ userAgent });
  context.setDefaultTimeout(8_000);
  return context;
}

/** Signs in as `username` from a protected page and lands back on it. */
async function signIn(page: Page, username: string): Promise<void> {
  const home = `${running().stack.origin}/private/home`;
  await page.goto(home);
  await page.getByRole('link', { name: `Sign in with ${providers.dev.displayName}` }).click();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(username);
  await page.locator('#sign-in').click();
  await page.waitForURL(home);
}

describe('the portal’s session list in Chromium', () => {
  it('lists both devices, marks this one, and ends the other with its button', async () => {
    const laptop = await profile(
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    );
    const phone = await profile(
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    );
    try {
      const laptopPage = await laptop.newPage();
      const phonePage = await phone.newPage();
      await signIn(laptopPage, 'alice');
      await signIn(phonePage, 'alice');

      await laptopPage.goto(`${running().stack.origin}/oauth2/`);
      const rows = laptopPage.locator('table#sessions tbody tr');
      await expect.poll(() => rows.count()).toBe(2);
      const current = laptopPage.locator('table#sessions tr.current');
      expect(await current.textContent()).toContain('Chrome on Linux');
      expect(await current.textContent()).toContain('This device');
      const other = laptopPage.locator('table#sessions tbody tr:not(.current)');
      expect(await other.textContent()).toContain('Safari on iOS');
      await takeScreenshot(laptopPage, 'portal-sessions');

      await other.getByRole('button', { name: 'End' }).click();
      await laptopPage.waitForURL(/\/oauth2\/\?ended=1$/);
      expect(await laptopPage.locator('#sessions-ended').textContent()).toContain(
        'One session was ended.',
      );
      await expect.poll(() => rows.count()).toBe(1);

      // The phone's session is gone: the protected page sends it to sign in again.
      const again = await phonePage.goto(`${running().stack.origin}/private/home`);
      expect(again?.status()).toBe(200);
      await phonePage
        .getByRole('link', { name: `Sign in with ${providers.dev.displayName}` })
        .waitFor();
      // The laptop is still signed in.
      const stillIn = await laptopPage.goto(`${running().stack.origin}/private/home`);
      expect(stillIn?.status()).toBe(200);
      expect(laptopPage.url()).toBe(`${running().stack.origin}/private/home`);
    } finally {
      await laptop.close();
      await phone.close();
    }
  });
});
