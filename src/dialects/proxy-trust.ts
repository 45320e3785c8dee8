import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { LruCache } from '../lru-cache.ts';

type Family = 'ipv4' | 'ipv6';

interface CanonicalAddress {
  readonly address: string;
  readonly family: Family;
}

const ipv4MappedPrefix = '::ffff:';

/**
 * Canonical form of an IP address, or null when it is not one. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`, what a dual-stack Node socket reports for an IPv4 peer, RFC 4291 §2.5.5.2)
 * become plain IPv4 so that one `10.0.0.0/8` entry covers both spellings. A zone index
 * (`fe80::1%eth0`) is dropped: it names a local interface, not a different peer.
 */
export function canonicalAddress(raw: string): CanonicalAddress | null {
  const trimmed = raw.trim().toLowerCase();
  const zone = trimmed.indexOf('%');
  const address = zone === -1 ? trimmed : trimmed.slice(0, zone);
  if (isIPv4(address)) return { address, family: 'ipv4' };
  if (!isIPv6(address)) return null;
  if (address.startsWith(ipv4MappedPrefix)) {
    const embedded = address.slice(ipv4MappedPrefix.length);
    if (isIPv4(embedded)) return { address: embedded, family: 'ipv4' };
  }
  return { address, family: 'ipv6' };
}

/**
 * An `X-Forwarded-For` element, which some load balancers send with a port (`1.2.3.4:5678`,
 * `[2001:db8::1]:443`) although RFC 7239's predecessor never defined one.
 */
function forwardedAddress(element: string): CanonicalAddress | null {
  const value = element.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed?.[1] !== undefined) return canonicalAddress(bracketed[1]);
  const ipv4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(value);
  if (ipv4WithPort?.[1] !== undefined) return canonicalAddress(ipv4WithPort[1]);
  return canonicalAddress(value);
}

/** What the walk of an `X-Forwarded-For` value found (ProxyTrust #walkForwardedFor). */
interface ForwardedForWalk {
  readonly address: string | null;
  readonly stopped: boolean;
}

/** Bound of ProxyTrust's remembered answers: far more peers than a deployment has proxies. */
const MAX_REMEMBERED_ANSWERS = 1024;

export interface ClientAddressOptions {
  /**
   * Also read `X-Real-IP` (ingress-nginx sets it to `$remote_addr`), consulted when
   * `X-Forwarded-For` yields nothing.
   */
  readonly realIpHeader?: boolean;
}

/**
 * The proxies whose forwarded headers (`X-Forwarded-*`, `X-Real-IP`) gatehouse believes
 * (security invariant 3). Built once from the configured CIDRs with `node:net` `BlockList`.
 */
export class ProxyTrust {
  readonly #trusted = new BlockList();
  /**
   * Answers already given, by address as written. A check asks about the same peer (its proxy's
   * keep-alive connection) three times per request, and `BlockList.check` cost about 2% of bench
   * scenario (d)'s CPU (issue #17). The configured list never changes after construction, so an
   * answer never goes stale; the cache is bounded so that forwarded addresses chosen by clients
   * cannot grow it.
   */
  readonly #answers = new LruCache<string, boolean>({ maxEntries: MAX_REMEMBERED_ANSWERS });
  /** Walks of `X-Forwarded-For` values already done (#walkForwardedFor). */
  readonly #walks = new LruCache<string, ForwardedForWalk>({ maxEntries: MAX_REMEMBERED_ANSWERS });

