import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { errorResponseOf } from './error-response.ts';

/** Koa's side of http/error-response.ts: the sign-in routes, JWKS and everything not a check. */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error: unknown) {
      const requestId = String(ctx.state['requestId'] ?? '');
      const { status, code, message } = errorResponseOf(error, requestId, logger);
      // Drop whatever a handler set before failing, as Koa's own error path does.
      for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
      ctx.status = status;
      ctx.set('X-Request-ID', requestId);
      ctx.set('Cache-Control', 'no-store');
      if (ctx.accepts(['json', 'html']) === 'html') {
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = `${message}\nrequest id: ${requestId}\n`;
      } else {
        ctx.body = { error: code, message, requestId };
      }
    }
  };
}
