/**
 * Identity headers that belong to no profile but that gatehouse sends and upstreams trust, so
 * client copies must never pass: the signed assertion (docs/architecture.md, Identity) and the
 * impersonation marker of each built-in profile. Lower-case.
 */
export const assertionHeaderName = 'x-gatehouse-assertion';
export const impersonatorHeaderName = 'x-auth-request-impersonator';

/**
 * The header naming the real user while someone impersonates (oidc/impersonation.ts), spelled
 * like the rest of each built-in profile; custom profiles use the `x-auth-request` spelling.
 * Sent on every allow while impersonation is enabled, empty when nobody impersonates, so a
 * client copy is always overwritten.
 */
export const impersonatorHeaderNames: Readonly<Record<string, string>> = {
  'x-auth-request': 'X-Auth-Request-Impersonator',
  remote: 'Remote-Impersonator',
  sec: 'sec-impersonator',
};

export function impersonatorHeaderFor(profile: string): string {
  return impersonatorHeaderNames[profile] ?? 'X-Auth-Request-Impersonator';
}

export const reservedIdentityHeaderNames: readonly string[] = [
  assertionHeaderName,
  impersonatorHeaderName,
  'remote-impersonator',
  'sec-impersonator',
];
