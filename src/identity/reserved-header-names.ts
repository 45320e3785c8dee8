/**
 * Identity headers that belong to no profile but that gatehouse (or a future feature) sends and
 * upstreams trust, so client copies must never pass: the signed assertion (DESIGN.md, Identity
 * headers) and the impersonation marker. Lower-case.
 */
export const assertionHeaderName = 'x-gatehouse-assertion';
export const impersonatorHeaderName = 'x-auth-request-impersonator';

export const reservedIdentityHeaderNames: readonly string[] = [
  assertionHeaderName,
  impersonatorHeaderName,
];
