import { escapeHtml, renderPage } from '../pages.ts';

/**
 * The sign-in pages: provider chooser, sign-in error, sign-out confirmation and signed-out. Plain
 * server-rendered HTML under the strict CSP of http/pages.ts: no script, no inline style, every
 * dynamic value escaped.
 */

export interface ChooserEntry {
  readonly displayName: string;
  readonly href: string;
}

export function chooserPage(options: {
  readonly providers: readonly ChooserEntry[];
  readonly stylesheetHref: string;
}): string {
  const items = options.providers
    .map(
      (provider) =>
        `<li><a class="button" href="${escapeHtml(provider.href)}">Sign in with ${escapeHtml(provider.displayName)}</a></li>`,
    )
    .join('\n');
  return renderPage({
    title: 'Sign in',
    stylesheetHref: options.stylesheetHref,
    body: `<h1>Sign in</h1>
<p>Choose how you want to sign in.</p>
<nav aria-label="Sign-in providers">
<ul class="providers">
${items}
</ul>
</nav>`,
  });
}

export function signInErrorPage(options: {
  readonly title: string;
  readonly message: string;
  readonly requestId: string;
  readonly retryHref: string;
  readonly stylesheetHref: string;
}): string {
  return renderPage({
    title: options.title,
    stylesheetHref: options.stylesheetHref,
    body: `<h1>${escapeHtml(options.title)}</h1>
<p>${escapeHtml(options.message)}</p>
<p><a class="button" href="${escapeHtml(options.retryHref)}">Start again</a></p>
<p class="muted">Request id: <code>${escapeHtml(options.requestId)}</code></p>`,
  });
}

export function signOutConfirmationPage(options: {
  readonly action: string;
  readonly csrfToken: string;
  readonly rd: string;
  /** Who is signed in, if anyone. */
  readonly user: string | null;
  readonly stylesheetHref: string;
}): string {
  const who =
    options.user === null
      ? '<p>You are not signed in.</p>'
      : `<p>You are signed in as <strong>${escapeHtml(options.user)}</strong>.</p>`;
  return renderPage({
    title: 'Sign out',
    stylesheetHref: options.stylesheetHref,
    body: `<h1>Sign out</h1>
${who}
<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(options.csrfToken)}">
<input type="hidden" name="rd" value="${escapeHtml(options.rd)}">
<button type="submit" id="sign-out">Sign out</button>
</form>`,
  });
}

export function signedOutPage(options: {
  readonly continueHref: string;
  readonly stylesheetHref: string;
}): string {
  return renderPage({
    title: 'Signed out',
    stylesheetHref: options.stylesheetHref,
    body: `<h1>You are signed out</h1>
<p><a class="button" href="${escapeHtml(options.continueHref)}">Continue</a></p>`,
  });
}
