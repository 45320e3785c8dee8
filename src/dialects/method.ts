import { malformedRequest } from './dialect.ts';

/** RFC 9110 §9.1: a method is a token (§5.6.2). Bounded so a header cannot carry a novel. */
const methodToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

/**
 * The original request's method, upper-cased for matching (the AuthRequest contract). Methods
 * are case-sensitive on the wire, but every proxy gatehouse serves only routes upper-case ones.
 * @param source header name, for the error message
 */
export function parseMethod(raw: string | undefined, source: string): string {
  const value = raw?.trim();
  if (value === undefined || !methodToken.test(value)) {
    throw malformedRequest(`${source} must be an HTTP method token (RFC 9110 §9.1)`);
  }
  return value.toUpperCase();
}
