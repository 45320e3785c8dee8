/**
 * Impersonation ("switch user") and token pass-through with real sessions: a real OpenID
 * Provider (the dev provider), a browserless login, and the real gatehouse. alice holds the
 * `impersonator` role through a ClusterRoleMapping; bob does not; carol holds the super role.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startDevIdentityProvider,
  type DevIdentityProvider,
} from '../../../dev/identity-provider.ts';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import { metricValue, scrape } from '../../fixtures/gatehouse/metrics-text.ts';
import {
  startTestGatehouse,
  testPublicUrl,
  type TestGatehouse,
} from '../../fixtures/gatehouse/start.ts';
import { signInThrough } from '../../fixtures/gatehouse/sign-in.ts';
import type { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import { formToken as sessionFormToken } from '../../../src/oidc/form-token.ts';
import { parseTicket, sessionKeyOf } from '../../../src/sessions/ticket.ts';

const appHost = 'app.identity.test';
const remoteHost = 'remote-app.identity.test';
const tokensHost = 'tokens.identity.test';
const callbackUrl = `${testPublicUrl}/oauth2/callback`;

const policies = `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: app }
spec:
  hosts: [${appHost}]
  rules:
    - name: app
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: remote-app }
spec:
  hosts: [${remoteHost}]
  identityHeaders: remote
  rules:
    - name: app
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: tokens }
spec:
  hosts: [${tokensHost}]
  upstreamTokens:
    accessToken: { header: Authorization }
    idToken: { header: X-Id-Token }
  rules:
    - name: app
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterRoleMapping
metadata: { name: support }
spec:
  roles: [impersonator]
  subjects: [{ kind: User, name: alice }]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterRoleMapping
metadata: { name: administrators }
spec:
  roles: [admin]
  subjects: [{ kind: User, name: carol }]
`;

let idp: DevIdentityProvider;
let gatehouse: TestGatehouse;

beforeAll(async () => {
  idp = await startDevIdentityProvider({
    clients: [
      { clientId: 'gatehouse', clientSecret: 'gatehouse-secret', redirectUris: [callbackUrl] },
    ],
  });
  gatehouse = await startTestGatehouse({
    policies,
    logLevel: 'info',
    configYaml: `
providers:
  - name: dev
    issuer: ${idp.issuer}
    clientId: gatehouse
    clientSecret: gatehouse-secret
impersonation: { enabled: true }
`,
  });
});
afterAll(async () => {
  await gatehouse.close();
  await idp.close();
});

const signIn = (username: string): Promise<CookieJar> =>
  signInThrough(gatehouse, username, callbackUrl);

function cookieOf(jar: CookieJar): string {
  return jar.cookieHeader(gatehouse.url('/')) ?? '';
}

function check(jar: CookieJar, host = appHost) {
  return nginxCheck(gatehouse, `https://${host}/`, [['Cookie', cookieOf(jar)]]);
}

async function formToken(jar: CookieJar): Promise<string> {
  const page = await jar.fetch(gatehouse.url('/oauth2/impersonate'));
  const html = await page.text();
  return /name="csrf" value="([^"]*)"/.exec(html)?.[1] ?? '';
}

function post(jar: CookieJar, form: Record<string, string>, origin = testPublicUrl) {
  return jar.fetch(gatehouse.url('/oauth2/impersonate'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
    body: new URLSearchParams(form).toString(),
  });
}

function auditLines(action: string, result: string, actor: string) {
  return gatehouse.logs.matching({ msg: 'audit: impersonation', action, result, actor });
}

describe('impersonation', () => {
  let alice: CookieJar;
  beforeAll(async () => {
    alice = await signIn('alice');
  });

  it('lets alice act as bob: the upstream sees bob, and alice as the impersonator', async () => {
    const before = await check(alice);
    expect(before.headers['x-auth-request-user']).toBe('alice');
    expect(before.headers['x-auth-request-impersonator']).toBe('');

    const started = await post(alice, {
      action: 'start',
      user: 'bob',
      email: 'bob@example.com',
      csrf: await formToken(alice),
    });
    expect(started.status).toBe(302);

    const during = await check(alice);
    expect(during.status).toBe(200);
    expect(during.headers['x-auth-request-user']).toBe('bob');
    expect(during.headers['x-auth-request-email']).toBe('bob@example.com');
    expect(during.headers['x-auth-request-groups']).toBe('');
    expect(during.headers['x-auth-request-impersonator']).toBe('alice');
    const remote = await check(alice, remoteHost);
    expect(remote.headers['remote-user']).toBe('bob');
    expect(remote.headers['remote-impersonator']).toBe('alice');
    expect(auditLines('start', 'success', 'alice')).toMatchObject([{ target: 'bob' }]);

    const page = await (await alice.fetch(gatehouse.url('/oauth2/impersonate'))).text();
    expect(page).toContain('<strong id="acting-as">bob</strong>');

    const stopped = await post(alice, { action: 'stop', csrf: await formToken(alice) });
    expect(stopped.status).toBe(302);
    const after = await check(alice);
    expect(after.headers['x-auth-request-user']).toBe('alice');
    expect(after.headers['x-auth-request-impersonator']).toBe('');
    expect(auditLines('stop', 'success', 'alice')).toMatchObject([{ target: 'bob' }]);
    expect(
      metricValue(await scrape(gatehouse.opsUrl('/metrics')), 'gatehouse_impersonations_total', {
        action: 'start',
        result: 'success',
      }),
    ).toBe(1);
  });

  it('refuses a super-role holder as the target unless the actor holds the super role', async () => {
    const refused = await post(alice, {
      action: 'start',
      user: 'carol',
      csrf: await formToken(alice),
    });
    expect(refused.status).toBe(403);
    expect((await check(alice)).headers['x-auth-request-user']).toBe('alice');
    expect(auditLines('start', 'refused', 'alice')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ target: 'carol', reason: 'super-role-target' }),
      ]),
    );
  });

  it('refuses a POST without the form token', async () => {
    const refused = await post(alice, { action: 'start', user: 'bob' });
    expect(refused.status).toBe(403);
    expect((await check(alice)).headers['x-auth-request-user']).toBe('alice');
    expect(auditLines('start', 'refused', 'alice')).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: 'csrf' })]),
    );
  });

  it('refuses a POST from another site, even with a valid token', async () => {
    const refused = await post(
      alice,
      { action: 'start', user: 'bob', csrf: await formToken(alice) },
      'https://evil.example',
    );
    expect(refused.status).toBe(403);
    expect((await check(alice)).headers['x-auth-request-user']).toBe('alice');
    expect(
      gatehouse.logs.matching({ msg: 'audit: impersonation', reason: 'cross-site' }),
    ).not.toHaveLength(0);
  });

  it('refuses bob, who does not hold the impersonator role', async () => {
    const bob = await signIn('bob');
    const page = await bob.fetch(gatehouse.url('/oauth2/impersonate'));
    expect(page.status).toBe(403);
    expect(await page.text()).not.toContain('name="csrf"');
    // A hand-made POST with a valid token for bob's own session still meets the role check.
    const ticket = parseTicket(bob.get(gatehouse.url('/'), '_gatehouse'));
    if (ticket === null) throw new Error('bob has no session ticket');
    const csrf = sessionFormToken('impersonate', ticket, sessionKeyOf(ticket.id));
    const refused = await post(bob, { action: 'start', user: 'alice', csrf });
    expect(refused.status).toBe(403);
    expect((await check(bob)).headers['x-auth-request-user']).toBe('bob');
    expect(auditLines('start', 'refused', 'bob')).toMatchObject([
      { target: 'alice', reason: 'not-impersonator' },
    ]);
  });
});

describe('token pass-through', () => {
  it("sends the session's own access token as a Bearer token and its ID token", async () => {
    const zoe = await signIn('zoe');
    const response = await check(zoe, tokensHost);
    expect(response.status).toBe(200);
    const authorization = String(response.headers['authorization']);
    expect(authorization).toMatch(/^Bearer \S+$/);

    // The provider recognises it as zoe's access token.
    const discovery = (await (
      await fetch(`${idp.issuer}/.well-known/openid-configuration`)
    ).json()) as { userinfo_endpoint: string };
    const userinfo = await fetch(discovery.userinfo_endpoint, {
      headers: { authorization },
    });
    expect(userinfo.status).toBe(200);
    expect(((await userinfo.json()) as { sub: string }).sub).toBe('zoe-0004');

    expect(decodeJwt(String(response.headers['x-id-token'])).sub).toBe('zoe-0004');
  });

  it('sends the token headers empty for a host whose policy asks, while impersonating', async () => {
    const alice = await signIn('alice');
    await post(alice, { action: 'start', user: 'bob', csrf: await formToken(alice) });
    const response = await check(alice, tokensHost);
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-request-user']).toBe('bob');
    expect(response.headers['authorization']).toBe('');
    expect(response.headers['x-id-token']).toBe('');
  });

  it('sends no token header where the policy does not ask for one', async () => {
    const zoe = await signIn('zoe');
    const response = await check(zoe, appHost);
    expect(response.headers).not.toHaveProperty('authorization');
    expect(response.headers).not.toHaveProperty('x-id-token');
  });
});
