import { isIPv6 } from 'node:net';

const defaultPorts = { http: 80, https: 443 } as const;

/**
 * A DNS-style label. RFC 3986's reg-name also allows sub-delims and percent-encoding, but no
 * proxy routes such names the same way (WHATWG URL decodes `%61`, nginx does not), so they are
 * refused rather than guessed. `_` is kept: it appears in internal service names.
 */
const label = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * The host of the original request in the form policies match on: lower-case, the scheme's
 * default port dropped, any other port kept as `host:port`, IPv6 literals in brackets.
 * Returns null when the value is not a host a proxy could have routed.
 *
 * A single trailing dot is dropped the way nginx does (ngx_http_validate_host), so
 * `shop.example.com.` cannot slip past a rule written for `shop.example.com`.
 */
export function normaliseHost(raw: string, scheme: 'http' | 'https'): string | null {
  // A proxy asks about the same few hosts all day: remember the answers (bounded; a flood of
  // made-up hosts only clears the memo, it cannot grow it).
  // One memo per scheme, keyed by the raw value itself (no key string built per check).
  const memo = scheme === 'https' ? httpsHosts : httpHosts;
  const known = memo.get(raw);
  if (known !== undefined) return known;
  const host = parseHost(raw, scheme);
  if (raw.length <= 260) {
    if (memo.size >= maxMemoisedHosts) memo.clear();
    memo.set(raw, host);
  }
  return host;
}

const maxMemoisedHosts = 1024;
const httpHosts = new Map<string, string | null>();
const httpsHosts = new Map<string, string | null>();

function parseHost(raw: string, scheme: 'http' | 'https'): string | null {
  const value = raw.trim().toLowerCase();
  let name: string;
  let portText: string | undefined;

  if (value.startsWith('[')) {
    const match = /^\[([0-9a-f:.]+)\](?::(\d*))?$/.exec(value);
    if (match?.[1] === undefined || !isIPv6(match[1])) return null;
    name = `[${match[1]}]`;
    portText = match[2];
  } else {
    const match = /^([^:]+)(?::(\d*))?$/.exec(value);
    if (match?.[1] === undefined) return null;
    name = match[1].endsWith('.') ? match[1].slice(0, -1) : match[1];
    portText = match[2];
    if (name.length === 0 || name.length > 253) return null;
    if (!name.split('.').every((part) => label.test(part))) return null;
  }

  // RFC 3986 §6.2.3: an empty port is the same as none.
  if (portText === undefined || portText === '') return name;
  if (portText.length > 5) return null;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return null;
  return port === defaultPorts[scheme] ? name : `${name}:${port}`;
}
