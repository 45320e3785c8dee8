import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { errorResponseOf } from './error-response.ts';
import { escapeHtml, pageSecurityHeaders, renderPage } from './pages.ts';

function errorPage(status: number, message: string, requestId: string): string {
  const unavailable = status === 503;
  const title = unavailable
    ? 'Temporarily unavailable'
    : status >= 500
      ? 'Something went wrong'
      : 'Request refused';
  const advice = unavailable
    ? 'Sign-in is temporarily unavailable. Please try again in a minute.'
    : status >= 500
      ? 'Please try again. If it keeps happening, tell your platform team the request id below.'
      : message;
  return renderPage({
    title,
    stylesheetHref: null,
    body: `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(advice)}</p>
<p class="muted">Request id: <code>${escapeHtml(requestId)}</code></p>`,
  });
}

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
        // People reach these routes with a browser (sign-in above all): a page that says what
        // happened and what to do, never a stack trace.
        for (const [name, value] of pageSecurityHeaders) ctx.set(name, value);
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = errorPage(status, message, requestId);
      } else {
        ctx.body = { error: code, message, requestId };
      }
    }
  };
}
