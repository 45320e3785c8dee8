import type { CallbackFailure, ProviderErrorAnswer } from '../../oidc/callback.ts';
import type { SignedOutView } from '../../oidc/signed-out.ts';
import { escapeHtml, renderPage, type PageTheme } from '../pages.ts';

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
    /** Step-up parameters of the start link (oidc/step-up.ts), kept as hidden fields. */
    readonly stepUp?: readonly (readonly [string, string])[];
  };
  /** Shown above the choices (why the chooser came back). */
  readonly notice?: string;
  readonly theme?: PageTheme | undefined;
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
${(options.discovery.stepUp ?? []).map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">\n`).join('')}<p><label for="login-hint">Your work e-mail address</label><br>
<input type="email" id="login-hint" name="login_hint" autocomplete="email" maxlength="254" required value="${escapeHtml(options.discovery.loginHint)}">
<button type="submit" id="continue">Continue</button></p>
</form>
<p class="muted">Or choose how you want to sign in:</p>
`;
  return renderPage({
    title: 'Sign in',
    stylesheetHref: options.stylesheetHref,
    theme: options.theme,
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
  readonly theme?: PageTheme | undefined;
}): string {
  return renderPage({
    title: options.title,
    stylesheetHref: options.stylesheetHref,
    theme: options.theme,
    body: `<h1>${escapeHtml(options.title)}</h1>
<p>${escapeHtml(options.message)}</p>
<p><a class="button" href="${escapeHtml(options.retryHref)}">Start again</a></p>
<p class="muted">Request id: <code id="request-id">${escapeHtml(options.requestId)}</code></p>`,
  });
}

/**
 * What a failed callback (oidc/callback.ts) tells the person, per failure; the titles are the
 * ones docs/troubleshooting.md lists, so a person's description finds the right row.
 */
const callbackFailureTexts: Readonly<Record<CallbackFailure, { title: string; message: string }>> =
  {
    'access-denied': {
      title: 'Sign-in was cancelled',
      message: 'The sign-in provider did not grant access. You can start again.',
    },
    'provider-error': {
      title: 'Sign-in failed',
      message: 'The sign-in provider reported an error.',
    },
    'state-missing': {
      title: 'Sign-in link incomplete',
      message: 'This sign-in link is incomplete. Please start again.',
    },
    'state-expired': {
      title: 'Sign-in link expired',
      message: 'This sign-in link has expired or was already used. Please start again.',
    },
    'other-browser': {
      title: 'Sign-in started elsewhere',
      message:
        'This sign-in was started in another browser or tab session. Please start again here.',
    },
    'provider-not-ready': {
      title: 'Sign-in is not available',
      message: 'The sign-in provider cannot be reached right now. Please try again.',
    },
    'provider-unreachable': {
      title: 'Sign-in provider unavailable',
      message:
        'The sign-in provider could not be reached to complete the sign-in. Please try again.',
    },
    'token-rejected': {
      title: 'Sign-in could not be completed',
      message: 'The sign-in could not be verified. Please start again.',
    },
    'id-token-invalid': {
      title: 'Sign-in could not be completed',
      message: 'The sign-in could not be verified. Please start again.',
    },
  };

/** The page for a failed callback: what happened, in words, and "start again". */
export function callbackErrorPage(options: {
  readonly reason: CallbackFailure;
  readonly providerError?: ProviderErrorAnswer | undefined;
  readonly requestId: string;
  readonly retryHref: string;
  readonly stylesheetHref: string;
  readonly theme?: PageTheme | undefined;
}): string {
  const { title, message } = callbackFailureTexts[options.reason];
  const error = options.providerError;
  // RFC 6749 §4.1.2.1: the provider's code and description are its own text, escaped on the
  // page like any other value (signInErrorPage).
  return signInErrorPage({
    title,
    message:
      error === undefined
        ? message
        : `The sign-in provider reported an error (${error.code})${error.description === undefined ? '' : `: ${error.description}`}.`,
    requestId: options.requestId,
    retryHref: options.retryHref,
    stylesheetHref: options.stylesheetHref,
    theme: options.theme,
  });
}

export function signOutConfirmationPage(options: {
  readonly action: string;
  readonly csrfToken: string;
  readonly rd: string;
  /** Who is signed in, if anyone. */
  readonly user: string | null;
  readonly stylesheetHref: string;
  readonly theme?: PageTheme | undefined;
}): string {
  const who =
    options.user === null
      ? '<p>You are not signed in.</p>'
      : `<p>You are signed in as <strong>${escapeHtml(options.user)}</strong>.</p>`;
  return renderPage({
    title: 'Sign out',
    stylesheetHref: options.stylesheetHref,
    theme: options.theme,
    body: `<h1>Sign out</h1>
${who}
<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(options.csrfToken)}">
<input type="hidden" name="rd" value="${escapeHtml(options.rd)}">
<button type="submit" id="sign-out">Sign out</button>
</form>`,
  });
}

/**
 * The signed-out landing page. Unless the provider's session ended too, it says that the provider
 * may still be signed in (the next sign-in at this browser needs no password, and comes back as
 * the same person), with the provider's own sign-out when it has one (oidc/signed-out.ts).
 */
export function signedOutPage(options: {
  readonly view: SignedOutView;
  readonly stylesheetHref: string;
  readonly theme?: PageTheme | undefined;
}): string {
  const { view } = options;
  let provider: string;
  if (view.signedOutAtProvider) {
    provider = '<p id="provider-signed-out">You are signed out at the sign-in provider too.</p>';
  } else {
    const name =
      view.provider === undefined
        ? 'the sign-in provider'
        : `<strong>${escapeHtml(view.provider.displayName)}</strong>`;
    const href = view.provider?.endSessionHref;
    provider = `<p id="provider-warning">You may still be signed in at ${name}: signing in again from this browser may not ask for a password, and comes back as the same account. On a shared computer, sign out there too, or close the browser.</p>${
      href === undefined
        ? ''
        : `\n<p><a id="provider-sign-out" href="${escapeHtml(href)}">Sign out at ${view.provider === undefined ? 'the provider' : escapeHtml(view.provider.displayName)} too</a></p>`
    }`;
  }
  return renderPage({
    title: 'Signed out',
    stylesheetHref: options.stylesheetHref,
    theme: options.theme,
    body: `<h1>You are signed out</h1>
