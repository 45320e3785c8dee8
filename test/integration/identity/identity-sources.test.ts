/**
 * Identities bound to their source (issue 15, finding 2) and bearer audiences per policy
 * (finding 8), through a running gatehouse: the real dev OpenID Provider (`corp`, the first
 * provider, so the source of unqualified subjects by default), a bearer issuer (`machines`) and a
 * trusted pre-authentication front. Before the fix every source shared one namespace: a machine
 * token with `sub: bob`, or a front naming `bob` or the group `admins`, inherited the corporate
 * roles; and a token minted for `idm-api` was accepted on every host trusting its issuer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startDevIdentityProvider,
  type DevIdentityProvider,
} from '../../../dev/identity-provider.ts';
import { nginxCheck, type Headers } from '../../fixtures/gatehouse/checks.ts';
import { signInThrough } from '../../fixtures/gatehouse/sign-in.ts';
import {
  startTestGatehouse,
  testPublicUrl,
  type TestGatehouse,
} from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer, type TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import type { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';

const appHost = 'app.sources.test';
const idmHost = 'idm.sources.test';
const callbackUrl = `${testPublicUrl}/oauth2/callback`;
const secret = 'preauth-secret-0123456789';
const front = '10.1.2.3';

const policies = `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: app }
spec:
  hosts: [${appHost}]
  rules:
    - name: bob
      match: [{ path: { type: PathPrefix, value: /bob } }]
      roles: [bob-data]
    - name: staff
      match: [{ path: { type: PathPrefix, value: /staff } }]
      roles: [staff-data]
    - name: ops
      match: [{ path: { type: PathPrefix, value: /ops } }]
      roles: [ops-data]
    - name: psc
      match: [{ path: { type: PathPrefix, value: /psc } }]
      roles: [psc-data]
    - name: nobody
      match: [{ path: { type: PathPrefix, value: /nobody } }]
      roles: [nobody-has-this]
    - name: app
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: idm }
spec:
  hosts: [${idmHost}]
  authentication:
    bearer: { audiences: [idm-api] }
  rules:
    - name: public
      match: [{ path: { type: PathPrefix, value: /public } }]
      roles: [guest]
    - name: api
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterRoleMapping
metadata: { name: corporate }
spec:
  roles: [bob-data]
  subjects: [{ kind: User, name: bob }]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterRoleMapping
metadata: { name: staff }
spec:
  roles: [staff-data]
  subjects: [{ kind: Group, name: staff }]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterRoleMapping
metadata: { name: administrators }
spec:
  roles: [admin]
  subjects: [{ kind: Group, name: admins }]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterRoleMapping
metadata: { name: front-operators }
spec:
  roles: [ops-data]
  subjects:
    - { kind: Group, name: ops, sources: [preauth] }
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterRoleMapping
metadata: { name: psc }
spec:
  roles: [psc-data]
  subjects:
    - { kind: Organisation, name: PSC, sources: [preauth] }
`;

let idp: DevIdentityProvider;
let tokens: TokenIssuer;
let gatehouse: TestGatehouse;

beforeAll(async () => {
  idp = await startDevIdentityProvider({
    clients: [
      { clientId: 'gatehouse', clientSecret: 'gatehouse-secret', redirectUris: [callbackUrl] },
    ],
  });
  tokens = await startTokenIssuer({ audience: 'shop-api' });
  gatehouse = await startTestGatehouse({
    policies,
    trustedProxies: ['127.0.0.1/32'],
    configYaml: `
providers:
  - name: corp
    issuer: ${idp.issuer}
    clientId: gatehouse
    clientSecret: gatehouse-secret
bearer:
  issuers:
    - name: machines
      issuer: ${tokens.issuer}
      audiences: [shop-api, idm-api]
      algorithms: [RS256]
preAuthentication:
  enabled: true
  trustedProxies: [10.1.2.0/24]
  sharedSecret: ${secret}
`,
  });
});
afterAll(async () => {
  await gatehouse.close();
  await tokens.close();
  await idp.close();
});

function check(host: string, path: string, headers: Headers) {
  return nginxCheck(gatehouse, `https://${host}${path}`, headers);
}

function bearer(token: string): Headers {
  return [['Authorization', `Bearer ${token}`]];
}

function preauth(user: string, extra: Headers = []): Headers {
  return [
    ['X-Real-IP', front],
    ['X-Gatehouse-Preauth-Secret', secret],
    ['sec-georchestra-preauthenticated', 'true'],
    ['preauth-username', user],
    ...extra,
  ];
}

describe('the corporate provider (the default source of unqualified subjects)', () => {
  let bob: CookieJar;
  let alice: CookieJar;
  beforeAll(async () => {
    bob = await signInThrough(gatehouse, 'bob', callbackUrl);
    alice = await signInThrough(gatehouse, 'alice', callbackUrl);
  });
  const cookie = (jar: CookieJar): Headers => [
    ['Cookie', jar.cookieHeader(gatehouse.url('/')) ?? ''],
  ];

  it('keeps the roles mapped to its users and groups', async () => {
    expect((await check(appHost, '/bob', cookie(bob))).status).toBe(200);
    expect((await check(appHost, '/staff', cookie(bob))).status).toBe(200);
    // alice is in `admins` at the provider: the super role.
    expect((await check(appHost, '/nobody', cookie(alice))).status).toBe(200);
  });

  it('does not get what is mapped for the pre-authentication front only', async () => {
    expect((await check(appHost, '/ops', cookie(bob))).status).toBe(403);
  });
});

describe('a bearer issuer does not inherit the corporate namespace', () => {
  it('a machine token with sub: bob does not get corporate bob’s roles', async () => {
    const response = await check(appHost, '/bob', bearer(await tokens.sign({ sub: 'bob' })));
    expect(response.status).toBe(403);
    expect(response.body).toBe('missing-role\n');
    // It is still a signed-in identity where `authenticated` is enough.
    expect((await check(appHost, '/', bearer(await tokens.sign({ sub: 'bob' })))).status).toBe(200);
  });

  it('a token whose groups claim says admins does not get the super role', async () => {
    const token = await tokens.sign({ sub: 'dave', groups: ['admins', 'staff'] });
    expect((await check(appHost, '/nobody', bearer(token))).status).toBe(403);
    expect((await check(appHost, '/staff', bearer(token))).status).toBe(403);
  });
});

describe('the pre-authentication front does not inherit the corporate namespace', () => {
  it('a pre-authenticated bob does not get corporate bob’s roles', async () => {
    const response = await check(appHost, '/bob', preauth('bob'));
    expect(response.status).toBe(403);
    expect(response.body).toBe('missing-role\n');
    expect((await check(appHost, '/', preauth('bob'))).status).toBe(200);
  });

  it('preauth-groups: admins does not get the super role through an unqualified Group admins', async () => {
    const response = await check(
      appHost,
      '/nobody',
      preauth('mallory', [['preauth-groups', 'admins']]),
    );
    expect(response.status).toBe(403);
    expect(response.body).toBe('missing-role\n');
  });

  it('gets what a subject with sources: [preauth] maps, by group and by organisation', async () => {
    expect((await check(appHost, '/ops', preauth('zoe', [['preauth-groups', 'ops']]))).status).toBe(
      200,
    );
    expect((await check(appHost, '/psc', preauth('zoe', [['preauth-org', 'PSC']]))).status).toBe(
      200,
    );
    expect((await check(appHost, '/psc', preauth('zoe', [['preauth-org', 'OTHER']]))).status).toBe(
      403,
    );
  });
});

describe('bearer audiences per policy (finding 8)', () => {
  it('refuses a token minted for another audience with 401 invalid-credentials', async () => {
    const shopToken = await tokens.sign({ sub: 'svc', aud: 'shop-api' });
    const response = await check(idmHost, '/users', bearer(shopToken));
    expect(response.status).toBe(401);
    expect(response.body).toBe('invalid-credentials\n');
    // Even where a guest would pass: the credential is not one for these hosts.
    expect((await check(idmHost, '/public', bearer(shopToken))).status).toBe(401);
  });

  it('accepts a token naming one of the policy’s audiences', async () => {
    const idmToken = await tokens.sign({ sub: 'svc', aud: ['other', 'idm-api'] });
    expect((await check(idmHost, '/users', bearer(idmToken))).status).toBe(200);
  });

  it('falls back to the issuer’s audiences on a policy that names none', async () => {
    const idmToken = await tokens.sign({ sub: 'svc', aud: 'idm-api' });
    expect((await check(appHost, '/', bearer(idmToken))).status).toBe(200);
    const foreign = await tokens.sign({ sub: 'svc', aud: 'payroll-api' });
    expect((await check(appHost, '/', bearer(foreign))).status).toBe(401);
  });

  it('leaves sessions and pre-authenticated users alone', async () => {
    expect((await check(idmHost, '/users', preauth('zoe'))).status).toBe(200);
  });
});
