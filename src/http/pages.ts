import { createHash } from 'node:crypto';
import { visitorExplanations } from '../authz/reason-explanations.ts';
import type { Reason } from '../authz/reasons.ts';

/**
 * Small server-rendered pages (portal, 403, sign-in errors, signed out). No script at all and no
 * external assets but an operator's logo, so the Content-Security-Policy below forbids everything
 * but our own stylesheet, served from this module (or inlined, by hash), and images from here,
 * `data:` URIs and the logo's own origin.
 */

/** Buttons' colour when no brand colour is configured. */
const defaultAccent = '#2456a5';

const baseStylesheet = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { max-width: 36rem; margin: 6vh auto; padding: 0 1.25rem; line-height: 1.5; overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; }
.muted { color: #666; font-size: 0.9rem; }
code { background: rgba(127,127,127,0.15); padding: 0.1rem 0.3rem; border-radius: 0.2rem; overflow-wrap: anywhere; word-break: break-word; }
button, .button { font: inherit; padding: 0.5rem 1rem; border-radius: 0.3rem; border: 1px solid #888; cursor: pointer; background: var(--accent); color: var(--on-accent); text-decoration: none; display: inline-block; max-width: 100%; box-sizing: border-box; }
ul.providers { list-style: none; padding: 0; } ul.providers li { margin: 0.5rem 0; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.25rem 1rem; } dt { font-weight: 600; }
dd { margin: 0; min-width: 0; overflow-wrap: anywhere; } ul.plain { list-style: none; padding: 0; margin: 0; }
input { font: inherit; max-width: 100%; box-sizing: border-box; }
header.brand { display: flex; align-items: center; gap: 0.75rem; padding-bottom: 0.75rem; border-bottom: 3px solid var(--accent); }
header.brand img { max-height: 2.5rem; max-width: 10rem; }
header.brand span { font-weight: 600; }
footer { margin-top: 2rem; padding-top: 0.75rem; border-top: 1px solid rgba(127,127,127,0.3); }
table#sessions { width: 100%; border-collapse: collapse; font-size: 0.9rem; } table#sessions th, table#sessions td { text-align: left; padding: 0.3rem 0.4rem; border-bottom: 1px solid rgba(127,127,127,0.3); vertical-align: top; }
table#sessions form { margin: 0; } table#sessions button { padding: 0.2rem 0.6rem; } table#sessions + form, table#sessions + p { margin: 0.75rem 0; } .notice { padding: 0.5rem 0.75rem; border-left: 3px solid var(--accent); }
@media (max-width: 30rem) { dl { grid-template-columns: minmax(0, 1fr); } dd { margin-bottom: 0.5rem; }
  table#sessions thead { display: none; } table#sessions tr { display: block; padding: 0.5rem 0; border-bottom: 1px solid rgba(127,127,127,0.3); } table#sessions td { display: block; border: 0; padding: 0.1rem 0; } }
`;

/**
 * What an operator may change on every page (configuration `pages`): all plain values, checked
 * by the schema (the colour is a CSS hex colour, so nothing can be injected into the stylesheet)
 * and escaped here.
 */
export interface PageBranding {
  /** Shown beside the logo and after each page's title (`Sign in · Example Corp`). */
  readonly title?: string | undefined;
  /** A CSS hex colour (`#1d4ed8`, `#14b`) for buttons and the header's rule. */
  readonly colour?: string | undefined;
  /** Plain text at the bottom of every page. */
  readonly footer?: string | undefined;
  /** An https URL, or a `data:` URI of a logo file read at start (http/sign-in/page-branding.ts). */
  readonly logoSrc?: string | undefined;
}

/**
 * A branding made ready to serve: its stylesheet, and the Content-Security-Policy that allows
 * exactly that stylesheet and that logo. Built once at start; pages rendered with a theme must
 * be sent with its headers (http/sign-in/respond.ts `sendPage`).
 */
export interface PageTheme {
  readonly branding: PageBranding;
  readonly stylesheet: string;
  readonly contentSecurityPolicy: string;
  readonly securityHeaders: readonly (readonly [string, string])[];
}

const hexColour = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * The text colour that reads best on `background` (WCAG 2.2 relative luminance and contrast
 * ratio, §1.4.3): white or near-black, whichever has the higher contrast.
 */
export function textColourOn(background: string): '#fff' | '#111' {
  const hex =
    background.length === 4
      ? background.replace(/[0-9a-f]/gi, '$&$&').slice(1)
      : background.slice(1);
  const channel = (offset: number): number => {
    const value = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
  const nearBlack = 0.0056; // the relative luminance of #111
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / (nearBlack + 0.05) ? '#fff' : '#111';
}

/**
 * Builds a theme. The colour is checked again here (the schema checks it for the
 * configuration): anything but a hex colour in a stylesheet could close the rule and add others.
 */
export function pageTheme(branding: PageBranding = {}): PageTheme {
  const accent =
    branding.colour === undefined || branding.colour === '' ? defaultAccent : branding.colour;
  if (!hexColour.test(accent)) {
    throw new Error(
      `the page colour must be a CSS hex colour (#1d4ed8 or #14b), not ${JSON.stringify(accent)}`,
    );
  }
  const stylesheet = `:root { --accent: ${accent}; --on-accent: ${textColourOn(accent)}; }${baseStylesheet}`;
  // CSP Level 3 "hash-source": the stylesheet is allowed by its hash, so pages shown on another
  // host than gatehouse's can carry it inline, still without 'unsafe-inline'.
  const hash = `'sha256-${createHash('sha256').update(stylesheet, 'utf8').digest('base64')}'`;
  // The logo's origin only, never a scheme-wide source: a data: logo is covered by `data:`.
  const logoOrigin =
    branding.logoSrc?.startsWith('https://') === true ? ` ${new URL(branding.logoSrc).origin}` : '';
  const contentSecurityPolicy = `default-src 'none'; style-src 'self' ${hash}; img-src 'self' data:${logoOrigin}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
  return {
    branding,
    stylesheet,
    contentSecurityPolicy,
    securityHeaders: [
      ['Content-Security-Policy', contentSecurityPolicy],
      ['X-Content-Type-Options', 'nosniff'],
      // same-origin, not no-referrer: our own form posts must carry a real Origin for the CSRF
      // check, while nothing leaks to other sites.
      ['Referrer-Policy', 'same-origin'],
      ['Cache-Control', 'no-store'],
      ['X-Frame-Options', 'DENY'],
    ],
  };
}

/** No branding: what every page used before `pages` had any. */
export const defaultTheme: PageTheme = pageTheme();

/** The unbranded stylesheet, served at `<prefix>/static/gatehouse.css` (main-app.ts). */
export const stylesheet = defaultTheme.stylesheet;

/**
 * The 403 page is served on the application's host (Traefik, Caddy and Envoy pass it through;
 * nginx fetches it from `<prefix>/forbidden`), where `style-src 'self'` would not reach our
 * stylesheet. So that page carries the stylesheet inline, allowed by its hash, and still no
 * `'unsafe-inline'`.
 */
export const pageContentSecurityPolicy = defaultTheme.contentSecurityPolicy;

export const pageSecurityHeaders = defaultTheme.securityHeaders;

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * Renders a full page; `body` must already be escaped HTML. `stylesheetHref: null` inlines the
 * stylesheet (pages shown on another host than gatehouse's); so does a branded theme, whose
 * stylesheet is not the one served at `stylesheetHref`.
 */
export function renderPage(options: {
  title: string;
  body: string;
  stylesheetHref: string | null;
  theme?: PageTheme | undefined;
}): string {
  const theme = options.theme ?? defaultTheme;
  const { branding } = theme;
  const style =
    options.stylesheetHref === null || theme.stylesheet !== stylesheet
      ? `<style>${theme.stylesheet}</style>`
      : `<link rel="stylesheet" href="${escapeHtml(options.stylesheetHref)}">`;
  const brandTitle = branding.title ?? '';
  const logo =
    branding.logoSrc === undefined || branding.logoSrc === ''
      ? ''
      : // The logo stands for the organisation: its name is the text alternative (WCAG 1.1.1).
        `<img id="logo" src="${escapeHtml(branding.logoSrc)}" alt="${escapeHtml(brandTitle === '' ? 'Logo' : brandTitle)}">`;
  const header =
    logo === '' && brandTitle === ''
      ? ''
      : `<header class="brand">${logo}${brandTitle === '' ? '' : `<span id="brand-title">${escapeHtml(brandTitle)}</span>`}</header>\n`;
  const footer =
    branding.footer === undefined || branding.footer === ''
      ? ''
      : `\n<footer class="muted" id="footer">${escapeHtml(branding.footer)}</footer>`;
  const title = brandTitle === '' ? options.title : `${options.title} · ${brandTitle}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
${style}
</head>
<body>
${header}<main>
${options.body}
</main>${footer}
</body>
</html>
`;
}

/** The sentence the 403 page shows for a reason code; a generic one for codes it does not know. */
export function explainReason(reason: string): string {
  return Object.hasOwn(visitorExplanations, reason)
    ? visitorExplanations[reason as Reason]
    : 'Access to this address was refused.';
}

/** A link on the 403 page to sign in with a provider the denied address allows. */
export interface SignInOffer {
  readonly displayName: string;
  /** Absolute: the page is shown on the application's host. */
  readonly href: string;
}

/** Who a page is shown to, when the page knows (a session came with the request). */
export interface SignedInAs {
  /** The user name, or the e-mail address when the provider verified one. */
  readonly user: string;
  /** The provider's display name. */
  readonly provider: string;
}

export function forbiddenPage(options: {
  host: string;
  path: string;
  reason: string;
  requestId: string;
  contact: string;
  /** The sign-in portal (who am I signed in as), when the page knows where it is. */
  portalHref?: string | undefined;
  /**
   * The sign-out confirmation, coming back to the denied address: "switch account". A new
   * sign-in alone would come back as the same user through the provider's single sign-on.
   */
  signOutHref?: string | undefined;
  /** Whose session was refused: a person on the wrong account sees it at once. */
  signedInAs?: SignedInAs | undefined;
  /** Providers the address allows (reason `provider-not-allowed`): a sign-in button for each. */
  signInOffers?: readonly SignInOffer[] | undefined;
  theme?: PageTheme | undefined;
}): string {
  const offers =
    options.signInOffers === undefined || options.signInOffers.length === 0
      ? ''
      : `\n<nav aria-label="Sign-in providers">\n<ul class="providers">\n${options.signInOffers
          .map(
            (offer) =>
              `<li><a class="button" href="${escapeHtml(offer.href)}">Sign in with ${escapeHtml(offer.displayName)}</a></li>`,
          )
          .join('\n')}\n</ul>\n</nav>`;
  const who =
    options.signedInAs === undefined
      ? ''
      : `\n<p id="signed-in-as">Signed in as <strong>${escapeHtml(options.signedInAs.user)}</strong> via ${escapeHtml(options.signedInAs.provider)}.</p>`;
  const switchAccount =
    options.signOutHref === undefined
      ? ''
      : `\n<p><a class="button" id="switch-account" href="${escapeHtml(options.signOutHref)}">Switch account</a></p>
<p class="muted">Signs you out here, then back to this address to sign in with another account.</p>`;
  const portal =
    options.portalHref === undefined
      ? ''
      : `\n<p><a href="${escapeHtml(options.portalHref)}">Who am I signed in as?</a></p>`;
  const where =
    options.host === ''
      ? '<p>You are not allowed to open this address.</p>'
      : `<p>You are not allowed to open <code>${escapeHtml(options.host)}${escapeHtml(options.path)}</code>.</p>`;
  return renderPage({
    title: 'Access denied',
    stylesheetHref: null,
    theme: options.theme,
    body: `<h1>Access denied</h1>
${where}
<p>${escapeHtml(explainReason(options.reason))}</p>${offers}${who}${switchAccount}
<p>${escapeHtml(options.contact)}</p>
<dl class="muted">
<dt>Reason</dt><dd><code id="reason">${escapeHtml(options.reason)}</code></dd>
<dt>Request id</dt><dd><code id="request-id">${escapeHtml(options.requestId)}</code></dd>
</dl>${portal}`,
  });
}
