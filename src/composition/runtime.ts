import type { Logger } from 'pino';
import { AuditLog } from '../audit/audit-log.ts';
import { Metrics } from '../metrics/metrics.ts';

/** What every part of gatehouse shares: logger, clock, fetch, metrics and the audit trail. */
export interface Runtime {
  readonly logger: Logger;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly fetch: typeof globalThis.fetch;
  readonly metrics: Metrics;
  readonly audit: AuditLog;
  /** The process environment, for the standard `OTEL_*` variables of tracing. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface RuntimeOptions {
  readonly logger: Logger;
  /** Injected for tests; default Date.now. */
  readonly now?: () => number;
  /** Injected for tests; default global fetch. */
  readonly fetch?: typeof fetch;
  /** Collect Node process metrics (off in tests that start several instances). */
  readonly processMetrics?: boolean;
  /** Injected for tests; default `process.env` (read for `OTEL_*` only, never for settings). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function createRuntime(options: RuntimeOptions): Runtime {
  return {
    logger: options.logger,
    now: options.now ?? Date.now,
    fetch: options.fetch ?? globalThis.fetch,
    metrics: new Metrics({ collectProcessMetrics: options.processMetrics ?? true }),
    audit: new AuditLog(options.logger),
    env: options.env ?? process.env,
  };
}
