import { describe, expect, it } from 'vitest';
import { rateLimitClientOf } from './sign-in-limits.ts';

describe('rateLimitClientOf', () => {
  it('counts an IPv4 client by its address, whatever the spelling', () => {
    expect(rateLimitClientOf('198.51.100.7')).toBe('198.51.100.7');
    expect(rateLimitClientOf('::ffff:198.51.100.7')).toBe('198.51.100.7');
  });

  it('counts an IPv6 client by its /64 (RFC 6177): rotating inside it does not help', () => {
    const block = rateLimitClientOf('2001:db8:7:1::1');
    expect(block).toBe('2001:db8:7:1::_64');
    expect(rateLimitClientOf('2001:0DB8:0007:0001:ffff:ffff:ffff:fffe')).toBe(block);
    expect(rateLimitClientOf('2001:db8:7:1:0:0:0:2%eth0')).toBe(block);
    expect(rateLimitClientOf('2001:db8:7:2::1')).not.toBe(block);
    expect(rateLimitClientOf('::1')).toBe('0:0:0:0::_64');
  });

  it('is storage-safe, and null for anything that is not an address', () => {
    for (const address of ['198.51.100.7', '2001:db8::1', 'fe80::1']) {
      expect(rateLimitClientOf(address)).toMatch(/^[\w.:-]{1,200}$/);
    }
    expect(rateLimitClientOf('')).toBeNull();
    expect(rateLimitClientOf('not-an-address')).toBeNull();
  });
});
