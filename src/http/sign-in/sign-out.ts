import type { Middleware } from 'koa';
import type { SessionCookieAuthenticator } from '../../authn/session-cookie.ts';
import { serializeCookie } from '../../cookies.ts';
import { destinationOf } from '../../oidc/destination.ts';
import { signInPaths, type SignInOptions } from '../../oidc/sign-in-options.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import { signOutFormActions, afterSignOutLocation, isSameOriginPost } from '../../oidc/sign-out.ts';
import { formToken, isValidFormToken } from '../../oidc/form-token.ts';
import { signedOutView } from '../../oidc/signed-out.ts';
import { themeOf, type PageOptions } from './page-branding.ts';
import { signInErrorPage, signOutConfirmationPage, signedOutPage } from './pages.ts';
import { readFormBody, redirect, requestIdOf, sendPage, singleParam } from './respond.ts';

/** The sign-out form is two short fields. */
const FORM_LIMIT_BYTES = 4096;

/** `GET <prefix>/sign_out`: a confirmation form; a link alone never signs anyone out. */
export function signOutPageHandler(
  options: SignInOptions<unknown> & PageOptions,
  sessions: SessionCookieAuthenticator,
): Middleware {
  const paths = signInPaths(options);
  const theme = themeOf(options);
  return async (ctx) => {
    const found = await sessions.findSession(ctx.get('cookie') || undefined);
    const target = destinationOf(options, singleParam(ctx, 'rd'), 'sign-out', requestIdOf(ctx));
    sendPage(
      ctx,
      200,
      signOutConfirmationPage({
        action: `${paths.prefix}/sign_out`,
        csrfToken: found === null ? '' : formToken('sign-out', found.ticket, found.session.key),
        rd: target,
        user: found?.session.identity.user ?? null,
        stylesheetHref: paths.stylesheetHref,
        theme,
      }),
      signOutFormActions(options, found?.session ?? null),
      theme,
    );
  };
}

/** `POST <prefix>/sign_out`: ends the session, expires the cookie, optionally signs out at the provider. */
export function signOutHandler(
  options: SignInOptions<SessionStore> & PageOptions,
  sessions: SessionCookieAuthenticator,
): Middleware {
  const paths = signInPaths(options);
  const theme = themeOf(options);
  return async (ctx) => {
    const requestId = requestIdOf(ctx);
    const refused = (message: string): void => {
      options.logger.info({ requestId, reason: message }, 'sign-out refused');
      sendPage(
        ctx,
        403,
        signInErrorPage({
          title: 'Sign-out not confirmed',
          message,
          requestId,
          retryHref: `${paths.prefix}/sign_out`,
          stylesheetHref: paths.stylesheetHref,
          theme,
        }),
        [],
        theme,
      );
    };
    const sameOrigin = isSameOriginPost(
      {
        origin: ctx.get('origin') || undefined,
        secFetchSite: ctx.get('sec-fetch-site') || undefined,
      },
      options.publicUrl,
    );
    if (!sameOrigin) {
      refused('The sign-out request did not come from this site. Please use the sign-out button.');
      return;
    }
    const form = await readFormBody(ctx, FORM_LIMIT_BYTES);
    const found = await sessions.findSession(ctx.get('cookie') || undefined);
    if (found !== null) {
      if (!isValidFormToken('sign-out', form.get('csrf'), found.ticket, found.session.key)) {
        refused('The sign-out form has expired. Please use the sign-out button again.');
        return;
      }
      if (await options.store.delete(found.session.key)) {
        options.metrics.sessionRevocations.inc({ source: 'sign-out' });
      }
      options.audit.record({
        event: 'logout',
        requestId,
        provider: found.session.provider,
        user: found.session.identity.user,
        sessionId: found.session.key,
      });
      options.logger.info(
        { requestId, provider: found.session.provider, sessionKey: found.session.key },
        'signed out',
      );
    }
    const location = afterSignOutLocation(
      options,
      found?.session ?? null,
      form.get('rd') ?? undefined,
      requestId,
    );
    redirect(
      ctx,
      withSignedOutProvider(location, paths.prefix, found?.session.provider),
      serializeCookie(options.cookie.name, '', {
        path: '/',
        domain: options.cookie.domain,
        maxAge: 0,
        secure: options.cookie.secure,
        sameSite: options.cookie.sameSite,
      }),
    );
  };
}

/**
 * Names the ended session's provider on the signed-out page's link, when the browser goes there
 * directly (no RP-initiated logout), so the page can say that this provider may still be signed
 * in and link its own sign-out (oidc/signed-out.ts). A location at the provider is left as it is.
 */
function withSignedOutProvider(
  location: string,
  prefix: string,
  provider: string | undefined,
): string {
  if (provider === undefined || !location.startsWith(`${prefix}/signed-out?`)) return location;
  return `${location}&${new URLSearchParams({ provider }).toString()}`;
}

/**
 * `GET <prefix>/signed-out?rd=…&provider=…`: the landing page, also the
 * `post_logout_redirect_uri` (the destination then comes back as `state`, and is validated again
 * like any `rd`).
 */
export function signedOutHandler(options: SignInOptions<unknown> & PageOptions): Middleware {
  const paths = signInPaths(options);
  const theme = themeOf(options);
  return (ctx) => {
    const view = signedOutView(options, {
      rd: singleParam(ctx, 'rd'),
      state: singleParam(ctx, 'state'),
      provider: singleParam(ctx, 'provider'),
      requestId: requestIdOf(ctx),
    });
    sendPage(
      ctx,
      200,
      signedOutPage({ view, stylesheetHref: paths.stylesheetHref, theme }),
      [],
      theme,
    );
  };
}
