import { createHash } from 'node:crypto';
import { visitorExplanations } from '../authz/reason-explanations.ts';
import type { Reason } from '../authz/reasons.ts';

/**
 * Small server-rendered pages (portal, 403, sign-in errors, signed out). No script at all and no
 * external assets, so the Content-Security-Policy below forbids everything but our own
 * stylesheet, served from this module (or inlined, by hash).
 */

export const stylesheet = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { max-width: 36rem; margin: 10vh auto; padding: 0 1.5rem; line-height: 1.5; }
h1 { font-size: 1.5rem; }
.muted { color: #666; font-size: 0.9rem; }
code { background: rgba(127,127,127,0.15); padding: 0.1rem 0.3rem; border-radius: 0.2rem; }
button, .button { font: inherit; padding: 0.5rem 1rem; border-radius: 0.3rem; border: 1px solid #888; cursor: pointer; background: #2456a5; color: #fff; text-decoration: none; display: inline-block; }
ul.providers { list-style: none; padding: 0; } ul.providers li { margin: 0.5rem 0; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.25rem 1rem; } dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; } ul.plain { list-style: none; padding: 0; margin: 0; }
`;

/**
 * The 403 page is served on the application's host (Traefik, Caddy and Envoy pass it through;
 * nginx fetches it from `<prefix>/forbidden`), where `style-src 'self'` would not reach our
 * stylesheet. So that page carries the stylesheet inline, allowed by its hash (CSP Level 3
 * "hash-source"), and still no `'unsafe-inline'`.
 */
const stylesheetHash = `'sha256-${createHash('sha256').update(stylesheet, 'utf8').digest('base64')}'`;

export const pageContentSecurityPolicy = `default-src 'none'; style-src 'self' ${stylesheetHash}; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export const pageSecurityHeaders: readonly (readonly [string, string])[] = [
  ['Content-Security-Policy', pageContentSecurityPolicy],
  ['X-Content-Type-Options', 'nosniff'],
  // same-origin, not no-referrer: our own form posts must carry a real Origin for the CSRF check,
  // while nothing leaks to other sites.
  ['Referrer-Policy', 'same-origin'],
  ['Cache-Control', 'no-store'],
  ['X-Frame-Options', 'DENY'],
];

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
 * stylesheet (pages shown on another host than gatehouse's).
 */
export function renderPage(options: {
  title: string;
  body: string;
  stylesheetHref: string | null;
}): string {
  const style =
    options.stylesheetHref === null
      ? `<style>${stylesheet}</style>`
      : `<link rel="stylesheet" href="${escapeHtml(options.stylesheetHref)}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(options.title)}</title>
${style}
</head>
<body>
<main>
${options.body}
</main>
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

export function forbiddenPage(options: {
  host: string;
  path: string;
  reason: string;
  requestId: string;
  contact: string;
  /** The sign-in portal (who am I signed in as), when the page knows where it is. */
  portalHref?: string | undefined;
  /** The sign-out confirmation, to come back to the denied address as another user. */
  signOutHref?: string | undefined;
  /** Providers the address allows (reason `provider-not-allowed`): a sign-in button for each. */
  signInOffers?: readonly SignInOffer[] | undefined;
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
  const links: string[] = [];
  if (options.portalHref !== undefined) {
    links.push(`<a href="${escapeHtml(options.portalHref)}">Who am I signed in as?</a>`);
  }
  if (options.signOutHref !== undefined) {
    links.push(`<a href="${escapeHtml(options.signOutHref)}">Sign out to use another account</a>`);
  }
  const where =
    options.host === ''
      ? '<p>You are not allowed to open this address.</p>'
      : `<p>You are not allowed to open <code>${escapeHtml(options.host)}${escapeHtml(options.path)}</code>.</p>`;
  return renderPage({
    title: 'Access denied',
    stylesheetHref: null,
    body: `<h1>Access denied</h1>
${where}
<p>${escapeHtml(explainReason(options.reason))}</p>${offers}
<p>${escapeHtml(options.contact)}</p>
<dl class="muted">
<dt>Reason</dt><dd><code id="reason">${escapeHtml(options.reason)}</code></dd>
<dt>Request id</dt><dd><code id="request-id">${escapeHtml(options.requestId)}</code></dd>
</dl>${links.length === 0 ? '' : `\n<p>${links.join(' · ')}</p>`}`,
  });
}
