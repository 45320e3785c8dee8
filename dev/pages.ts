// The HTML pages of the development identity provider: plain HTML with inline
// CSS and no script or external asset, so they work offline, under any CSP and
// are easy to drive from `fetch` (test/fixtures/oidc/) and from a browser.

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}
main{max-width:22rem;margin:4rem auto;background:#fff;padding:1.5rem 2rem;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin-top:.8rem}
input{width:100%;box-sizing:border-box;padding:.4rem;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem}
.error{color:#a00;font-weight:600}.hint{color:#555;font-size:.85rem}`;

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · gatehouse dev identity provider</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

export interface LoginPageModel {
  /** Where the form posts (`/interaction/<uid>/login`). */
  readonly action: string;
  /** Where "Cancel" leads (`/interaction/<uid>/abort`): the RP gets `access_denied`. */
  readonly abortUrl: string;
  readonly clientName: string;
  /** Pre-filled username (the `login_hint`, or the last attempt). */
  readonly username?: string | undefined;
  /** Shown above the form after a failed attempt. */
  readonly error?: string | undefined;
  /** Usernames offered as a hint to newcomers. */
  readonly knownUsernames: readonly string[];
}

/** The login form: `#username`, `#password` and `#sign-in`, as tests and Playwright expect. */
export function renderLoginPage(model: LoginPageModel): string {
  const error =
    model.error === undefined
      ? ''
      : `<p class="error" id="login-error" role="alert">${escapeHtml(model.error)}</p>`;
  const username = model.username ?? '';
  const hint =
    model.knownUsernames.length === 0
      ? ''
      : `<p class="hint">Demo users: ${model.knownUsernames.map(escapeHtml).join(', ')} (see dev/README.md for passwords).</p>`;
  return page(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(model.clientName)}</strong></p>
${error}
<form id="login-form" method="post" action="${escapeHtml(model.action)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required${username === '' ? ' autofocus' : ''} value="${escapeHtml(username)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${username === '' ? '' : ' autofocus'}>
<button id="sign-in" type="submit">Sign in</button>
</form>
<p><a id="cancel" href="${escapeHtml(model.abortUrl)}">Cancel</a></p>
${hint}`,
  );
}

/**
 * The RP-initiated logout confirmation (OpenID Connect RP-Initiated Logout
 * 1.0 §2: the OP should ask whether to log out of the OP as well). `form` is
 * oidc-provider's hidden form (`#op.logoutForm`, carrying the xsrf value);
 * the buttons submit it, `logout=yes` ends the whole OP session.
 */
export function renderLogoutPage(form: string, host: string): string {
  return page(
    'Sign out',
    `<h1>Sign out</h1>
<p>Do you want to sign out of <strong>${escapeHtml(host)}</strong>?</p>
${form}
<button id="sign-out" type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button id="stay-signed-in" type="submit" form="op.logoutForm">No, stay signed in</button>`,
  );
}

export function renderSignedOutPage(clientName: string | undefined): string {
  const from = clientName === undefined ? '' : ` of <strong>${escapeHtml(clientName)}</strong>`;
  return page(
    'Signed out',
    `<h1>Signed out</h1><p id="signed-out">You have signed out${from}.</p>`,
  );
}

/** An error page; `details` are the OAuth `error` / `error_description` pairs. */
export function renderErrorPage(details: Readonly<Record<string, string>>): string {
  const rows = Object.entries(details)
    .map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd>${escapeHtml(value)}</dd>`)
    .join('');
  return page('Error', `<h1>Something went wrong</h1><dl id="error-details">${rows}</dl>`);
}
