/**
 * Where traces go and how the export requests authenticate: `tracing.endpoint` and
 * `tracing.headers`, falling back to the standard `OTEL_EXPORTER_OTLP_*` variables. Pure (the
 * environment is passed in), so the configuration checks judge `tracing.headers` with the same
 * parser the exporter uses, and no OpenTelemetry package is loaded for it.
 */

/** The OTLP/HTTP default (OpenTelemetry Protocol Exporter specification, "Endpoint URLs"). */
export const defaultTracesUrl = 'http://localhost:4318/v1/traces';

/**
 * The traces URL: `tracing.endpoint` as written; else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as
 * written; else `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended. The specification
 * says the signal-specific URL is used as-is while the base URL gets the signal's path, which is
 * why `tracing.endpoint` (signal-specific) is not completed.
 */
export function tracesUrl(
  endpoint: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): { readonly url: string; readonly from: string } {
  if (endpoint !== undefined) return { url: endpoint, from: 'tracing.endpoint' };
  const specific = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  if (specific !== undefined && specific !== '') {
    return { url: specific, from: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' };
  }
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (base !== undefined && base !== '') {
    return { url: `${base.replace(/\/+$/, '')}/v1/traces`, from: 'OTEL_EXPORTER_OTLP_ENDPOINT' };
  }
  return { url: defaultTracesUrl, from: 'the OTLP default' };
}

// RFC 9110 §5.1 field-name = token.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §5.5: a field value never holds CR, LF or NUL (nor other controls but HTAB).
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const FORBIDDEN_VALUE_CHARACTER = /[\u0000-\u0008\u000a-\u001f\u007f]/;
/** Set by the exporter for each request: a copy here would corrupt the request. */
const EXPORTER_OWNED = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'host',
  'connection',
]);

export type ParsedHeaders =
  | { readonly ok: true; readonly headers: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly message: string };

/**
 * `name=value,name=value` with percent-encoded values: the `OTEL_EXPORTER_OTLP_HEADERS` format
 * (OpenTelemetry Protocol Exporter specification, "Specifying headers via environment
 * variables", which follows the W3C Baggage list syntax). Empty entries are skipped. Messages
 * name the entry and the header, never a value: the values are credentials.
 */
export function parseExportHeaders(text: string | undefined): ParsedHeaders {
  const headers: Record<string, string> = {};
  const entries = (text ?? '').split(',');
  for (const [index, raw] of entries.entries()) {
    const entry = raw.trim();
    if (entry === '') continue;
    const where = `entry ${index + 1}`;
    const equals = entry.indexOf('=');
    if (equals === -1) {
      return { ok: false, message: `${where} is not name=value` };
    }
    const name = entry.slice(0, equals).trim().toLowerCase();
    if (!HEADER_NAME.test(name)) {
      return { ok: false, message: `${where} does not start with a valid header name` };
    }
    if (EXPORTER_OWNED.has(name)) {
      return { ok: false, message: `${where} sets ${name}, which the exporter sets itself` };
    }
    if (Object.hasOwn(headers, name)) {
      return { ok: false, message: `${where} names ${name} a second time` };
    }
    let value: string;
    try {
      value = decodeURIComponent(entry.slice(equals + 1).trim());
    } catch {
      return {
        ok: false,
        message: `${where} (${name}) has a malformed percent-encoding (write % as %25)`,
      };
    }
    if (FORBIDDEN_VALUE_CHARACTER.test(value)) {
      return { ok: false, message: `${where} (${name}) holds a control character` };
    }
    headers[name] = value;
  }
  return { ok: true, headers };
}
