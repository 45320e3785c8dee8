import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.ts';
import { defaultTheme } from '../pages.ts';
import {
  imageTypeOf,
  loadPageTheme,
  maxLogoFileBytes,
  PageBrandingError,
  type PageBrandingSettings,
} from './page-branding.ts';

const none: PageBrandingSettings = {
  title: undefined,
  colour: undefined,
  footer: undefined,
  logo: undefined,
  logoFile: undefined,
};
const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const svg = Buffer.from(
  '<?xml version="1.0"?>\n<!-- logo -->\n<svg xmlns="http://www.w3.org/2000/svg"/>',
);

function files(entries: Record<string, Buffer>): (path: string) => Buffer {
  return (path) => {
    const bytes = entries[path];
    if (bytes === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return bytes;
  };
}

/** The problems `gatehouse serve` would print for this `pages` section. */
function problemsOf(pages: Record<string, string>): string[] {
  const result = loadConfig({
    env: {},
    cwd: '/etc/gh',
    file: 'gatehouse.yaml',
    readFile: () => `publicUrl: https://auth.example.com\npages: ${JSON.stringify(pages)}\n`,
  });
  return result.ok ? [] : result.problems.map((problem) => `${problem.path}: ${problem.message}`);
}

describe('loadPageTheme', () => {
  it('is the unbranded theme when nothing is set', () => {
    expect(loadPageTheme(none)).toBe(defaultTheme);
  });

  it('embeds a logo file as a data: URI of the type its content shows', () => {
    const theme = loadPageTheme(
      { ...none, logoFile: '/etc/gh/logo.png', title: 'Acme' },
      files({ '/etc/gh/logo.png': png }),
    );
    expect(theme.branding.logoSrc).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(theme.branding.title).toBe('Acme');
  });

  it.each([
    [
      'both logo settings',
      { logo: 'https://cdn.test/l.png', logoFile: '/l.png' },
      {},
      'pages.logo and pages.logoFile are both set: keep one of them',
    ],
    [
      'a missing file',
      { logoFile: '/etc/gh/nope.png' },
      {},
      /^pages\.logoFile: cannot read \/etc\/gh\/nope\.png \(ENOENT/,
    ],
    [
      'a file that is no image',
      { logoFile: '/etc/gh/logo.png' },
      { '/etc/gh/logo.png': Buffer.from('<html><script>alert(1)</script>') },
      'pages.logoFile: /etc/gh/logo.png is not a PNG, JPEG, GIF, WebP or SVG image',
    ],
    [
      'a file too large to embed in every page',
      { logoFile: '/big.png' },
      { '/big.png': Buffer.concat([png, Buffer.alloc(maxLogoFileBytes)]) },
      /^pages\.logoFile: \/big\.png is 65552 bytes; .* at most 65536 bytes .* set pages\.logo to its https URL$/,
    ],
  ] as const)('stops the start on %s, naming the setting', (_case, settings, entries, message) => {
    const load = () => loadPageTheme({ ...none, ...settings }, files(entries));
    expect(load).toThrow(PageBrandingError);
    expect(load).toThrow(message);
  });

  it.each([
    [png, 'image/png'],
    [Buffer.from('ffd8ffe000104a464946', 'hex'), 'image/jpeg'],
    [Buffer.from('GIF89a'), 'image/gif'],
    [Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1'), 'image/webp'],
    [svg, 'image/svg+xml'],
    [Buffer.from('<svg viewBox="0 0 1 1"></svg>'), 'image/svg+xml'],
    [Buffer.from('<html><svg></svg></html>'), undefined],
    [Buffer.from('not an image'), undefined],
  ] as const)('recognises %s as %s by content', (bytes, type) => {
    expect(imageTypeOf(bytes)).toBe(type);
  });
});

describe('the pages settings, as the configuration reports them', () => {
  it('accepts a full branding', () => {
    expect(
      problemsOf({
        title: 'Acme',
        colour: '#1d4ed8',
        footer: 'IT desk: 555-0100',
        logo: 'https://cdn.acme.test/logo.svg',
      }),
    ).toEqual([]);
  });

  it.each([
    ['colour', 'red', 'pages.colour: must be a CSS hex colour such as #1d4ed8 or #14b'],
    ['colour', '#fff;}body{x:y', 'pages.colour: must be a CSS hex colour such as #1d4ed8 or #14b'],
    [
      'logo',
      'http://cdn.test/logo.png',
      'pages.logo: must be an https:// URL of an image (or empty)',
    ],
    [
      'logo',
      'https://user:pw@cdn.test/l.png',
      'pages.logo: must be an https:// URL of an image (or empty)',
    ],
    ['title', 'x'.repeat(81), 'pages.title: must be at most 80 characters'],
  ])('refuses %s %j with a message that names the fix', (setting, value, problem) => {
    expect(problemsOf({ [setting]: value })).toEqual([problem]);
  });
});
