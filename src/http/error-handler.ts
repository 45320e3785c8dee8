import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { GatehouseError } from './errors.ts';

/**
 * The one place errors become responses. A typed error keeps its status and, when `expose`, its
 * message; anything else is an opaque 500 with the request id, so an operator can find the log
 * line and a client learns nothing about the internals. No path through here yields a 2xx
 * (DESIGN.md security invariant 1).
 */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error: unknown) {
      const requestId = String(ctx.state['requestId'] ?? '');
      const typed = error instanceof GatehouseError ? error : null;
      const status = typed !== null && typed.status >= 400 ? typed.status : 500;
      const code = typed?.code ?? 'internal_error';
      const message =
        typed?.expose === true
          ? typed.message
          : status >= 500
            ? 'internal error'
            : 'request refused';
      const logFields = { requestId, code, status, err: error };
      if (status >= 500)
        logger.error(logFields, typed?.message ?? 'unexpected error while handling a request');
      else logger.info(logFields, typed?.message ?? 'request refused');
      // Drop whatever a handler set before failing (identity headers above all), as Koa's own
      // error path does, so a failed check can never carry an identity to the upstream.
      for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
      ctx.status = status;
      ctx.set('Cache-Control', 'no-store');
      if (ctx.accepts(['json', 'html']) === 'html' && !ctx.path.startsWith('/authz/')) {
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = `${message}\nrequest id: ${requestId}\n`;
      } else {
        ctx.body = { error: code, message, requestId };
      }
    }
  };
}
