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
  /**
   * Home-realm discovery: a form that sends an e-mail address back to `action` (GET, with `rd`),
   * where its domain picks the organisation's provider.
   */
  readonly discovery?: {
    readonly action: string;
    readonly rd: string;
    readonly loginHint: string;
  };
  /** Shown above the choices (why the chooser came back). */
  readonly notice?: string;
}): string {
  const items = options.providers
    .map(
      (provider) =>
        `<li><a class="button" href="${escapeHtml(provider.href)}">Sign in with ${escapeHtml(provider.displayName)}</a></li>`,
    )
    .join('\n');
  const notice =
    options.notice === undefined ? '' : `<p id="notice">${escapeHtml(options.notice)}</p>\n`;
  const discovery =
    options.discovery === undefined
      ? ''
      : `<form method="get" action="${escapeHtml(options.discovery.action)}">
<input type="hidden" name="rd" value="${escapeHtml(options.discovery.rd)}">
<p><label for="login-hint">Your work e-mail address</label><br>
<input type="email" id="login-hint" name="login_hint" autocomplete="email" maxlength="254" required value="${escapeHtml(options.discovery.loginHint)}">
<button type="submit" id="continue">Continue</button></p>
</form>
<p class="muted">Or choose how you want to sign in:</p>
`;
  return renderPage({
    title: 'Sign in',
    stylesheetHref: options.stylesheetHref,
    body: `<h1>Sign in</h1>
${notice}${discovery === '' ? '<p>Choose how you want to sign in.</p>\n' : discovery}<nav aria-label="Sign-in providers">
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

/** What the portal shows about the signed-in user; every field is plain text, escaped here. */
export interface PortalView {
  readonly user: string;
  readonly email: string | null;
  readonly name: string | null;
  readonly groups: readonly string[];
  readonly roles: readonly string[];
  /** The configured provider name that signed the user in. */
  readonly provider: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
  readonly now: number;
}

/**
 * `<prefix>/`: who the session cookie names, the same data as `<prefix>/userinfo` for a person
 * rather than a program, with a sign-out button. The button posts the same CSRF token the
 * sign-out confirmation page carries (oidc/sign-out.ts), so it signs out in one click while a
 * cross-site form still cannot.
 */
export function portalPage(options: {
  readonly view: PortalView;
  readonly signOutAction: string;
  readonly csrfToken: string;
  readonly userinfoHref: string;
  readonly stylesheetHref: string;
}): string {
  const { view } = options;
  const list = (items: readonly string[]): string =>
    items.length === 0
      ? '<span class="muted">none</span>'
      : `<ul class="plain">${items.map((item) => `<li><code>${escapeHtml(item)}</code></li>`).join('')}</ul>`;
  const optional = (value: string | null): string =>
    value === null ? '<span class="muted">not provided</span>' : escapeHtml(value);
  const greeting = view.name ?? view.user;
  return renderPage({
    title: 'Signed in',
    stylesheetHref: options.stylesheetHref,
    body: `<h1>Signed in as ${escapeHtml(greeting)}</h1>
<dl>
<dt>User</dt><dd id="user">${escapeHtml(view.user)}</dd>
<dt>Name</dt><dd id="name">${optional(view.name)}</dd>
<dt>E-mail</dt><dd id="email">${optional(view.email)}</dd>
<dt>Groups</dt><dd id="groups">${list(view.groups)}</dd>
<dt>Roles</dt><dd id="roles">${list(view.roles)}</dd>
<dt>Provider</dt><dd id="provider">${escapeHtml(view.provider)}</dd>
<dt>Signed in</dt><dd id="signed-in">${moment(view.createdAt, view.now)}</dd>
<dt>Ends if unused</dt><dd id="idle-expiry">${moment(view.idleExpiresAt, view.now)}</dd>
<dt>Ends at the latest</dt><dd id="absolute-expiry">${moment(view.absoluteExpiresAt, view.now)}</dd>
</dl>
<p class="muted">Roles are those granted everywhere (ClusterRoleMappings); an application's own namespace may grant more.</p>
<form method="post" action="${escapeHtml(options.signOutAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(options.csrfToken)}">
<button type="submit" id="sign-out">Sign out</button>
</form>
<p class="muted">The same information as JSON: <a href="${escapeHtml(options.userinfoHref)}">${escapeHtml(options.userinfoHref)}</a></p>`,
  });
}

/** A point in time for people: relative ("5 minutes ago", "in 7 hours") and exact (ISO 8601, UTC). */
function moment(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  const delta = at - now;
  const relative =
    Math.abs(delta) < 60_000
      ? 'just now'
      : delta < 0
        ? `${humanDuration(-delta)} ago`
        : `in ${humanDuration(delta)}`;
  return `${escapeHtml(relative)} <span class="muted">(<time datetime="${iso}">${iso}</time>)</span>`;
}

/**
 * A duration in words, to the nearest minute and the two largest units ("3 days 4 hours",
 * "7 hours 55 minutes", "12 minutes"); under half a minute: "less than a minute".
 */
export function humanDuration(ms: number): string {
  const minutes = Math.round(Math.max(0, ms) / 60_000);
  if (minutes < 1) return 'less than a minute';
  const units: readonly (readonly [number, string])[] = [
    [Math.floor(minutes / 1440), 'day'],
    [Math.floor(minutes / 60) % 24, 'hour'],
    [minutes % 60, 'minute'],
  ];
  const first = units.findIndex(([count]) => count > 0);
  return units
    .slice(first, first + 2)
    .filter(([count]) => count > 0)
    .map(([count, unit]) => `${String(count)} ${unit}${count === 1 ? '' : 's'}`)
    .join(' ');
}