  /** @throws Error naming the offending entry when a CIDR or address cannot be parsed. */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) this.#add(cidr);
  }

  #add(entry: string): void {
    const slash = entry.indexOf('/');
    const address = (slash === -1 ? entry : entry.slice(0, slash)).trim().toLowerCase();
    const prefixPart = slash === -1 ? undefined : entry.slice(slash + 1).trim();
    const family: Family | null = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
    if (family === null) {
      throw new Error(`trustedProxies: "${entry}" is not an IP address or CIDR`);
    }
    const maxPrefix = family === 'ipv4' ? 32 : 128;
    if (
      prefixPart !== undefined &&
      (!/^\d{1,3}$/.test(prefixPart) || Number(prefixPart) > maxPrefix)
    ) {
      throw new Error(`trustedProxies: "${entry}" has an invalid prefix length (0-${maxPrefix})`);
    }
    // Node's BlockList matches IPv4 rules against IPv4-mapped IPv6 addresses and the other way
    // round, so `10.0.0.0/8` and `::ffff:10.0.0.0/104` are interchangeable here.
    this.#trusted.addSubnet(
      address,
      prefixPart === undefined ? maxPrefix : Number(prefixPart),
      family,
    );
  }

  /** True when `address` (a socket peer or a forwarded element) is a configured proxy. */
  isTrusted(address: string): boolean {
    const known = this.#answers.get(address);
    if (known !== undefined) return known;
    const canonical = canonicalAddress(address);
    const trusted = canonical !== null && this.#trusted.check(canonical.address, canonical.family);
    this.#answers.set(address, trusted);
    return trusted;
  }

  /**
   * The client's address. Forwarded headers count only when the peer itself is trusted; then the
   * right-most `X-Forwarded-For` element that is not a trusted proxy is the client (each proxy
   * appends the address it saw, so everything left of the first untrusted hop is client-written,
   * MDN "X-Forwarded-For: Selecting an IP address"). When every element is trusted the left-most
   * one is the best knowledge there is. An element that is not an address stops the walk.
   */
  /**
   * The client address for `sourceCIDRs` (issue #19): what a trusted proxy reported, or null when
   * gatehouse cannot know it. Unlike clientAddress(), it never falls back to the peer: the peer
   * of a check is the proxy, and judging the proxy's address as the client's would let every
   * request through a proxy in `10.0.0.0/8` match a rule meant for internal clients. Null when
   * the peer is not trusted, when `X-Forwarded-For` holds an element that is not an address
   * before an untrusted one is found (the walk cannot tell what it hides), or when no header
   * names the client.
   */
  reportedClientAddress(
    peer: string,
    headers: Readonly<Record<string, string | undefined>>,
    options: ClientAddressOptions = {},
  ): string | null {
    if (!this.isTrusted(peer)) return null;
    const forwardedFor = headers['x-forwarded-for'];
    if (forwardedFor !== undefined && forwardedFor.trim() !== '') {
      const walked = this.#walkForwardedFor(forwardedFor);
      return walked.stopped ? null : walked.address;
    }
    if (options.realIpHeader === true) {
      const realIp = headers['x-real-ip'];
      return realIp === undefined ? null : (forwardedAddress(realIp)?.address ?? null);
    }
    return null;
  }

  clientAddress(
    peer: string,
    headers: Readonly<Record<string, string | undefined>>,
    options: ClientAddressOptions = {},
  ): string {
    const peerAddress = canonicalAddress(peer)?.address ?? peer;
    if (!this.isTrusted(peerAddress)) return peerAddress;

    const forwardedFor = headers['x-forwarded-for'];
    if (forwardedFor !== undefined && forwardedFor.trim() !== '') {
      const walked = this.#walkForwardedFor(forwardedFor);
      if (walked.address !== null) return walked.address;
    }

    if (options.realIpHeader === true) {
      const realIp = headers['x-real-ip'];
      const address = realIp === undefined ? null : forwardedAddress(realIp);
      if (address !== null) return address.address;
    }
    return peerAddress;
  }

  /**
   * The walk both readings share: from the right-most `X-Forwarded-For` element leftwards, the
   * first one that is not a trusted proxy is the client; when all are trusted, the left-most.
   * `stopped` says an element that is not an address ended the walk first, and `address` is then
   * the closest trusted hop before it (null when it was the right-most element): clientAddress()
   * settles for that, reportedClientAddress() does not (it cannot tell what the element hides).
   */
  #walkForwardedFor(forwardedFor: string): ForwardedForWalk {
    // Both readings walk the same header of every check (the answer depends on nothing else):
    // remembered like isTrusted()'s answers, bounded for the same reason.
    const known = this.#walks.get(forwardedFor);
    if (known !== undefined) return known;
    const walked = this.#walk(forwardedFor);
    this.#walks.set(forwardedFor, walked);
    return walked;
  }

  #walk(forwardedFor: string): ForwardedForWalk {
    const elements = forwardedFor.split(',');
    let closest: string | null = null;
    for (let index = elements.length - 1; index >= 0; index -= 1) {
      const element = forwardedAddress(elements[index] ?? '');
      if (element === null) return { address: closest, stopped: true };
      if (!this.isTrusted(element.address)) {
        return { address: element.address, stopped: false };
      }
      closest = element.address;
    }
    return { address: closest, stopped: false };
  }
}
