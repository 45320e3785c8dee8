import type { Middleware } from 'koa';
import { handleLogoutToken } from '../../oidc/backchannel-logout.ts';
import type { SignInOptions } from '../../oidc/sign-in-options.ts';
import type { ReplayGuard } from '../../sessions/replay-guard.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import { GatehouseError } from '../../errors.ts';
import { readFormBody, requestIdOf, sendJson } from './respond.ts';

/** Logout tokens are a few hundred bytes; 16 KiB leaves room for large `sid`s and keys ids. */
const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * `POST <prefix>/backchannel_logout` (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8): 200 when
 * the token is valid (even if no session matched), 400 `invalid_request` otherwise, never cached.
 */
export function backchannelLogoutHandler(
  options: SignInOptions<SessionStore & ReplayGuard>,
): Middleware {
  return async (ctx) => {
    const requestId = requestIdOf(ctx);
    let token: string | null;
    try {
      token = (await readFormBody(ctx, BODY_LIMIT_BYTES)).get('logout_token');
    } catch (error: unknown) {
      if (!(error instanceof GatehouseError)) throw error;
      sendJson(ctx, error.status, { error: 'invalid_request', error_description: error.message });
      return;
    }
    if (token === null || token === '') {
      sendJson(ctx, 400, {
        error: 'invalid_request',
        error_description: 'logout_token is missing',
      });
      return;
    }
    const result = await handleLogoutToken(options, token);
    if (!result.ok) {
      options.logger.info({ requestId, reason: result.description }, 'back-channel logout refused');
      sendJson(ctx, 400, { error: 'invalid_request', error_description: result.description });
      return;
    }
    ctx.status = 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = '';
  };
}
