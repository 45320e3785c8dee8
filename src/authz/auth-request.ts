/**
 * The facts of one request as a proxy reported them, after the dialect adapter
 * translated its headers. Everything here is already normalised: decide() never
 * parses a header.
 */
export type DialectName = 'nginx' | 'forward-auth' | 'ext-authz' | 'oauth2-proxy';

export type NormalisedPath =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly problem: string };

export interface AuthRequest {
  readonly dialect: DialectName;
  /** Upper-case HTTP method of the original request. */
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** Lower-case host name, default port dropped, non-default port kept as `host:port`. */
  readonly host: string;
  /** Path normalised as the proxy routes it (see authz/path.ts), or why it is ambiguous. */
  readonly path: NormalisedPath;
  /** The original URL as the proxy sent it, rebuilt absolute; used for `rd` and logs only, never for matching. */
  readonly originalUrl: string;
  /** Client address: the socket peer, or the forwarded one when the peer is a trusted proxy. */
  readonly clientIp: string;
  /**
   * The client address as a trusted proxy reported it (`X-Forwarded-For`, nginx's `X-Real-IP`),
   * canonical (IPv4-mapped IPv6 as IPv4); absent when gatehouse cannot know it: the check did
   * not come from a trusted proxy, or the proxy reported no usable address. `sourceCIDRs`
   * conditions read this, never `clientIp`, which falls back to the proxy's own address.
   */
  readonly sourceAddress?: string;
  /** The query after `?`, raw as the proxy sent it; absent when there is none. Read lazily by `queryParams` conditions (authz/query.ts). */
  readonly query?: string;
  /** Request id from the proxy (`X-Request-ID`) or generated. */
  readonly requestId: string;
  /** True when the client is a browser that can follow a redirect to sign in (Accept / X-Requested-With). */
  readonly acceptsRedirect: boolean;
  /** Credentials, lifted out of the headers by the dialect adapter. */
  readonly credentials: RequestCredentials;
}

export interface RequestCredentials {
  /** The `Cookie` header, unparsed, if any. */
  readonly cookie?: string;
  /** The `Authorization` header, unparsed, if any. */
  readonly authorization?: string;
  /** Lower-cased request headers for authenticators that read trusted pre-authentication headers. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}
