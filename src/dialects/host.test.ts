import { describe, expect, it } from 'vitest';
import { normaliseHost } from './host.ts';

describe('normaliseHost', () => {
  it('lower-cases and drops the default port of the scheme only', () => {
    expect(normaliseHost('Shop.Example.COM', 'https')).toBe('shop.example.com');
    expect(normaliseHost('shop.example.com:443', 'https')).toBe('shop.example.com');
    expect(normaliseHost('shop.example.com:80', 'http')).toBe('shop.example.com');
    expect(normaliseHost('shop.example.com:80', 'https')).toBe('shop.example.com:80');
    expect(normaliseHost('shop.example.com:8443', 'https')).toBe('shop.example.com:8443');
    expect(normaliseHost('shop.example.com:08443', 'https')).toBe('shop.example.com:8443');
    expect(normaliseHost('shop.example.com:', 'https')).toBe('shop.example.com');
  });

  it('drops one trailing dot like nginx', () => {
    expect(normaliseHost('shop.example.com.', 'https')).toBe('shop.example.com');
    expect(normaliseHost('shop.example.com..', 'https')).toBeNull();
  });

  it('accepts bracketed IPv6 literals and IPv4 addresses', () => {
    expect(normaliseHost('[2001:DB8::1]:443', 'https')).toBe('[2001:db8::1]');
    expect(normaliseHost('[::1]:8080', 'http')).toBe('[::1]:8080');
    expect(normaliseHost('192.0.2.1', 'http')).toBe('192.0.2.1');
  });

  it.each([
    '',
    'shop example.com',
    'shop.example.com/admin',
    'user@shop.example.com',
    'ex%61mple.com',
    'shop.example.com:99999',
    'shop.example.com:0',
    'shop.example.com:443:443',
    '-shop.example.com',
    '[2001:db8::zz]',
    '2001:db8::1',
    'shöp.example.com',
    'a..b',
  ])('refuses %j', (raw) => {
    expect(normaliseHost(raw, 'https')).toBeNull();
  });
});
