/**
 * What stands behind every proxy in the e2e tests: a real gatehouse (in-process, real
 * listeners) with the policies below, and a token issuer whose RS256 bearer tokens stand in for
 * a signed-in user until the browser sign-in runs end to end.
 */
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import type { TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';

export const appHost = 'app.test';
/** A second site on the same proxy, open to everyone: the host a confused check is judged on. */
export const wwwHost = 'www.test';
export const publicUrl = 'https://auth.app.test';
/** ingress-nginx `auth-signin`: gatehouse's sign-in start on its public URL. */
export const signInUrl = `${publicUrl}/oauth2/start`;
const audience = 'app-api';

/** The `x-auth-request` profile (docs/architecture.md, Identity), the default. */
export const identityHeaders = [
  'X-Auth-Request-User',
  'X-Auth-Request-Email',
  'X-Auth-Request-Groups',
  'X-Auth-Request-Preferred-Username',
  'X-Auth-Request-Roles',
] as const;

/**
 * app.test: `/public` for everyone, `/catalogue` readable by everyone but writable only when
 * signed in, `/admin` for app-operators, `GET /export` denied to everyone, `/alice` and `/bob`
 * each for one user, the rest for any signed-in user. www.test: everything for everyone.
 */
export const appPolicies = `
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: app, namespace: app }
spec:
  hosts: [${appHost}]
  rules:
    - name: public
      match: [{ path: { type: PathPrefix, value: /public } }]
      roles: [guest]
    - name: catalogue-read
      match: [{ path: { type: PathPrefix, value: /catalogue }, methods: [GET, HEAD] }]
      roles: [guest]
    - name: admin
      match: [{ path: { type: PathPrefix, value: /admin } }]
      roles: [app-admin]
    - name: no-export
      match: [{ path: { type: PathPrefix, value: /export }, methods: [GET] }]
      action: Deny
    - name: alice-only
      match: [{ path: { type: PathPrefix, value: /alice } }]
      roles: [alice-only]
    - name: bob-only
      match: [{ path: { type: PathPrefix, value: /bob } }]
      roles: [bob-only]
    - name: app
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
---
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: www, namespace: www }
spec:
  hosts: [${wwwHost}]
  rules:
    - name: everything
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [guest]
---
apiVersion: gatehouse.dev/v1alpha1
kind: RoleMapping
metadata: { name: app-roles, namespace: app }
spec:
  roles: [app-admin]
  subjects: [{ kind: Group, name: app-operators }]
---
apiVersion: gatehouse.dev/v1alpha1
kind: RoleMapping
metadata: { name: alice-only, namespace: app }
spec:
  roles: [alice-only]
  subjects: [{ kind: User, name: alice }]
---
apiVersion: gatehouse.dev/v1alpha1
kind: RoleMapping
metadata: { name: bob-only, namespace: app }
spec:
  roles: [bob-only]
  subjects: [{ kind: User, name: bob }]
`;

export interface TestUser {
  readonly sub: string;
  readonly preferred_username: string;
  readonly email: string;
  readonly groups: readonly string[];
}

export const users = {
  /** Signed in, holds `alice-only`; not an operator. */
  alice: {
    sub: 'user-alice',
    preferred_username: 'alice',
    email: 'alice@example.com',
    groups: ['staff', 'writers'],
  },
  /** Signed in, holds `bob-only`; not an operator. */
  bob: { sub: 'user-bob', preferred_username: 'bob', email: 'bob@example.com', groups: ['staff'] },
  /** Member of app-operators, so `app-admin`. */
  olivia: {
    sub: 'user-olivia',
    preferred_username: 'olivia',
    email: 'olivia@example.com',
    groups: ['app-operators'],
  },
} as const satisfies Record<string, TestUser>;

export interface AuthStack {
  readonly gatehouse: TestGatehouse;
  readonly issuer: TokenIssuer;
  /** `Authorization` header value carrying a fresh token for the user. */
  bearer(user: TestUser): Promise<string>;
  close(): Promise<void>;
}

export interface AuthStackOptions {
  /** Needed by forward-auth proxies, whose `X-Forwarded-*` count only from trusted peers. */
  readonly trustedProxies?: readonly string[];
  /** `identityHeaders.rejectClientCopies` (default true). */
  readonly rejectClientCopies?: boolean;
  /** pino level of the captured log; default `info` (denials are logged at info). */
  readonly logLevel?: string;
}

export async function startAuthStack(options: AuthStackOptions = {}): Promise<AuthStack> {
  const issuer = await startTokenIssuer({ audience });
  let gatehouse: TestGatehouse;
  try {
    gatehouse = await startTestGatehouse({
      policies: appPolicies,
      publicUrl,
      logLevel: options.logLevel ?? 'info',
      ...(options.trustedProxies === undefined ? {} : { trustedProxies: options.trustedProxies }),
      // The test users sign in with bearer tokens of one issuer: its users are the ones the
      // unqualified RoleMapping subjects below mean (docs/identity.md, "The identity model").
      configYaml: `
authz:
  unqualifiedSubjectSources: [issuer/test-idp]
identityHeaders:
  rejectClientCopies: ${String(options.rejectClientCopies ?? true)}
bearer:
  issuers:
    - name: test-idp
      issuer: ${issuer.issuer}
      audiences: [${audience}]
      algorithms: [RS256]
      claims: { username: preferred_username }
`,
    });
  } catch (error) {
    await issuer.close();
    throw error;
  }
  return {
    gatehouse,
    issuer,
    // The test users' addresses are verified (OIDC Core §5.1): gatehouse drops unverified ones.
    bearer: async (user) =>
      `Bearer ${await issuer.sign({ ...user, email_verified: true, groups: [...user.groups] })}`,
    close: async () => {
      await gatehouse.close();
      await issuer.close();
    },
  };
}
