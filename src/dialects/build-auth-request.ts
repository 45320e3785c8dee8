import type { AuthRequest, DialectName, RequestCredentials } from '../authz/auth-request.ts';
import { acceptsRedirect } from './browser.ts';
import type { RequestTarget } from './request-target.ts';

export interface OriginalRequestFacts {
  readonly dialect: DialectName;
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** Already normalised by `normaliseHost`. */
  readonly host: string;
  readonly target: RequestTarget;
  readonly clientIp: string;
  /**
   * The client address a trusted proxy reported (ProxyTrust.reportedClientAddress); null or
   * omitted: unknown.
   */
  readonly sourceAddress?: string | null;
  readonly requestId: string;
  /** The check request's headers (lower-case names), which carry the client's own headers. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/**
 * The credentials a check carries, from its headers. Every check builds one, so it is built
 * directly rather than through definedFields' intermediate object (docs/benchmarks.md).
 */
export function credentialsOf(
  headers: Readonly<Record<string, string | undefined>>,
): RequestCredentials {
  const { cookie, authorization } = headers;
  if (cookie === undefined)
    return authorization === undefined ? { headers } : { authorization, headers };
  return authorization === undefined ? { cookie, headers } : { cookie, authorization, headers };
}

/** Assembles the AuthRequest every adapter produces once it has worked out the original request. */
export function buildAuthRequest(facts: OriginalRequestFacts): AuthRequest {
  const credentials = credentialsOf(facts.headers);
  const { target } = facts.target;
  const queryStart = target.indexOf('?');
  return {
    ...(typeof facts.sourceAddress === 'string' ? { sourceAddress: facts.sourceAddress } : {}),
    // Raw, `#` included: authz/query.ts refuses what it cannot read one way (issue #19).
    ...(queryStart === -1 ? {} : { query: target.slice(queryStart + 1) }),
    dialect: facts.dialect,
    method: facts.method,
    scheme: facts.scheme,
    host: facts.host,
    path: facts.target.path,
    originalUrl: `${facts.scheme}://${facts.host}${facts.target.target}`,
    clientIp: facts.clientIp,
    requestId: facts.requestId,
    acceptsRedirect: acceptsRedirect(facts.headers),
    credentials,
  };
}
