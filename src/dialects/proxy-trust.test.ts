import { describe, expect, it } from 'vitest';
import { ProxyTrust, canonicalAddress } from './proxy-trust.ts';

const trust = new ProxyTrust(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);

describe('canonicalAddress', () => {
  it('unmaps IPv4-mapped IPv6 addresses and keeps real IPv6', () => {
    expect(canonicalAddress('::ffff:10.1.2.3')).toEqual({ address: '10.1.2.3', family: 'ipv4' });
    expect(canonicalAddress('::FFFF:10.1.2.3')).toEqual({ address: '10.1.2.3', family: 'ipv4' });
    expect(canonicalAddress('2001:DB8::1')).toEqual({ address: '2001:db8::1', family: 'ipv6' });
    expect(canonicalAddress('not-an-ip')).toBeNull();
  });
});

describe('ProxyTrust', () => {
  it('rejects configuration that is not a CIDR, naming the entry', () => {
    expect(() => new ProxyTrust(['10.0.0.0/33'])).toThrow(/"10\.0\.0\.0\/33".*prefix/);
    expect(() => new ProxyTrust(['ingress-nginx'])).toThrow(/"ingress-nginx" is not an IP/);
    expect(() => new ProxyTrust(['10.0.0.0/x'])).toThrow(/prefix/);
  });

  it('trusts addresses inside the configured ranges only', () => {
    expect(trust.isTrusted('10.20.30.40')).toBe(true);
    expect(trust.isTrusted('192.168.1.7')).toBe(true);
    expect(trust.isTrusted('192.168.1.8')).toBe(false);
    expect(trust.isTrusted('fd12::1')).toBe(true);
    expect(trust.isTrusted('2001:db8::1')).toBe(false);
    expect(trust.isTrusted('garbage')).toBe(false);
    expect(new ProxyTrust([]).isTrusted('10.0.0.1')).toBe(false);
  });

  it('treats an IPv4-mapped IPv6 peer as the IPv4 address, both ways round', () => {
    expect(trust.isTrusted('::ffff:10.0.0.5')).toBe(true);
    expect(trust.isTrusted('::ffff:11.0.0.5')).toBe(false);
    const mappedConfig = new ProxyTrust(['::ffff:172.16.0.0/108']);
    expect(mappedConfig.isTrusted('172.16.3.4')).toBe(true);
    expect(mappedConfig.isTrusted('::ffff:172.16.3.4')).toBe(true);
    expect(mappedConfig.isTrusted('172.32.0.1')).toBe(false);
    expect(mappedConfig.isTrusted('::ffff:172.15.255.255')).toBe(false);
  });

  it('ignores X-Forwarded-For and X-Real-IP from an untrusted peer', () => {
    const headers = { 'x-forwarded-for': '1.1.1.1', 'x-real-ip': '2.2.2.2' };
    expect(trust.clientAddress('203.0.113.9', headers, { realIpHeader: true })).toBe('203.0.113.9');
    expect(trust.clientAddress('::ffff:203.0.113.9', headers)).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted X-Forwarded-For element from a trusted peer', () => {
    // The client wrote "6.6.6.6" itself; the load balancer appended the address it saw.
    const headers = { 'x-forwarded-for': '6.6.6.6, 198.51.100.4, 10.1.1.1' };
    expect(trust.clientAddress('10.0.0.2', headers)).toBe('198.51.100.4');
    expect(trust.clientAddress('::ffff:10.0.0.2', headers)).toBe('198.51.100.4');
  });

  it('understands ports in X-Forwarded-For elements and IPv4-mapped elements', () => {
    expect(trust.clientAddress('10.0.0.2', { 'x-forwarded-for': '198.51.100.4:5123' })).toBe(
      '198.51.100.4',
    );
    expect(trust.clientAddress('10.0.0.2', { 'x-forwarded-for': '[2001:db8::7]:443' })).toBe(
      '2001:db8::7',
    );
    expect(trust.clientAddress('10.0.0.2', { 'x-forwarded-for': '::ffff:198.51.100.4' })).toBe(
      '198.51.100.4',
    );
  });

  it('stops at garbage and falls back to the closest trusted hop, then the peer', () => {
    expect(trust.clientAddress('10.0.0.2', { 'x-forwarded-for': 'evil, 10.3.3.3' })).toBe(
      '10.3.3.3',
    );
    expect(trust.clientAddress('10.0.0.2', { 'x-forwarded-for': 'unknown' })).toBe('10.0.0.2');
    expect(trust.clientAddress('10.0.0.2', { 'x-forwarded-for': '10.9.9.9, 10.3.3.3' })).toBe(
      '10.9.9.9',
    );
  });

  it('uses X-Real-IP from a trusted peer when asked and X-Forwarded-For has nothing', () => {
    expect(
      trust.clientAddress('10.0.0.2', { 'x-real-ip': '198.51.100.4' }, { realIpHeader: true }),
    ).toBe('198.51.100.4');
    expect(trust.clientAddress('10.0.0.2', { 'x-real-ip': '198.51.100.4' })).toBe('10.0.0.2');
  });
});

describe('remembered answers', () => {
  it('answers the same for an address asked again, also after many other addresses were asked', () => {
    const trust = new ProxyTrust(['10.0.0.0/8', '::1']);
    expect(trust.isTrusted('10.1.2.3')).toBe(true);
    expect(trust.isTrusted('::ffff:10.1.2.3')).toBe(true);
    expect(trust.isTrusted('11.1.2.3')).toBe(false);
    // More distinct (client-chosen) addresses than the memory holds: answers stay right.
    for (let index = 0; index < 3000; index++) {
      const address = `192.0.${String(index >> 8)}.${String(index & 255)}`;
      expect(trust.isTrusted(address)).toBe(false);
    }
    expect(trust.isTrusted('10.1.2.3')).toBe(true);
    expect(trust.isTrusted('::1')).toBe(true);
    expect(trust.isTrusted('not an address')).toBe(false);
    expect(trust.isTrusted('11.1.2.3')).toBe(false);
  });

  it('walks X-Forwarded-For the same way every time, also past the memory bound', () => {
    const trust = new ProxyTrust(['10.0.0.0/8']);
    const read = (xff: string) => ({
      client: trust.clientAddress('10.0.0.2', { 'x-forwarded-for': xff }),
      reported: trust.reportedClientAddress('10.0.0.2', { 'x-forwarded-for': xff }),
    });
    const first = read('198.51.100.7, 10.1.1.1');
    expect(first).toEqual({ client: '198.51.100.7', reported: '198.51.100.7' });
    for (let index = 0; index < 3000; index++) {
      const client = `203.0.${String(index >> 8)}.${String(index & 255)}`;
      expect(read(`${client}, 10.1.1.1`)).toEqual({ client, reported: client });
    }
    expect(read('198.51.100.7, 10.1.1.1')).toEqual(first);
    // An element that is not an address: the closest trusted hop, and no reported client.
    expect(read('junk, 10.1.1.1')).toEqual({ client: '10.1.1.1', reported: null });
  });
});
