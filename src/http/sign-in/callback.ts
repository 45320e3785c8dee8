import type { Middleware } from 'koa';
import { completeLogin } from '../../oidc/callback.ts';
import { signInPaths, type SignInOptions } from '../../oidc/sign-in-options.ts';
import type { LoginStateStore } from '../../sessions/login-state-store.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import { themeOf, type PageOptions } from './page-branding.ts';
import { callbackErrorPage } from './pages.ts';
import { redirect, requestIdOf, sendPage } from './respond.ts';

/** `GET <prefix>/callback`: the provider's redirect back; sets the session cookie, 302 to `rd`. */
export function callbackHandler(
  options: SignInOptions<SessionStore & LoginStateStore> & PageOptions,
): Middleware {
  const paths = signInPaths(options);
  const theme = themeOf(options);
  return async (ctx) => {
    const requestId = requestIdOf(ctx);
    const outcome = await completeLogin(options, {
      query: ctx.querystring,
      cookieHeader: ctx.get('cookie') || undefined,
      requestId,
      userAgent: ctx.get('user-agent') || undefined,
    });
    if (outcome.kind === 'redirect') {
      redirect(ctx, outcome.location, outcome.setCookie);
      return;
    }
    sendPage(
      ctx,
      outcome.status,
      callbackErrorPage({
        reason: outcome.reason,
        providerError: outcome.providerError,
        requestId,
        retryHref: outcome.retryHref,
        stylesheetHref: paths.stylesheetHref,
        theme,
      }),
      [],
      theme,
    );
  };
}
