/**
 * String formats used by the configuration schema. TypeBox checks `format` through its
 * process-wide FormatRegistry, so the predicates are registered here, once, under names that
 * say what they accept; the schema imports this module, which guarantees registration before
 * any check. The predicates are exported for code that needs the same judgement.
 */
import { isIP } from 'node:net';
import { FormatRegistry } from '@sinclair/typebox';
import { tryParseDuration } from './duration.ts';

export const Formats = {
  HttpUrl: 'http-url',
  HttpUrlOrEmpty: 'http-url-or-empty',
  RedisUrlOrEmpty: 'redis-url-or-empty',
  IpOrCidr: 'ip-or-cidr',
  DnsLabel: 'dns-label',
  Domain: 'domain',
  DomainOrEmpty: 'domain-or-empty',
  Duration: 'duration',
} as const;

/** An absolute `http:` or `https:` URL with a host. */
export function isHttpUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
}

/** A `redis:` or `rediss:` (TLS) URL, the schemes ioredis understands. */
export function isRedisUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === 'redis:' || url.protocol === 'rediss:');
}

/** An IP address or CIDR block (`10.0.0.0/8`, `2001:db8::/32`), judged by `node:net`. */
export function parseIpOrCidr(
  text: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** An RFC 1123 DNS label: lower-case letters, digits and inner hyphens, at most 63 characters. */
export function isDnsLabel(text: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(text);
}

/**
 * A lower-case DNS name, optionally with a leading dot (`.example.com`: the domain and its
 * subdomains, the spelling RFC 2109 cookies and most redirect allow-lists use).
 */
export function isDomain(text: string): boolean {
  const name = text.startsWith('.') ? text.slice(1) : text;
  return name.length > 0 && name.length <= 253 && name.split('.').every(isDnsLabel);
}

FormatRegistry.Set(Formats.HttpUrl, isHttpUrl);
FormatRegistry.Set(Formats.HttpUrlOrEmpty, (text) => text === '' || isHttpUrl(text));
FormatRegistry.Set(Formats.RedisUrlOrEmpty, (text) => text === '' || isRedisUrl(text));
FormatRegistry.Set(Formats.IpOrCidr, (text) => parseIpOrCidr(text) !== undefined);
FormatRegistry.Set(Formats.DnsLabel, isDnsLabel);
FormatRegistry.Set(Formats.Domain, isDomain);
FormatRegistry.Set(Formats.DomainOrEmpty, (text) => text === '' || isDomain(text));
FormatRegistry.Set(Formats.Duration, (text) => tryParseDuration(text) !== undefined);
