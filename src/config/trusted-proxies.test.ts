import { describe, expect, it } from 'vitest';
import { parseIpOrCidr } from './formats.ts';
import { trustedProxyList } from './trusted-proxies.ts';

describe('trustedProxies entries', () => {
  it.each(['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '::1', '2001:db8::/32', 'fd00::/128'])(
    'accepts %s',
    (entry) => {
      expect(parseIpOrCidr(entry)).toBeDefined();
    },
  );

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0/8', 'proxy.local', '10.0.0.0/-1', ''])(
    'rejects %j',
    (entry) => {
      expect(parseIpOrCidr(entry)).toBeUndefined();
    },
  );

  it('builds a list that trusts exactly the configured peers', () => {
    const list = trustedProxyList(['10.0.0.0/8', '::1/128', '192.168.1.10']);
    expect(list.check('10.1.2.3', 'ipv4')).toBe(true);
    expect(list.check('11.0.0.1', 'ipv4')).toBe(false);
    expect(list.check('192.168.1.10', 'ipv4')).toBe(true);
    expect(list.check('192.168.1.11', 'ipv4')).toBe(false);
    expect(list.check('::1', 'ipv6')).toBe(true);
    // A peer seen on a dual-stack (`::`) listener.
    expect(list.check('::ffff:10.1.2.3', 'ipv6')).toBe(true);
  });

  it('trusts nobody when the list is empty', () => {
    expect(trustedProxyList([]).check('127.0.0.1', 'ipv4')).toBe(false);
  });
});
