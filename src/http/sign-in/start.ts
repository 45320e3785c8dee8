import type { Middleware } from 'koa';
import { startLogin } from '../../oidc/login.ts';
import { signInPaths, type SignInOptions } from '../../oidc/sign-in-options.ts';
import { chooserPage, signInErrorPage } from './pages.ts';
import { redirect, requestIdOf, sendPage, singleParam } from './respond.ts';

/** `GET <prefix>/start?rd=…&provider=…`: the chooser, or a 302 to the provider. */
export function startHandler(options: SignInOptions): Middleware {
  const paths = signInPaths(options);
  return async (ctx) => {
    const requestId = requestIdOf(ctx);
    const outcome = await startLogin(options, {
      rd: singleParam(ctx, 'rd'),
      provider: singleParam(ctx, 'provider'),
      cookieHeader: ctx.get('cookie') || undefined,
      requestId,
    });
    switch (outcome.kind) {
      case 'redirect':
        redirect(ctx, outcome.location, outcome.setCookie);
        return;
      case 'choose':
        sendPage(
          ctx,
          200,
          chooserPage({ providers: outcome.providers, stylesheetHref: paths.stylesheetHref }),
        );
        return;
      case 'error':
        sendPage(
          ctx,
          outcome.status,
          signInErrorPage({
            title: outcome.title,
            message: outcome.message,
            requestId,
            retryHref: `${paths.prefix}/start`,
            stylesheetHref: paths.stylesheetHref,
          }),
        );
        return;
    }
  };
}