${provider}
<p><a class="button" href="${escapeHtml(view.continueHref)}">Continue</a></p>`,
  });
}

/** What the portal shows about the signed-in user; every field is plain text, escaped here. */
export interface PortalView {
  readonly user: string;
  readonly email: string | null;
  readonly name: string | null;
  readonly groups: readonly string[];
  readonly roles: readonly string[];
  /** The provider that signed the user in, as people know it (its display name). */
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
/** One of the person's sessions as the portal lists it (oidc/own-sessions.ts). */
export interface PortalSession {
  readonly key: string;
  readonly provider: string | null;
  readonly createdAt: number | null;
  readonly lastUsedAt: number;
  readonly userAgent: string | null;
  readonly current: boolean;
}

/** The portal's "Your sessions" list and the form that ends them (POST, CSRF token). */
export interface PortalSessions {
  readonly list: readonly PortalSession[];
  readonly endAction: string;
  readonly csrfToken: string;
  /** Shown once after a POST: how many sessions it ended. */
  readonly ended?: number | undefined;
}

export function portalPage(options: {
  readonly view: PortalView;
  readonly signOutAction: string;
  readonly csrfToken: string;
  readonly userinfoHref: string;
  readonly stylesheetHref: string;
  readonly theme?: PageTheme | undefined;
  /** Absent when the store cannot list sessions. */
  readonly sessions?: PortalSessions | undefined;
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
    theme: options.theme,
    body: `<h1>Signed in as ${escapeHtml(greeting)}</h1>
