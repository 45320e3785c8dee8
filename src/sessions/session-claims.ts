/**
 * Chooses which claims a session keeps. Sessions live in Redis and in every replica's cache, and
 * role mappings only compare strings (`Claim` subjects), so only scalar claims and string lists
 * are kept, within a count and a size budget. Claims that are protocol plumbing rather than facts
 * about the user (OIDC Core §2 and §3.1.3.6) are dropped: they are useless to policy, and `nonce`
 * or the token hashes have no business outliving the login.
 */

export interface ClaimLimits {
  /** Most claims kept. */
  readonly maxClaims?: number;
  /** Most UTF-8 bytes of the kept claims serialised as JSON. */
  readonly maxBytes?: number;
  /** Most items of one list claim (e.g. `groups`, `roles`). */
  readonly maxListItems?: number;
}

const PROTOCOL_CLAIMS = new Set([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'azp',
  'auth_time',
  'sid',
]);

export function boundClaims(
  claims: Readonly<Record<string, unknown>>,
  limits: ClaimLimits = {},
): Record<string, unknown> {
  const maxClaims = limits.maxClaims ?? 32;
  const maxBytes = limits.maxBytes ?? 4096;
  const maxListItems = limits.maxListItems ?? 100;
  const kept: Record<string, unknown> = {};
  let count = 0;
  let bytes = 2; // "{}"
  for (const [name, value] of Object.entries(claims)) {
    if (count >= maxClaims) break;
    if (PROTOCOL_CLAIMS.has(name)) continue;
    const bounded = boundValue(value, maxListItems);
    if (bounded === undefined) continue;
    const size = Buffer.byteLength(JSON.stringify({ [name]: bounded }), 'utf8') - 1;
    if (bytes + size > maxBytes) continue;
    kept[name] = bounded;
    bytes += size;
    count += 1;
  }
  return kept;
}

function boundValue(value: unknown, maxListItems: number): unknown {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value)) {
    const strings = value.filter((item): item is string => typeof item === 'string');
    return strings.length === value.length ? strings.slice(0, maxListItems) : undefined;
  }
  return undefined;
}
