import type { Context, Middleware } from 'koa';
import { startLogin } from '../../oidc/login.ts';
import { signInPaths, type SignInOptions } from '../../oidc/sign-in-options.ts';
import type { LoginStateStore } from '../../sessions/login-state-store.ts';
import type { StepUpSignInOptions } from '../../oidc/step-up.ts';
import { themeOf, type PageOptions } from './page-branding.ts';
import { chooserPage, signInErrorPage } from './pages.ts';
import { redirect, requestIdOf, sendPage, singleParam } from './respond.ts';

/**
 * `GET <prefix>/start?rd=…&provider=…&login_hint=…` (and step-up's `max_age`, `acr_values`,
 * `prompt=login`, oidc/step-up.ts): the chooser, or a 302 to the provider.
 */
export function startHandler(
  options: SignInOptions<LoginStateStore> & PageOptions & StepUpSignInOptions,
): Middleware {
  const paths = signInPaths(options);
  const theme = themeOf(options);
  return async (ctx) => {
    const requestId = requestIdOf(ctx);
    const outcome = await startLogin(options, {
      rd: singleParam(ctx, 'rd'),
      provider: singleParam(ctx, 'provider'),
      loginHint: singleParam(ctx, 'login_hint'),
      cookieHeader: ctx.get('cookie') || undefined,
      requestId,
      clientAddress: clientAddressOf(ctx, options),
      stepUp: {
        maxAge: singleParam(ctx, 'max_age'),
        acrValues: singleParam(ctx, 'acr_values'),
        prompt: singleParam(ctx, 'prompt'),
      },
    });
    switch (outcome.kind) {
      case 'redirect':
        redirect(ctx, outcome.location, outcome.setCookie);
        return;
      case 'choose':
        sendPage(
          ctx,
          200,
          chooserPage({
            providers: outcome.providers,
            stylesheetHref: paths.stylesheetHref,
            ...(outcome.discovery === undefined
              ? {}
              : {
                  discovery: { action: `${paths.prefix}/start`, ...outcome.discovery },
                }),
            ...(outcome.notice === undefined ? {} : { notice: outcome.notice }),
            theme,
          }),
          [],
          theme,
        );
        return;
      case 'error':
        if (outcome.retryAfterSeconds !== undefined) {
          ctx.set('Retry-After', String(outcome.retryAfterSeconds));
        }
        sendPage(
          ctx,
          outcome.status,
          signInErrorPage({
            title: outcome.title,
            message: outcome.message,
            requestId,
            retryHref: `${paths.prefix}/start`,
            stylesheetHref: paths.stylesheetHref,
            theme,
          }),
          [],
          theme,
        );
        return;
    }
  };
}

/**
 * The client's address as the trusted proxies report it (the same reading as the check
 * endpoints: right-most untrusted `X-Forwarded-For` element, else `X-Real-IP`, else the peer);
 * undefined without a ProxyTrust, so the per-client limit never lumps every user behind the
 * ingress into one budget by accident.
 */
function clientAddressOf(ctx: Context, options: SignInOptions<unknown>): string | undefined {
  const trust = options.proxyTrust;
  const peer = ctx.req.socket.remoteAddress;
  if (trust === undefined || peer === undefined) return undefined;
  return trust.clientAddress(
    peer,
    {
      'x-forwarded-for': ctx.get('x-forwarded-for') || undefined,
      'x-real-ip': ctx.get('x-real-ip') || undefined,
    },
    { realIpHeader: true },
  );
}
