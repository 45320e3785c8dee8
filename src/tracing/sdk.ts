/**
 * The OpenTelemetry SDK behind `tracing.enabled: true`: a tracer provider with a parent-based
 * ratio sampler, a batch span processor and the OTLP/HTTP (JSON) exporter. This is the only
 * module that imports an SDK package, and the composition root imports it dynamically
 * (composition/tracing.ts), so a gatehouse with tracing off never loads one.
 */
import { ROOT_CONTEXT, context, defaultTextMapGetter } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  ExportResultCode,
  W3CTraceContextPropagator,
  type ExportResult,
} from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import { parseExportHeaders, tracesUrl } from './exporter-settings.ts';
import type { Tracing } from './tracing.ts';

/** `tracing.*` of the configuration (config/schema.ts). */
export interface TracingSettings {
  /** Unset: the `OTEL_EXPORTER_OTLP_*ENDPOINT` variables, else the OTLP default. */
  readonly endpoint: string | undefined;
  readonly serviceName: string;
  readonly sampleRatio: number;
  /** Unset: no headers beyond `OTEL_EXPORTER_OTLP_HEADERS`. */
  readonly headers: string | undefined;
}

export interface TracingOptions {
  readonly logger: Logger;
  /** For the `OTEL_EXPORTER_OTLP_*ENDPOINT` fallbacks of `tracing.endpoint`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `service.version`. */
  readonly version: string;
}

export interface StartedTracing {
  readonly tracing: Tracing;
  /** Exports what is still queued (bounded by the exporter's timeout), then stops. */
  shutdown(): Promise<void>;
}

/** Longest attribute value kept: a host name at most (RFC 1035 §2.3.4: 253 octets). */
const ATTRIBUTE_VALUE_LIMIT = 256;

export function startTracing(settings: TracingSettings, options: TracingOptions): StartedTracing {
  const { logger } = options;
  const parsed = parseExportHeaders(settings.headers);
  // config/checks.ts refuses bad headers already; this is for callers that skip loadConfig.
  if (!parsed.ok) throw new Error(`tracing.headers: ${parsed.message}`);
  const target = tracesUrl(settings.endpoint, options.env);
  const url = URL.parse(target.url);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new Error(`${target.from} is not an absolute http(s) URL`);
  }

  // A span's children are found through the active context, across the awaits between the
  // check and the store call: AsyncLocalStorage carries it. The context manager is process-wide
  // (@opentelemetry/api keeps one); a second gatehouse in the same process (tests) reuses the
  // first one's, which works the same.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

  // Other `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, compression, certificates) are
  // read by the exporter itself; `tracing.headers` wins over a header of the same name.
  const exporter = new OTLPTraceExporter({ url: target.url, headers: { ...parsed.headers } });
  const provider = new TracerProvider({
    // OpenTelemetry's default sampler family: a check follows the proxy's decision (the sampled
    // flag of `traceparent`), and only checks that arrive without one are sampled by ratio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    resource: detectResources({ detectors: [resourceAttributesEnvDetector] }).merge(
      resourceFromAttributes({
        'service.name': settings.serviceName,
        'service.version': options.version,
      }),
    ),
    spanLimits: { attributeValueLengthLimit: ATTRIBUTE_VALUE_LIMIT },
    // Spans are queued and sent in batches off the request path; a full queue drops spans
    // rather than slowing checks (the batch processor's documented behaviour).
    spanProcessors: [new BatchSpanProcessor({ exporter: new LoggingExporter(exporter, logger) })],
  });

  const propagator = new W3CTraceContextPropagator();
  const tracer = provider.getTracer('gatehouse', options.version);
  logger.info(
    {
      // Without credentials or query: the URL may hold either.
      endpoint: `${url.origin}${url.pathname}`,
      endpointFrom: target.from,
      serviceName: settings.serviceName,
      sampleRatio: settings.sampleRatio,
    },
    'tracing enabled: exporting spans over OTLP/HTTP',
  );
  return {
    tracing: {
      tracer,
      extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter),
    },
    shutdown: () => provider.shutdown(),
  };
}

/**
 * Logs failed exports: once when exports start failing and once when they work again, so an
 * unreachable collector is visible without a line per batch. Spans are never on the log.
 */
class LoggingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #logger: Logger;
  #failing = false;

  constructor(inner: SpanExporter, logger: Logger) {
    this.#inner = inner;
    this.#logger = logger;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      const failed = result.code !== ExportResultCode.SUCCESS;
      if (failed && !this.#failing) {
        this.#logger.warn(
          { err: { message: result.error?.message ?? 'unknown error' }, spans: spans.length },
          'trace export failed; spans are dropped until the collector answers again',
        );
      } else if (!failed && this.#failing) {
        this.#logger.info('trace export works again');
      }
      this.#failing = failed;
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}
