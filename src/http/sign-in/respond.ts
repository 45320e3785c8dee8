import type { Context } from 'koa';
import { GatehouseError } from '../../errors.ts';
import { defaultTheme, type PageTheme } from '../pages.ts';

/** Shared response helpers of the sign-in handlers. */

export function requestIdOf(ctx: Context): string {
  return String(ctx.state['requestId'] ?? '');
}

/** One query parameter; a repeated parameter counts as absent (nobody legitimate repeats it). */
export function singleParam(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Sends an HTML page with the strict page headers of the theme it was rendered with (its
 * stylesheet hash, its logo's origin); `formActions` are extra origins the page's forms may post
 * or be redirected to (the provider's sign-out endpoint).
 */
export function sendPage(
  ctx: Context,
  status: number,
  html: string,
  formActions: readonly string[] = [],
  theme: PageTheme = defaultTheme,
): void {
  for (const [name, value] of theme.securityHeaders) ctx.set(name, value);
  if (formActions.length > 0) {
    ctx.set(
      'Content-Security-Policy',
      theme.contentSecurityPolicy.replace(
        "form-action 'self'",
        `form-action 'self' ${formActions.join(' ')}`,
      ),
    );
  }
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = html;
}

export function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = body;
}

export function redirect(
  ctx: Context,
  location: string,
  setCookie?: string | readonly string[],
): void {
  ctx.status = 302;
  ctx.set('Location', location);
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'no-referrer');
  // The sign-in routes are proxied as ordinary requests, which pass every Set-Cookie on. (Only
  // an auth subrequest's Set-Cookie is cut to the first one, by `auth_request_set`; the check
  // endpoints never set cookies.) Still, one per response except where a cookie must also be
  // cleared: the callback sets the session and expires the login binding.
  if (setCookie !== undefined) ctx.set('Set-Cookie', [setCookie].flat());
  ctx.body = '';
}

/**
 * Reads an `application/x-www-form-urlencoded` body of at most `limit` bytes. Wrong content type →
 * 400, larger body → 413; both before more than `limit` bytes are buffered.
 */
export async function readFormBody(ctx: Context, limit: number): Promise<URLSearchParams> {
  const type = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new GatehouseError(
      'invalid-request',
      400,
      'expected an application/x-www-form-urlencoded body',
    );
  }
  const declared = Number(ctx.get('content-length') || '0');
  if (Number.isFinite(declared) && declared > limit) {
    throw new GatehouseError('payload-too-large', 413, `request body larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw new GatehouseError('payload-too-large', 413, `request body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
