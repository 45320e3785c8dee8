import type { Middleware } from 'koa';
import { atOrigin, hostnameOfHostHeader } from '../../oidc/sign-in-origins.ts';
import { signInPaths, type SignInOptions } from '../../oidc/sign-in-options.ts';
import { themeOf, type PageOptions } from './page-branding.ts';
import { signInErrorPage } from './pages.ts';
import { requestIdOf, sendPage } from './respond.ts';

/**
 * A sign-in route answered as the sign-in origin its `Host` names (oidc/sign-in-origins.ts):
 * `build` makes the route's handler once per configured origin, from the options as seen there.
 * Without several origins it is `build(options)` itself, for every host, as before.
 *
 * A host that is no configured origin is refused with 421 Misdirected Request (RFC 9110
 * §15.5.20: this server will not answer for that authority), naming the settings that list the
 * hosts: such a request would set a cookie for no configured domain, or build a `redirect_uri`
 * the provider does not know. Routes a proxy reaches on an application's host (the 403 page,
 * `/userinfo`) or the provider calls (back-channel logout) are not wrapped.
 */
export function perSignInHost<O extends SignInOptions<unknown> & PageOptions>(
  options: O,
  build: (view: O) => Middleware,
): Middleware {
  const origins = options.signInOrigins;
  if (origins === undefined) return build(options);
  const handlers = new Map(
    origins.all.map((origin) => [origin.hostname, build(atOrigin(options, origin))] as const),
  );
  const paths = signInPaths(options);
  const theme = themeOf(options);
  const hosts = origins.all.map((origin) => origin.hostname).join(', ');
  return async (ctx, next) => {
    const hostname = hostnameOfHostHeader(ctx.get('host') || undefined);
    const handler = hostname === undefined ? undefined : handlers.get(hostname);
    if (handler !== undefined) {
      await handler(ctx, next);
      return;
    }
    const requestId = requestIdOf(ctx);
    options.logger.info(
      { requestId, host: ctx.get('host').slice(0, 260), signInHosts: hosts },
      'sign-in route reached on a host that is not a sign-in host (publicUrl, sessions.cookie.signInUrls); refused with 421',
    );
    sendPage(
      ctx,
      421,
      signInErrorPage({
        title: 'Not a sign-in address',
        message: `Sign-in is served at ${hosts} only (publicUrl and sessions.cookie.signInUrls), and this request came for ${hostname ?? 'no valid host'}. If you followed a link, please tell whoever gave it to you.`,
        requestId,
        retryHref: `${paths.publicBase}${paths.prefix}/`,
        stylesheetHref: paths.stylesheetHref,
        theme,
      }),
      [],
      theme,
    );
  };
}
