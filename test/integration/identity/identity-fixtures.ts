/**
 * Shared pieces of the "identity for the upstream" integration tests: one host per header
 * profile, and the people whose identities travel (an ASCII user, one with a non-ASCII name and
 * a group containing a comma, and a service without an e-mail address).
 */
import type { JWTPayload } from 'jose';

export const hosts = {
  xAuthRequest: 'xar.identity.test',
  remote: 'remote.identity.test',
  sec: 'sec.identity.test',
  custom: 'custom.identity.test',
} as const;

/** One ClusterAccessPolicy per profile: everything needs a signed-in caller. */
export const profilePolicies = [
  ['profile-x-auth-request', hosts.xAuthRequest, undefined],
  ['profile-remote', hosts.remote, 'remote'],
  ['profile-sec', hosts.sec, 'sec'],
  ['profile-custom', hosts.custom, 'custom'],
]
  .map(
    ([name, host, profile]) => `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: ${name} }
spec:
  hosts: [${host}]
${profile === undefined ? '' : `  identityHeaders: ${profile}\n`}  rules:
    - name: app
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
`,
  )
  .map((document) => document.trim())
  .join('\n---\n');

/** Custom profile used by the tests (configuration `identityHeaders.custom`). */
export const customProfileYaml = `
identityHeaders:
  custom:
    X-Webauth-User: user
    X-Webauth-Email: email
    X-Webauth-Name: name
    X-Webauth-Department: claim:department
`;

export const alice: JWTPayload = {
  sub: 'alice-0001',
  preferred_username: 'alice',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice Admin',
  given_name: 'Alice',
  family_name: 'Admin',
  groups: ['admins', 'staff'],
  department: 'engineering',
};

export const zoe: JWTPayload = {
  sub: 'zoe-0004',
  preferred_username: 'zoe',
  email: 'zoe@example.com',
  email_verified: true,
  name: 'Zoë Ñandú',
  given_name: 'Zoë',
  family_name: 'Ñandú',
  groups: ['staff', 'sales,emea'],
  department: 'Ventas Ñ',
};

/** A machine identity: no e-mail, no name, no groups. */
export const robot: JWTPayload = { sub: 'robot-7', preferred_username: 'robot' };

export const bearerIssuerYaml = (issuer: string): string => `
bearer:
  issuers:
    - name: test-idp
      issuer: ${issuer}
      audiences: [shop-api]
      algorithms: [RS256]
      claims: { username: preferred_username }
# Unqualified RoleMapping subjects are this issuer's users (issue 15: identities are bound to
# their source, and with no OpenID provider configured they would match nobody).
authz: { unqualifiedSubjectSources: [issuer/test-idp] }
`;
