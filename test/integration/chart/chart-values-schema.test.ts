/**
 * The patterns values.schema.json uses in place of gatehouse's custom formats
 * (scripts/helm/values-schema.ts formatPatterns) judge values as gatehouse does
 * (src/config/formats.ts, src/config/duration.ts), so `helm install` refuses what a pod would
 * refuse at start and accepts what it would accept. Helm checks them with Go's RE2, these tests
 * with ECMAScript: the patterns use only the syntax both read the same way, and
 * chart-render.test.ts runs the bad values through the real Helm.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tryParseDuration } from '../../../src/config/duration.ts';
import {
  Formats,
  isDnsLabel,
  isDomain,
  isHttpUrl,
  isRedisUrl,
  parseIpOrCidr,
} from '../../../src/config/formats.ts';
import {
  cidrDefinition,
  formatPatterns,
  valuesSchemaPath,
} from '../../../scripts/helm/values-schema.ts';

const predicates: Readonly<Record<string, (text: string) => boolean>> = {
  [Formats.Duration]: (text) => tryParseDuration(text) !== undefined,
  [Formats.HttpUrl]: isHttpUrl,
  [Formats.HttpUrlOrEmpty]: (text) => text === '' || isHttpUrl(text),
  [Formats.RedisUrlOrEmpty]: (text) => text === '' || isRedisUrl(text),
  [Formats.IpOrCidr]: (text) => parseIpOrCidr(text) !== undefined,
  [Formats.DnsLabel]: isDnsLabel,
  [Formats.Domain]: isDomain,
  [Formats.DomainOrEmpty]: (text) => text === '' || isDomain(text),
};

const samples: Readonly<Record<string, readonly string[]>> = {
  [Formats.Duration]: [
    '8h',
    '500ms',
    '1h30m',
    '1.5h',
    '30',
    '0',
    ' 8h ',
    '7d',
    '8 hours',
    '8H',
    '1y',
    '-1s',
    'h',
    '1.h',
    '',
    '5m 30s',
  ],
  [Formats.HttpUrl]: [
    'https://auth.example.com',
    'http://auth.example.com:8080/base?x=1#y',
    'HTTPS://AUTH.EXAMPLE.COM',
    'https://[2001:db8::1]:8443/',
    'auth.example.com',
    'ftp://auth.example.com',
    'https://',
    'https://auth example.com',
    '',
  ],
  [Formats.RedisUrlOrEmpty]: ['', 'redis://redis:6379', 'rediss://redis:6380/1', 'http://redis'],
  [Formats.IpOrCidr]: [
    '10.0.0.0/8',
    '10.0.0.1',
    '0.0.0.0/0',
    '10.0.0.0/08',
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.300',
    '010.0.0.1',
    '::1',
    '::/0',
    '2001:db8::/32',
    '2001:db8::/129',
    '::ffff:192.0.2.1',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    'example.com',
    '',
  ],
  [Formats.DnsLabel]: [
    'corp',
    'a',
    'my-idp',
    'a'.repeat(63),
    'a'.repeat(64),
    'Corp',
    '-corp',
    'c_p',
  ],
  [Formats.Domain]: [
    'example.com',
    '.example.com',
    'localhost',
    'Example.com',
    'example..com',
    '-bad-.com',
    'https://example.com',
    '.',
    `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
    '',
  ],
};

describe('formatPatterns (scripts/helm/values-schema.ts)', () => {
  it('has a pattern for every format of src/config/formats.ts, and no other', () => {
    expect(Object.keys(formatPatterns).sort()).toEqual(Object.values(Formats).sort());
  });

  it.each(Object.keys(predicates))('%s: the pattern agrees with gatehouse', (format) => {
    const { pattern, maxLength } = formatPatterns[format] ?? { pattern: '(?!)' };
    const regexp = new RegExp(pattern);
    const base = format.replace(/-or-empty$/, '');
    const texts = [...(samples[format] ?? []), ...(samples[base] ?? []), ''];
    expect(texts.length).toBeGreaterThan(3);
    const disagreements = texts.filter((text) => {
      const byPattern = regexp.test(text) && (maxLength === undefined || text.length <= maxLength);
      return byPattern !== predicates[format]?.(text);
    });
    expect(disagreements).toEqual([]);
  });

  it('stand in values.schema.json for the formats, each with a $comment naming its source', () => {
    const found = new Set<string>();
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) {
        node.forEach(visit);
        return;
      }
      if (typeof node !== 'object' || node === null) return;
      const record = node as Record<string, unknown>;
      const comment = /^The "([a-z-]+)" format of src\/config\/formats\.ts/.exec(
        typeof record['$comment'] === 'string' ? record['$comment'] : '',
      );
      if (comment?.[1] !== undefined) {
        found.add(comment[1]);
        expect(record['pattern'], comment[1]).toBe(formatPatterns[comment[1]]?.pattern);
      }
      // The keyword (a string), not a setting that happens to be called `format` (a schema).
      expect(typeof record['format'], JSON.stringify(record).slice(0, 80)).not.toBe('string');
      Object.values(record).forEach(visit);
    };
    visit(JSON.parse(readFileSync(valuesSchemaPath, 'utf8')));
    expect([...found].sort()).toEqual(
      expect.arrayContaining(['dns-label', 'domain', 'duration', 'http-url', 'ip-or-cidr']),
    );
  });
});

describe('definitions.cidr (NetworkPolicy ipBlock)', () => {
  it.each([
    ['10.0.0.0/8', true],
    ['203.0.113.0/24', true],
    ['2001:db8::/32', true],
    ['10.0.0.1', false],
    ['10.0.0.0/33', false],
    ['10.0.0.0/08', false],
    ['2001:db8::/129', false],
    ['fe80::1%eth0/64', false],
  ])('%s: %s', (text, valid) => {
    expect(new RegExp(String(cidrDefinition['pattern'])).test(text)).toBe(valid);
  });
});
