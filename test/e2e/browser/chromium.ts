/**
 * Debian's Chromium driven by playwright-core (which never downloads a browser). The test
 * machines have no network beyond loopback, so everything Chromium would fetch on its own
 * (component updates, sync, field trials, QUIC probes) is switched off, and test host names are
 * mapped to 127.0.0.1 by the browser itself rather than by DNS or /etc/hosts.
 */
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { decodePng, distinctColours } from './png.ts';

export const chromiumPath = '/usr/bin/chromium';

export const chromiumArgs = [
  '--headless=new',
  // Root in a container has no user namespace for the sandbox; the pages are our own.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // *.localhost resolves to loopback in Chromium anyway (RFC 6761 §6.3); the rule makes it
  // explicit and covers *.test.
  '--host-resolver-rules=MAP *.test 127.0.0.1, MAP *.localhost 127.0.0.1',
] as const;

/** Fails with the fix, never skips: a skipped browser suite looks green in CI. */
export async function launchChromium(): Promise<Browser> {
  try {
    accessSync(chromiumPath, constants.X_OK);
  } catch {
    throw new Error(
      `${chromiumPath} is missing: run \`make prerequisites\` (installs Debian's chromium)`,
    );
  }
  return chromium.launch({ executablePath: chromiumPath, args: [...chromiumArgs] });
}

/** Where screenshots go: test-results/ is ignored by git and removed by `make clean`. */
export const screenshotDirectory = join(process.cwd(), 'test-results', 'screenshots');

export interface Screenshot {
  readonly path: string;
  readonly bytes: number;
  /** Distinct colours counted up to 1000; a blank page has one. */
  readonly colours: number;
  /** The page's visible text, as a reader sees it. */
  readonly visibleText: string;
}

/** Writes `<name>.png` and measures what a reviewer would look for: is anything on it? */
export async function takeScreenshot(page: Page, name: string): Promise<Screenshot> {
  await mkdir(screenshotDirectory, { recursive: true });
  const path = join(screenshotDirectory, `${name}.png`);
  const png = await page.screenshot({ type: 'png', fullPage: true });
  await writeFile(path, png);
  return {
    path,
    bytes: png.length,
    colours: distinctColours(decodePng(png)),
    visibleText: (await page.locator('body').innerText()).trim(),
  };
}