<dl>
<dt>User</dt><dd id="user">${escapeHtml(view.user)}</dd>
<dt>Name</dt><dd id="name">${optional(view.name)}</dd>
<dt>E-mail</dt><dd id="email">${optional(view.email)}</dd>
<dt>Groups</dt><dd id="groups">${list(view.groups)}</dd>
<dt>Roles</dt><dd id="roles">${list(view.roles)}</dd>
<dt>Signed in with</dt><dd id="provider">${escapeHtml(view.provider)}</dd>
<dt>Signed in</dt><dd id="signed-in">${moment(view.createdAt, view.now)}</dd>
<dt>Ends if unused</dt><dd id="idle-expiry">${moment(view.idleExpiresAt, view.now)}</dd>
<dt>Ends at the latest</dt><dd id="absolute-expiry">${moment(view.absoluteExpiresAt, view.now)}</dd>
</dl>
<p class="muted">These are the roles your organisation grants you everywhere. An application may grant you more roles of its own.</p>
${options.sessions === undefined ? '' : sessionsSection(options.sessions, view.now)}
<form method="post" action="${escapeHtml(options.signOutAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(options.csrfToken)}">
<button type="submit" id="sign-out">Sign out</button>
</form>
<p class="muted">The same information as JSON: <a href="${escapeHtml(options.userinfoHref)}">${escapeHtml(options.userinfoHref)}</a></p>`,
  });
}

/**
 * "Your sessions": each browser signed in as this person, most recently used first, this one
 * marked; a button per other session and one for all others. Ending this browser's own session
 * is the sign-out button's job (it also offers the provider's sign-out).
 */
function sessionsSection(sessions: PortalSessions, now: number): string {
  const hidden = `<input type="hidden" name="csrf" value="${escapeHtml(sessions.csrfToken)}">`;
  const action = escapeHtml(sessions.endAction);
  const rows = sessions.list.map((session) => {
    const device = escapeHtml(session.userAgent ?? 'Unknown device');
    const end = session.current
      ? '<strong class="this-device">This device</strong>'
      : `<form method="post" action="${action}">${hidden}<input type="hidden" name="session" value="${escapeHtml(session.key)}"><button type="submit" class="end-session">End</button></form>`;
    return `<tr${session.current ? ' class="current"' : ''}><td>${device}</td><td>${escapeHtml(session.provider ?? 'unknown')}</td><td>${session.createdAt === null ? '<span class="muted">unknown</span>' : moment(session.createdAt, now)}</td><td>${moment(session.lastUsedAt, now)}</td><td>${end}</td></tr>`;
  });
  const others = sessions.list.filter((session) => !session.current).length;
  const notice =
    sessions.ended === undefined
      ? ''
      : `<p class="notice" id="sessions-ended" role="status">${sessions.ended === 1 ? 'One session was ended.' : `${String(sessions.ended)} sessions were ended.`} Those browsers must sign in again.</p>`;
  return `<h2>Your sessions</h2>
${notice}<table id="sessions">
<thead><tr><th>Device</th><th>Signed in with</th><th>Signed in</th><th>Last used</th><th></th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
${
  others === 0
    ? '<p class="muted">You are signed in on this device only.</p>'
    : `<form method="post" action="${action}">${hidden}<input type="hidden" name="all" value="others"><button type="submit" id="end-other-sessions">Sign out everywhere else</button></form>`
}`;
}

/**
 * A point in time for people: relative ("5 minutes ago", "in 7 hours"), then once exactly, to
 * the minute and in UTC ("2026-12-06 07:30 UTC"); the `<time>` element carries the ISO 8601
 * value for programs (HTML Living Standard §4.5.14). The page has no script to convert it to the
 * reader's zone, and UTC is what the audit log and the request id are looked up by.
 */
function moment(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  const delta = at - now;
  const relative =
    Math.abs(delta) < 60_000
      ? 'just now'
      : delta < 0
        ? `${humanDuration(-delta)} ago`
        : `in ${humanDuration(delta)}`;
  return `${escapeHtml(relative)} <span class="muted">(<time datetime="${iso}">${readableTime(iso)}</time>)</span>`;
}

/** `2026-12-06T07:30:12.345Z` → `2026-12-06 07:30 UTC`. */
export function readableTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
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
