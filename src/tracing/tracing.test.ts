import { ROOT_CONTEXT, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { DependencyError } from '../errors.ts';
import { errorTypeOf, inChildSpan } from './tracing.ts';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

function recorder() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  return { exporter, tracer: provider.getTracer('test') };
}

describe('inChildSpan', () => {
  it('records nothing outside a traced request: no span of its own', async () => {
    const { exporter, tracer } = recorder();
    expect(await inChildSpan(tracer, 'session-store ping', {}, () => Promise.resolve(7))).toBe(7);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('is a child of the active span, and a failure is its ERROR with the error code only', async () => {
    const { exporter, tracer } = recorder();
    const parent = tracer.startSpan('GET /authz/nginx', {}, ROOT_CONTEXT);
    const failure = new DependencyError('redis', 'connect ECONNREFUSED 10.0.0.7:6379');
    await expect(
      context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
        inChildSpan(tracer, 'session-store get', { op: 'get' }, () => Promise.reject(failure)),
      ),
    ).rejects.toBe(failure);
    parent.end();
    const [child] = exporter.getFinishedSpans();
    expect(child?.name).toBe('session-store get');
    expect(child?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(child?.status.code).toBe(SpanStatusCode.ERROR);
    expect(child?.attributes).toEqual({ op: 'get', 'error.type': 'dependency-unavailable' });
    expect(child?.events).toEqual([]); // no exception event: messages may quote a request
  });
});

describe('errorTypeOf', () => {
  it('takes a safe code, else the class name, else _OTHER', () => {
    expect(errorTypeOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(
      'ECONNREFUSED',
    );
    expect(errorTypeOf(Object.assign(new TypeError('x'), { code: 'has spaces in it' }))).toBe(
      'TypeError',
    );
    expect(errorTypeOf('a string')).toBe('_OTHER');
  });
});
