/**
 * Finds an issuer's JWKS URL through OpenID Connect Discovery 1.0 (§4): GET
 * `<issuer>/.well-known/openid-configuration` and read `jwks_uri`.
 *
 * The document's `issuer` must equal the configured issuer exactly (OIDC Discovery §4.3,
 * RFC 8414 §3.3); otherwise a misconfigured or hostile endpoint could hand us another issuer's
 * keys (the mix-up family of attacks). Redirects are not followed, as jose does for the JWKS
 * itself, so the document always comes from the URL the operator configured.
 */
export interface DiscoverJwksUriOptions {
  readonly issuer: string;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

/** The discovery endpoint answered, but not with a usable document for this issuer. */
export class DiscoveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiscoveryError';
  }
}

export function discoveryUrl(issuer: string): URL {
  // §4: "the Issuer with any terminating / removed" followed by the well-known suffix.
  return new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

export async function discoverJwksUri(options: DiscoverJwksUriOptions): Promise<URL> {
  const url = discoveryUrl(options.issuer);
  const response = await options.fetch(url, {
    method: 'GET',
    redirect: 'manual',
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  if (response.status !== 200) {
    throw new DiscoveryError(`discovery document answered HTTP ${response.status}`);
  }
  let document: unknown;
  try {
    document = await response.json();
  } catch (cause) {
    throw new DiscoveryError('discovery document is not JSON', { cause });
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new DiscoveryError('discovery document is not a JSON object');
  }
  const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
  if (issuer !== options.issuer) {
    throw new DiscoveryError('discovery document names a different issuer');
  }
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) {
    throw new DiscoveryError('discovery document has no valid jwks_uri');
  }
  const parsed = new URL(jwksUri);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new DiscoveryError('discovery document jwks_uri is not http(s)');
  }
  return parsed;
}
