import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Dialect } from '../dialects/dialect.ts';
import { oauth2ProxyDialect } from '../dialects/oauth2-proxy.ts';
import { jwksPath, type JwksDocument } from '../identity/signing-keys-jwks.ts';
import { handleCheck, type CheckDependencies } from './check-route.ts';
import { errorHandler } from './error-handler.ts';
import { writeErrorResponse } from './error-response.ts';
import { stylesheet } from './pages.ts';
import { requestIdsFrom } from './request-id.ts';

export interface MainAppOptions {
  readonly check: CheckDependencies;
  readonly dialects: {
    readonly nginx: Dialect;
    readonly forwardAuth: Dialect;
    readonly extAuthz: Dialect;
    /** oauth2-proxy's `<routes.prefix>/auth` (issue #19); default: `oauth2ProxyDialect`. */
    readonly oauth2Proxy?: Dialect;
  };
  /** The configurable prefix of the sign-in routes (`/oauth2`). */
  readonly routesPrefix: string;
  readonly logger: Logger;
  /** Public keys of the identity assertion, served at /.well-known/jwks.json when enabled. */
  readonly jwks?: () => JwksDocument;
  /** Mounts the sign-in routes (OIDC) when sessions are configured. */
  readonly mountSignInRoutes?: (router: Router) => void;
}

/**
 * The main listener's request handler. The external-auth endpoints (with oauth2-proxy's
 * `<prefix>/auth`, issue #19) are answered straight from `node:http` — they are the hot path
 * of every protected app, and a Koa context per check
 * costs more than the whole decision — and everything else (sign-in routes, JWKS, static files)
 * goes through the Koa app. They are matched on the raw target, before any decoding: the
 * ext-authz path carries the client's raw path, which must reach the dialect undecoded (a router
 * would percent-decode it, and throw on a malformed escape).
 */
export function createMainHandler(options: MainAppOptions): RequestListener {
  const koa = createMainApp(options).callback();
  const { nginx, forwardAuth, extAuthz } = options.dialects;
  const oauth2Proxy = options.dialects.oauth2Proxy ?? oauth2ProxyDialect;
  // oauth2-proxy's drop-in, where its `--proxy-prefix` puts it (`/oauth2/auth`, any method).
  const oauth2ProxyPath = `${options.routesPrefix}/auth`;
  const dialectFor = (rawTarget: string): Dialect | null => {
    // An absolute-form target (`GET http://host/authz/nginx`) still belongs to the check
    // endpoint, whose dialect refuses it with a 400 rather than a 404 from the router.
    const target = rawTarget.startsWith('/')
      ? rawTarget
      : rawTarget.replace(/^[a-z]+:\/\/[^/]*/i, '');
    const end = target.indexOf('?');
    const path = end === -1 ? target : target.slice(0, end);
    if (path === oauth2ProxyPath) return oauth2Proxy;
    if (!target.startsWith('/authz/')) return null;
    // ingress-nginx subrequests are GET (HEAD when the client sent HEAD); auth-method may set
    // others. Traefik with preserveRequestMethod keeps the client's method; Caddy sends GET.
    if (path === '/authz/nginx') return nginx;
    if (path === '/authz/forward-auth') return forwardAuth;
    // Envoy keeps the original method and appends the original path to the prefix.
    if (path === '/authz/ext-authz' || path.startsWith('/authz/ext-authz/')) return extAuthz;
    return null;
  };
  return (req: IncomingMessage, res: ServerResponse) => {
    const dialect = dialectFor(req.url ?? '/');
    if (dialect === null) {
      void koa(req, res);
      return;
    }
    const { requestId, proxyRequestId } = requestIdsFrom(
      req.headers['x-request-id'],
      req.socket.remoteAddress,
      options.check.proxyTrust,
    );
    // X-Request-ID is written with the check's answer (check-route.ts writeResponse) or its
    // error (error-response.ts), not set here: one writeHead with every field is cheaper.
    handleCheck(req, res, requestId, dialect, options.check, proxyRequestId).catch(
      (error: unknown) => {
        writeErrorResponse(res, error, requestId, options.logger);
      },
    );
  };
}

/** The Koa app behind the main listener: sign-in routes, JWKS, static files. */
export function createMainApp(options: MainAppOptions): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are logged by errorHandler, once, with the request id
  const router = new Router();

  // gatehouse's own id for every request; a trusted ingress's id is kept beside it
  // (`ctx.state.proxyRequestId`), never in its place (http/request-id.ts).
  app.use(async (ctx, next) => {
    const { requestId, proxyRequestId } = requestIdsFrom(
      ctx.req.headers['x-request-id'],
      ctx.req.socket.remoteAddress,
      options.check.proxyTrust,
    );
    ctx.state['requestId'] = requestId;
    if (proxyRequestId !== undefined) ctx.state['proxyRequestId'] = proxyRequestId;
    ctx.set('X-Request-ID', requestId);
    await next();
  });
  app.use(errorHandler(options.logger));

  router.get(`${options.routesPrefix}/static/gatehouse.css`, (ctx) => {
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = stylesheet;
  });
  const jwks = options.jwks;
  if (jwks !== undefined) {
    router.get(jwksPath, (ctx) => {
      const document = jwks();
      ctx.type = document.contentType;
      ctx.set('Cache-Control', document.cacheControl);
      ctx.body = document.body;
    });
  }
  options.mountSignInRoutes?.(router);

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
