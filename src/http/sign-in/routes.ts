import type Router from '@koa/router';
import { SessionCookieAuthenticator } from '../../authn/session-cookie.ts';
import { signInPaths, type SignInOptions } from '../../oidc/sign-in-options.ts';
import { backchannelLogoutHandler } from './backchannel-logout.ts';
import { callbackHandler } from './callback.ts';
import { mountImpersonation } from './impersonate.ts';
import type { PageOptions } from './page-branding.ts';
import { mountPortal } from './portal.ts';
import { perSignInHost } from './sign-in-host.ts';
import { signOutHandler, signOutPageHandler, signedOutHandler } from './sign-out.ts';
import { startHandler } from './start.ts';
import { userinfoHandler } from './userinfo.ts';

/**
 * Mounts the sign-in routes under the prefix (docs/architecture.md "Endpoints"); pass the result to
 * `createMainApp({ mountSignInRoutes })`. The pages are branded with `options.pageTheme`
 * (composition/sign-in.ts), unbranded without one.
 */
export function signInRoutes(options: SignInOptions & PageOptions): (router: Router) => void {
  const { prefix } = signInPaths(options);
  // Sign-out and userinfo read the cookie the way the check path does, without refreshing tokens.
  const sessions = new SessionCookieAuthenticator({
    store: options.store,
    cookieName: options.cookie.name,
    metrics: options.metrics,
  });
  return (router) => {
    // Each answered as the sign-in origin the Host names, with several cookie domains.
    router.get(`${prefix}/start`, perSignInHost(options, startHandler));
    router.get(`${prefix}/callback`, perSignInHost(options, callbackHandler));
    router.get(
      `${prefix}/sign_out`,
      perSignInHost(options, (view) => signOutPageHandler(view, sessions)),
    );
    router.post(
      `${prefix}/sign_out`,
      perSignInHost(options, (view) => signOutHandler(view, sessions)),
    );
    router.get(`${prefix}/signed-out`, perSignInHost(options, signedOutHandler));
    router.post(`${prefix}/backchannel_logout`, backchannelLogoutHandler(options));
    router.get(`${prefix}/userinfo`, userinfoHandler(options, sessions));
    mountImpersonation(router, options, sessions); // <prefix>/impersonate, when configured
    mountPortal(router, options, sessions); // <prefix>/ (portal) and <prefix>/forbidden
  };
}
