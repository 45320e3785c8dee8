import { describe, expect, it } from 'vitest';
import { acceptsRedirect } from './browser.ts';

const chromeNavigation =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('acceptsRedirect', () => {
  it('is true for a browser navigation', () => {
    expect(acceptsRedirect({ accept: chromeNavigation })).toBe(true);
  });

  it('is false for API clients, fetch() and XHR', () => {
    expect(acceptsRedirect({})).toBe(false);
    expect(acceptsRedirect({ accept: 'application/json' })).toBe(false);
    expect(acceptsRedirect({ accept: '*/*' })).toBe(false);
    expect(
      acceptsRedirect({ accept: chromeNavigation, 'x-requested-with': 'XMLHttpRequest' }),
    ).toBe(false);
    expect(
      acceptsRedirect({ accept: chromeNavigation, 'x-requested-with': 'xmlhttprequest' }),
    ).toBe(false);
  });
});
