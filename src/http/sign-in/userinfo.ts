import type { Middleware } from 'koa';
import type { SessionCookieAuthenticator } from '../../authn/session-cookie.ts';
import { identityOfSession } from '../../authn/session-identity.ts';
import type { SignInOptions } from '../../oidc/sign-in-options.ts';
import { sendJson } from './respond.ts';

/** `GET <prefix>/userinfo`: who the session cookie names, for the applications' own UI. */
export function userinfoHandler(
  options: SignInOptions<unknown>,
  sessions: SessionCookieAuthenticator,
): Middleware {
  return async (ctx) => {
    const found = await sessions.findSession(ctx.get('cookie') || undefined);
    if (found === null) {
      sendJson(ctx, 401, { error: 'unauthenticated', message: 'not signed in' });
      return;
    }
    const { session } = found;
    const identity = identityOfSession(session);
    sendJson(ctx, 200, {
      user: identity.user,
      email: identity.email ?? null,
      name: identity.name ?? null,
      // oauth2-proxy's userinfo field (omitted when empty, like its `omitempty`): applications
      // written against oauth2-proxy read the provider's preferred_username here.
      ...(identity.preferredUsername === undefined
        ? {}
        : { preferredUsername: identity.preferredUsername }),
      groups: identity.groups,
      roles: options.rolesOf(identity),
      provider: session.provider,
      sessionExpiresAt: new Date(session.absoluteExpiresAt).toISOString(),
      idleExpiresAt: new Date(session.idleExpiresAt).toISOString(),
    });
  };
}
