import type Router from '@koa/router';
import type { Context } from 'koa';
import type { SessionCookieAuthenticator } from '../../authn/session-cookie.ts';
import {
  impersonatedIdentity,
  parseImpersonationTarget,
  type Impersonation,
  type ImpersonationRefusal,
} from '../../oidc/impersonation.ts';
import { identityOfSession } from '../../authn/session-identity.ts';
import { signInPaths, type SignInOptions } from '../../oidc/sign-in-options.ts';
import { isSameOriginPost } from '../../oidc/sign-out.ts';
import { formToken, isValidFormToken } from '../../oidc/form-token.ts';
import type { RevocationBus } from '../../sessions/revocation-bus.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import type { Session } from '../../sessions/session.ts';
import type { SessionTicket } from '../../sessions/ticket.ts';
import { escapeHtml, renderPage } from '../pages.ts';
import { readFormBody, redirect, requestIdOf, sendPage } from './respond.ts';
import { perSignInHost } from './sign-in-host.ts';

/**
 * `GET <prefix>/impersonate` shows who the signed-in user is acting as and a form to start or
 * stop; `POST <prefix>/impersonate` (`action=start&user=…[&email=…]` or `action=stop`) does it.
 * The POST is protected against cross-site requests twice, like sign-out: a token bound to the
 * session (oidc/impersonation.ts) and the browser's `Origin` / `Sec-Fetch-Site`. Every start
 * and stop, allowed or refused, is one line on the audit trail. The rules are in
 * oidc/impersonation.ts; this file is the HTTP edge only.
 */

/** The form is three short fields. */
const FORM_LIMIT_BYTES = 4096;

interface Found {
  readonly session: Session;
  readonly ticket: SessionTicket;
}

/** Mounts both routes when impersonation is configured (`SignInOptions.impersonation`). */
export function mountImpersonation(
  router: Router,
  options: SignInOptions<SessionStore & RevocationBus>,
  sessions: SessionCookieAuthenticator,
): void {
  const impersonation = options.impersonation;
  if (impersonation === undefined) return;
  const { prefix } = signInPaths(options);
  // Answered as the sign-in origin the Host names (same-origin check, sign-in link).
  router.get(
    `${prefix}/impersonate`,
    perSignInHost(options, (view) => async (ctx) => {
      await showForm(ctx, view, impersonation, sessions);
    }),
  );
  router.post(
    `${prefix}/impersonate`,
    perSignInHost(options, (view) => async (ctx) => {
      await handlePost(ctx, view, impersonation, sessions);
    }),
  );
}

async function showForm(
  ctx: Context,
  options: SignInOptions<unknown>,
  impersonation: Impersonation,
  sessions: SessionCookieAuthenticator,
): Promise<void> {
  const paths = signInPaths(options);
  const found = await sessions.findSession(ctx.get('cookie') || undefined);
  if (found === null) {
    const signIn = `${paths.prefix}/start?${new URLSearchParams({ rd: `${paths.publicBase}${paths.prefix}/impersonate` }).toString()}`;
    sendPage(
      ctx,
      401,
      page(
        paths.stylesheetHref,
        `<p>You are not signed in.</p>
<p><a class="button" href="${escapeHtml(signIn)}">Sign in</a></p>`,
      ),
    );
    return;
  }
  const real = identityOfSession(found.session);
  const csrf = formToken('impersonate', found.ticket, found.session.key);
  const action = `${paths.prefix}/impersonate`;
  const current = found.session.impersonation;
  const acting =
    current === undefined
      ? ''
      : `<p>You are acting as <strong id="acting-as">${escapeHtml(current.user)}</strong>.</p>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<input type="hidden" name="action" value="stop">
<button type="submit" id="stop">Stop impersonating</button>
</form>`;
  const startForm = impersonation.mayImpersonate(real)
    ? `<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<input type="hidden" name="action" value="start">
<p><label for="user">User name</label> <input id="user" name="user" required maxlength="256" autocomplete="off"></p>
<p><label for="email">E-mail address (optional)</label> <input id="email" name="email" type="email" maxlength="256" autocomplete="off"></p>
<button type="submit" id="start">Act as this user</button>
</form>
<p>The user's groups are not known to gatehouse: only roles granted by name or e-mail address apply.</p>`
    : `<p>You do not hold the role <code>${escapeHtml(impersonation.role)}</code> needed to act as another user.</p>`;
  sendPage(
    ctx,
    current === undefined && !impersonation.mayImpersonate(real) ? 403 : 200,
    page(
      paths.stylesheetHref,
      `<p>You are signed in as <strong>${escapeHtml(real.user)}</strong>.</p>
${acting}
${startForm}`,
    ),
  );
}

