import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Dialect } from '../dialects/dialect.ts';
import { jwksPath, type JwksDocument } from '../identity/signing-keys-jwks.ts';
import { handleCheck, type CheckDependencies } from './check-route.ts';
import { errorHandler } from './error-handler.ts';
import { stylesheet } from './pages.ts';
import { requestIdFrom } from './request-id.ts';

export interface MainAppOptions {
  readonly check: CheckDependencies;
  readonly dialects: {
    readonly nginx: Dialect;
    readonly forwardAuth: Dialect;
    readonly extAuthz: Dialect;
  };
  /** The configurable prefix of the sign-in routes (`/oauth2`). */
  readonly routesPrefix: string;
  readonly logger: Logger;
  /** Public keys of the identity assertion, served at /.well-known/jwks.json when enabled. */
  readonly jwks?: () => JwksDocument;
  /** Mounts the sign-in routes (OIDC) when sessions are configured. */
  readonly mountSignInRoutes?: (router: Router) => void;
}

/** The main listener's Koa app: the three external-auth dialects and the sign-in routes. */
export function createMainApp(options: MainAppOptions): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are logged by errorHandler, once, with the request id
  const router = new Router();

  app.use(async (ctx, next) => {
    const requestId = requestIdFrom(ctx.get('x-request-id') || undefined);
    ctx.state['requestId'] = requestId;
    ctx.set('X-Request-ID', requestId);
    await next();
  });
  app.use(errorHandler(options.logger));

  // The check endpoints are matched by hand, before the router: they are the hot path, and the
  // ext-authz path carries the client's raw path, which must reach the dialect undecoded (a
  // router would percent-decode it, and throw on a malformed escape).
  const { nginx, forwardAuth, extAuthz } = options.dialects;
  app.use(async (ctx, next): Promise<void> => {
    const path = ctx.path;
    if (!path.startsWith('/authz/')) {
      await next();
      return;
    }
    // ingress-nginx subrequests are GET (HEAD when the client sent HEAD); auth-method may set
    // others. Traefik with preserveRequestMethod keeps the client's method; Caddy sends GET.
    if (path === '/authz/nginx') return handleCheck(ctx, nginx, options.check);
    if (path === '/authz/forward-auth') return handleCheck(ctx, forwardAuth, options.check);
    // Envoy keeps the original method and appends the original path to the prefix.
    if (path === '/authz/ext-authz' || path.startsWith('/authz/ext-authz/')) {
      return handleCheck(ctx, extAuthz, options.check);
    }
    await next();
  });

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
