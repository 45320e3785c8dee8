import { readFileSync } from 'node:fs';
import type { Config } from '../../config/schema.ts';
import { defaultTheme, pageTheme, type PageTheme } from '../pages.ts';
import { definedFields } from '../../defined-fields.ts';

/**
 * The pages' branding (configuration `pages`: `title`, `colour`, `footer`, `logo`, `logoFile`)
 * made into a theme at start. The schema has already checked the shapes; what only a start can
 * judge (the file's content, `logo` and `logoFile` together) stops it here with the setting's
 * name and the fix.
 */

/** Where the sign-in pages find their theme: set by the composition root (composition/sign-in.ts). */
export interface PageOptions {
  /** Absent: no branding. */
  readonly pageTheme?: PageTheme | undefined;
}

export function themeOf(options: PageOptions): PageTheme {
  return options.pageTheme ?? defaultTheme;
}

/** A branding setting gatehouse cannot use; the message names the setting. */
export class PageBrandingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageBrandingError';
  }
}

/**
 * Every page carries the logo file inline (a `data:` URI in the HTML), so it is kept small: a
 * logo is a few KiB, and 64 KiB of image is ~87 KiB of base64 on every page view.
 */
export const maxLogoFileBytes = 64 * 1024;

export type PageBrandingSettings = Pick<
  Config['pages'],
  'title' | 'colour' | 'footer' | 'logo' | 'logoFile'
>;

export function loadPageTheme(
  settings: PageBrandingSettings,
  readFile: (path: string) => Buffer = readFileSync,
): PageTheme {
  const { title, colour, footer, logo, logoFile } = settings;
  if (logo !== undefined && logoFile !== undefined) {
    throw new PageBrandingError('pages.logo and pages.logoFile are both set: keep one of them');
  }
  let logoSrc: string | undefined;
  if (logo !== undefined) {
    const url = URL.parse(logo);
    if (url?.protocol !== 'https:' || url.hostname === '') {
      throw new PageBrandingError(`pages.logo: ${logo} is not an https:// URL`);
    }
    logoSrc = url.href;
  } else if (logoFile !== undefined) {
    logoSrc = logoDataUri(logoFile, readFile);
  }
  if (
    title === undefined &&
    colour === undefined &&
    footer === undefined &&
    logoSrc === undefined
  ) {
    return defaultTheme;
  }
  return pageTheme(definedFields({ title, colour, footer, logoSrc }));
}

function logoDataUri(path: string, readFile: (path: string) => Buffer): string {
  let bytes: Buffer;
  try {
    bytes = readFile(path);
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PageBrandingError(`pages.logoFile: cannot read ${path} (${reason})`);
  }
  if (bytes.length > maxLogoFileBytes) {
    throw new PageBrandingError(
      `pages.logoFile: ${path} is ${String(bytes.length)} bytes; a logo embedded in every page may be at most ${String(maxLogoFileBytes)} bytes (64 KiB): shrink it, or serve it and set pages.logo to its https URL`,
    );
  }
  const type = imageTypeOf(bytes);
  if (type === undefined) {
    throw new PageBrandingError(
      `pages.logoFile: ${path} is not a PNG, JPEG, GIF, WebP or SVG image`,
    );
  }
  return `data:${type};base64,${bytes.toString('base64')}`;
}

/**
 * The image type by content, never by file name: the data: URI's type is what the browser
 * trusts. An SVG shown through `<img>` runs no script and loads nothing (SVG Integration,
 * "secure animated mode"), so it is as safe as a bitmap there.
 */
export function imageTypeOf(bytes: Buffer): string | undefined {
  const starts = (...signature: number[]): boolean =>
    signature.every((byte, index) => bytes[index] === byte);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (
    bytes
      .subarray(0, 6)
      .toString('latin1')
      .match(/^GIF8[79]a$/) !== null
  )
    return 'image/gif';
  if (
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  ) {
    return 'image/webp';
  }
  // An XML declaration, comments or a doctype may come before the root element.
  const head = bytes
    .subarray(0, 1024)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  if (/^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]/i.test(head)) {
    return 'image/svg+xml';
  }
  return undefined;
}
