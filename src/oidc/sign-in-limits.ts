import { canonicalAddress } from '../dialects/proxy-trust.ts';

/**
 * Who a sign-in start is counted against for the per-client rate limit. Pure.
 *
 * An IPv4 client is its address. An IPv6 client is its /64: that is the smallest block an ISP
 * hands a site (RFC 6177 §2, RFC 7421 §1), so one attacker rotates freely inside it, while
 * separate customers rarely share one. `null` when the value is not an address: the per-client
 * limit then does not apply (the global cap still does).
 */
export function rateLimitClientOf(address: string): string | null {
  const canonical = canonicalAddress(address);
  if (canonical === null) return null;
  if (canonical.family === 'ipv4') return canonical.address;
  const groups = expandIPv6(canonical.address);
  return groups === null ? null : `${groups.slice(0, 4).join(':')}::_64`;
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros; null when malformed. */
function expandIPv6(address: string): string[] | null {
  const [head = '', tail, extra] = address.split('::');
  if (extra !== undefined) return null;
  const parse = (part: string): string[] | null => {
    if (part === '') return [];
    const groups: string[] = [];
    for (const group of part.split(':')) {
      // An embedded IPv4 tail (`64:ff9b::192.0.2.1`) is two groups; only the /64 matters here.
      if (group.includes('.')) groups.push('0', '0');
      else if (/^[0-9a-f]{1,4}$/.test(group)) groups.push(Number.parseInt(group, 16).toString(16));
      else return null;
    }
    return groups;
  };
  const before = parse(head);
  const after = tail === undefined ? [] : parse(tail);
  if (before === null || after === null) return null;
  const missing = 8 - before.length - after.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  return [...before, ...Array.from({ length: missing }, () => '0'), ...after];
}
