import { describe, expect, it } from 'vitest';
import { defaultTracesUrl, parseExportHeaders, tracesUrl } from './exporter-settings.ts';

describe('tracesUrl', () => {
  it('uses tracing.endpoint as written, before any variable', () => {
    expect(
      tracesUrl('http://collector:4318/custom', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:1' }),
    ).toEqual({ url: 'http://collector:4318/custom', from: 'tracing.endpoint' });
  });

  it('uses the signal-specific variable as written, and appends /v1/traces to the base one', () => {
    expect(
      tracesUrl(undefined, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://a:4318/traces',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:4318',
      }).url,
    ).toBe('http://a:4318/traces');
    expect(tracesUrl(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:4318/otlp/' }).url).toBe(
      'http://b:4318/otlp/v1/traces',
    );
  });

  it('falls back to the OTLP default', () => {
    expect(tracesUrl(undefined, {}).url).toBe(defaultTracesUrl);
  });
});

describe('parseExportHeaders', () => {
  it('reads the OTEL_EXPORTER_OTLP_HEADERS format: percent-decoded values, lower-case names', () => {
    expect(parseExportHeaders(' Authorization=Bearer%20abc , x-scope-orgid=tenant-1,')).toEqual({
      ok: true,
      headers: { authorization: 'Bearer abc', 'x-scope-orgid': 'tenant-1' },
    });
    expect(parseExportHeaders('')).toEqual({ ok: true, headers: {} });
  });

  it.each([
    ['authorization', 'entry 1 is not name=value'],
    ['a b=c', 'entry 1 does not start with a valid header name'],
    ['x=1,X=2', 'entry 2 names x a second time'],
    ['content-type=text/plain', 'entry 1 sets content-type, which the exporter sets itself'],
    ['x-token=%0d%0aevil', 'entry 1 (x-token) holds a control character'],
    ['x-token=100%', 'entry 1 (x-token) has a malformed percent-encoding (write % as %25)'],
  ])('refuses %j: %s', (text, message) => {
    expect(parseExportHeaders(text)).toEqual({ ok: false, message });
  });
});
