/**
 * The `tracing` settings as an operator writes them (YAML, `GATEHOUSE_TRACING__*`, a secret
 * file for the collector's credentials), and the problems a bad one stops the start with. The
 * secret never appears in a message.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';

function load(yaml: string, env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const all: Record<string, string> = { '/etc/gh/gatehouse.yaml': yaml, ...files };
  return loadConfig({
    env,
    cwd: '/etc/gh',
    file: 'gatehouse.yaml',
    readFile: (path) => {
      const text = all[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
      return text;
    },
  });
}

function problems(yaml: string, env: Record<string, string> = {}): string[] {
  const result = load(yaml, env);
  if (result.ok) throw new Error('expected the configuration to be rejected');
  return result.problems.map((problem) => `${problem.path}: ${problem.message}`);
}

describe('tracing settings', () => {
  it('are off by default, with the documented defaults', () => {
    const result = load('{}');
    if (!result.ok) throw new Error('default configuration rejected');
    expect(result.config.tracing).toEqual({
      enabled: false,
      endpoint: undefined,
      serviceName: 'gatehouse',
      sampleRatio: 1,
      headers: undefined,
    });
  });

  it('take the environment, and the collector credentials from a secret file', () => {
    const result = load(
      'tracing: { headersFile: /run/secrets/otlp }\n',
      {
        GATEHOUSE_TRACING__ENABLED: 'true',
        GATEHOUSE_TRACING__ENDPOINT: 'http://otel-collector.observability:4318/v1/traces',
        GATEHOUSE_TRACING__SAMPLE_RATIO: '0.25',
      },
      { '/run/secrets/otlp': 'authorization=Bearer%20s3cr3t\n' },
    );
    if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('; '));
    expect(result.config.tracing).toMatchObject({
      enabled: true,
      endpoint: 'http://otel-collector.observability:4318/v1/traces',
      sampleRatio: 0.25,
      headers: 'authorization=Bearer%20s3cr3t',
    });
  });

  it('refuse a ratio outside 0..1', () => {
    expect(problems('tracing: { sampleRatio: 1.5 }\n')).toEqual([
      expect.stringMatching(/^tracing\.sampleRatio: must be a number from 0 to 1/),
    ]);
  });

  it("refuse the collector's base URL, naming the traces path, without its credentials", () => {
    expect(problems('tracing: { endpoint: "http://user:pw@collector:4318" }\n')).toEqual([
      "tracing.endpoint: is the collector's base URL; OTLP/HTTP traces go to its /v1/traces path (e.g. http://collector:4318/v1/traces)",
    ]);
  });

  it('refuse malformed collector headers without echoing their values', () => {
    const found = problems('tracing: { headers: "authorization=Bearer%zzsecret-value" }\n');
    expect(found).toEqual([
      'tracing.headers: entry 1 (authorization) has a malformed percent-encoding (write % as %25)',
    ]);
    expect(found.join('\n')).not.toContain('secret-value');
  });

  it('refuse trace-context headers as identity or pre-authentication headers', () => {
    expect(
      problems(
        'identityHeaders: { profile: custom, custom: { traceparent: user } }\npreAuthentication: { remoteUserHeader: tracestate }\n',
      ),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^identityHeaders\.custom\.traceparent: is a trace-context header/),
        expect.stringMatching(/^preAuthentication\.remoteUserHeader: is a trace-context header/),
      ]),
    );
  });
});