async function handlePost(
  ctx: Context,
  options: SignInOptions<SessionStore & RevocationBus>,
  impersonation: Impersonation,
  sessions: SessionCookieAuthenticator,
): Promise<void> {
  const paths = signInPaths(options);
  const requestId = requestIdOf(ctx);
  const found = await sessions.findSession(ctx.get('cookie') || undefined);
  const refuse = (
    status: number,
    action: 'start' | 'stop',
    reason: string,
    target: string,
    message: string,
  ): void => {
    options.metrics.impersonations.inc({ action, result: 'refused' });
    options.audit.record({
      event: 'impersonation',
      requestId,
      action,
      result: 'refused',
      actor: found === null ? '' : found.session.identity.user,
      target,
      reason,
    });
    sendPage(ctx, status, page(paths.stylesheetHref, `<p>${escapeHtml(message)}</p>`));
  };

  const sameOrigin = isSameOriginPost(
    {
      origin: ctx.get('origin') || undefined,
      secFetchSite: ctx.get('sec-fetch-site') || undefined,
    },
    options.publicUrl,
  );
  if (!sameOrigin) {
    refuse(403, 'start', 'cross-site', '', 'The request did not come from this site.');
    return;
  }
  const form = await readFormBody(ctx, FORM_LIMIT_BYTES);
  const action = form.get('action') === 'stop' ? 'stop' : 'start';
  const typed = form.get('user') ?? '';
  if (found === null) {
    refuse(401, action, 'not-signed-in', typed, 'You are not signed in.');
    return;
  }
  if (!isValidFormToken('impersonate', form.get('csrf'), found.ticket, found.session.key)) {
    refuse(403, action, 'csrf', typed, 'The form has expired. Please open it again.');
    return;
  }
  if (action === 'stop') {
    await stop(ctx, options, found, requestId);
    return;
  }
  const target = parseImpersonationTarget(form.get('user'), form.get('email'));
  if (target === null) {
    refuse(400, 'start', 'invalid-user', typed, 'Give a user name (and optionally an e-mail).');
    return;
  }
  const real = identityOfSession(found.session);
  const refusal = impersonation.refusal(real, impersonatedIdentity(found.session, target));
  if (refusal !== null) {
    refuse(403, 'start', refusal, target.user, refusalMessage(refusal));
    return;
  }
  const { impersonation: _previous, ...rest } = found.session;
  const updated: Session = {
    ...rest,
    impersonation: { ...target, startedAt: options.now() },
  };
  if (!(await options.store.update(found.ticket, updated))) {
    refuse(401, 'start', 'session-ended', target.user, 'Your session has ended.');
    return;
  }
  // Other replicas drop their cached copy, so the change holds everywhere at once.
  await options.store.publishRevocation([found.session.key]);
  options.metrics.impersonations.inc({ action: 'start', result: 'success' });
  options.audit.record({
    event: 'impersonation',
    requestId,
    action: 'start',
    result: 'success',
    actor: real.user,
    target: target.user,
  });
  redirect(ctx, `${paths.prefix}/impersonate`);
}

async function stop(
  ctx: Context,
  options: SignInOptions<SessionStore & RevocationBus>,
  found: Found,
  requestId: string,
): Promise<void> {
  const paths = signInPaths(options);
  const { impersonation: current, ...rest } = found.session;
  if (current !== undefined) {
    await options.store.update(found.ticket, rest);
    await options.store.publishRevocation([found.session.key]);
  }
  options.metrics.impersonations.inc({ action: 'stop', result: 'success' });
  options.audit.record({
    event: 'impersonation',
    requestId,
    action: 'stop',
    result: 'success',
    actor: found.session.identity.user,
    target: current?.user ?? '',
  });
  redirect(ctx, `${paths.prefix}/impersonate`);
}

function refusalMessage(refusal: ImpersonationRefusal): string {
  switch (refusal) {
    case 'not-impersonator':
      return 'You are not allowed to act as another user.';
    case 'super-role-target':
      return 'This user holds the administrator role: only an administrator may act as them.';
    case 'super-role-unverifiable':
      return 'The administrator role is granted through groups or e-mail addresses, which gatehouse cannot check for another user: only an administrator may act as another user.';
    case 'self':
      return 'You cannot act as yourself.';
  }
}

function page(stylesheetHref: string, body: string): string {
  return renderPage({
    title: 'Act as another user',
    stylesheetHref,
    body: `<h1>Act as another user</h1>\n${body}`,
  });
}
