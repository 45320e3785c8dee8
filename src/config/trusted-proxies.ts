import { BlockList } from 'node:net';
import { parseIpOrCidr } from './formats.ts';

/**
 * Builds the `node:net` BlockList of `trustedProxies` so callers can ask
 * `list.check(address, family)`; IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`, seen when
 * listening on `::`) match IPv4 entries. Entries were validated when the configuration loaded;
 * an invalid one here is a programming error and throws.
 */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const parsed = parseIpOrCidr(entry);
    if (parsed === undefined) throw new RangeError(`not an IP address or CIDR: ${entry}`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}
