import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.ts';
import { errorHandler } from './error-handler.ts';

/** One readiness condition: policy synced, Redis reachable, providers discovered... */
export interface ReadinessCheck {
  readonly name: string;
  /**
   * Reported in `/readyz`'s `checks` and in `gatehouse_dependency_up`, but not a condition of
   * readiness: a dependency whose outage fails only some requests (one identity provider).
   */
  readonly informational?: boolean;
  /** Resolves true when ready; must not throw (a throw counts as not ready). */
  check(): boolean | Promise<boolean>;
}

export interface OperationsAppOptions {
  readonly metrics: Metrics;
  readonly readiness: readonly ReadinessCheck[];
  /** False once shutdown began: /readyz fails first so that endpoints drain (DESIGN "graceful shutdown"). */
  readonly accepting: () => boolean;
  readonly logger: Logger;
}

/** The operations listener: never exposed through the ingress (the chart's NetworkPolicy). */
export function createOperationsApp(options: OperationsAppOptions): Koa {
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  app.use(errorHandler(options.logger));

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    const results: Record<string, boolean> = {};
    await Promise.all(
      options.readiness.map(async (readiness) => {
        let ok: boolean;
        try {
          ok = await readiness.check();
        } catch {
          ok = false;
        }
        results[readiness.name] = ok;
        options.metrics.dependencyUp.set({ dependency: readiness.name }, ok ? 1 : 0);
      }),
    );
    const accepting = options.accepting();
    const ready =
      accepting &&
      options.readiness.every(
        (readiness) => readiness.informational === true || results[readiness.name],
      );
    ctx.status = ready ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: ready ? 'ready' : 'not ready', shuttingDown: !accepting, checks: results };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = options.metrics.registry.contentType;
    ctx.body = await options.metrics.registry.metrics();
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
