/**
 * OpenTelemetry tracing (`tracing.*`, docs/monitoring.md "Tracing"). Off by default; then this
 * returns undefined, the SDK is never imported and the check path only tests for a missing
 * `Tracing`. On, the SDK is loaded here, by a dynamic import, so its packages stay off the
 * start-up of every gatehouse that does not trace.
 */
import { buildInfo } from '../build-info.ts';
import type { Config } from '../config/schema.ts';
import type { Tracing } from '../tracing/tracing.ts';
import type { Runtime } from './runtime.ts';

export interface TracingParts {
  readonly tracing: Tracing;
  /** Flushes the queued spans; called at shutdown, after the listeners closed. */
  readonly shutdown: () => Promise<void>;
}

export async function buildTracing(
  config: Pick<Config, 'tracing'>,
  runtime: Runtime,
): Promise<TracingParts | undefined> {
  if (!config.tracing.enabled) return undefined;
  const { startTracing } = await import('../tracing/sdk.ts');
  const started = startTracing(config.tracing, {
    logger: runtime.logger.child({ component: 'tracing' }),
    env: runtime.env,
    version: buildInfo(runtime.env).version,
  });
  return { tracing: started.tracing, shutdown: () => started.shutdown() };
}
