/**
 * Small server-rendered pages (403, sign-in errors, signed out). No inline script, no external
 * assets, so the Content-Security-Policy below can forbid everything but our own inline style
 * hash-free stylesheet served from this module.
 */
export const pageContentSecurityPolicy =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const pageSecurityHeaders: readonly (readonly [string, string])[] = [
  ['Content-Security-Policy', pageContentSecurityPolicy],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cache-Control', 'no-store'],
  ['X-Frame-Options', 'DENY'],
];

export const stylesheet = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { max-width: 36rem; margin: 10vh auto; padding: 0 1.5rem; line-height: 1.5; }
h1 { font-size: 1.5rem; }
.muted { color: #666; font-size: 0.9rem; }
code { background: rgba(127,127,127,0.15); padding: 0.1rem 0.3rem; border-radius: 0.2rem; }
button, .button { font: inherit; padding: 0.5rem 1rem; border-radius: 0.3rem; border: 1px solid #888; cursor: pointer; background: #2456a5; color: #fff; text-decoration: none; display: inline-block; }
ul.providers { list-style: none; padding: 0; } ul.providers li { margin: 0.5rem 0; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.25rem 1rem; } dt { font-weight: 600; }
`;

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Renders a full page; `body` must already be escaped HTML. */
export function renderPage(options: {
  title: string;
  body: string;
  stylesheetHref: string;
}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(options.title)}</title>
<link rel="stylesheet" href="${escapeHtml(options.stylesheetHref)}">
</head>
<body>
<main>
${options.body}
</main>
</body>
</html>
`;
}

export function forbiddenPage(options: {
  host: string;
  path: string;
  reason: string;
  requestId: string;
  contact: string;
  stylesheetHref: string;
}): string {
  return renderPage({
    title: 'Access denied',
    stylesheetHref: options.stylesheetHref,
    body: `<h1>Access denied</h1>
<p>You are not allowed to open <code>${escapeHtml(options.host)}${escapeHtml(options.path)}</code>.</p>
<p>${escapeHtml(options.contact)}</p>
<p class="muted">Reason: <code>${escapeHtml(options.reason)}</code> · Request id: <code>${escapeHtml(options.requestId)}</code></p>`,
  });
}
