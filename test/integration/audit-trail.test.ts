/**
 * The audit trail (issue 10 item 4): one structured line per deny, login, logout, revocation,
 * impersonation and policy change, on the `gatehouse.audit` logger, through a real gatehouse, a
 * real OpenID Provider and real sign-ins.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../dev/identity-provider.ts';
import { nginxCheck } from '../fixtures/gatehouse/checks.ts';
import {
  startTestGatehouse,
  testPublicUrl,
  type TestGatehouse,
} from '../fixtures/gatehouse/start.ts';
import { signInThrough } from '../fixtures/gatehouse/sign-in.ts';
import type { CookieJar } from '../fixtures/oidc/cookie-jar.ts';

const host = 'audit.trail.test';
const callbackUrl = `${testPublicUrl}/oauth2/callback`;
const policies = (adminRole: string) => `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: audited }
spec:
  hosts: [${host}]
  rules:
    - name: admin
      match: [{ path: { type: PathPrefix, value: /admin } }]
      roles: [${adminRole}]
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
`;

let idp: DevIdentityProvider;
let gatehouse: TestGatehouse;

beforeAll(async () => {
  idp = await startDevIdentityProvider({
    clients: [
      {
        clientId: 'gatehouse',
        clientSecret: 'gatehouse-secret',
        redirectUris: [callbackUrl],
        backchannelLogoutUri: `${testPublicUrl}/oauth2/backchannel_logout`,
      },
    ],
  });
  gatehouse = await startTestGatehouse({
    policies: policies('auditors'),
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

const audit = (event: string) => gatehouse.logs.matching({ logger: 'gatehouse.audit', event });

const signIn = (username: string): Promise<CookieJar> =>
  signInThrough(gatehouse, username, callbackUrl);

async function formField(jar: CookieJar, path: string): Promise<string> {
  const html = await (await jar.fetch(gatehouse.url(path))).text();
  return /name="csrf" value="([^"]*)"/.exec(html)?.[1] ?? '';
}

async function post(jar: CookieJar, path: string, form: Record<string, string>): Promise<Response> {
  return jar.fetch(gatehouse.url(path), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: testPublicUrl,
      'sec-fetch-site': 'same-origin',
    },
    body: new URLSearchParams(form).toString(),
  });
}

describe('audit trail', () => {
  it('writes a deny line with request id, user, host, path, policy, rule and reason', async () => {
    const jar = await signIn('bob');
    const cookie = jar.cookieHeader(gatehouse.url('/')) ?? '';
    const response = await nginxCheck(gatehouse, `https://${host}/admin/users`, [
      ['Cookie', cookie],
    ]);
    expect(response.status).toBe(403);
    const denials = audit('deny').filter(
      (line) => line['user'] === 'bob' && line['path'] === '/admin/users',
    );
    expect(denials).toHaveLength(1);
    expect(denials[0]).toMatchObject({
      requestId: String(response.headers['x-request-id']),
      outcome: 'forbidden',
      reason: 'missing-role',
      user: 'bob',
      host,
      path: '/admin/users',
      policy: '/audited',
      rule: 'admin',
    });
  });

  it('writes login and logout lines', async () => {
    const jar = await signIn('carol');
    expect(audit('login').filter((line) => line['user'] === 'carol')).toHaveLength(1);
    expect(audit('login').find((line) => line['user'] === 'carol')).toMatchObject({
      result: 'success',
      provider: 'dev',
    });
    const csrf = await formField(jar, '/oauth2/sign_out');
    expect((await post(jar, '/oauth2/sign_out', { csrf })).status).toBe(302);
    expect(audit('logout').find((line) => line['user'] === 'carol')).toMatchObject({
      provider: 'dev',
    });
  });

  it('writes a revocation line when the provider signs the user out (back-channel logout)', async () => {
    await signIn('zoe');
    const before = audit('revocation').length;
    // A logout token as the provider issues it (OIDC Back-Channel Logout 1.0 §2.4), signed with
    // the provider's own key: the registered back-channel URI names the public URL, which this
    // test instance does not listen on.
    const logoutToken = await new SignJWT({
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      jti: `audit-${String(Date.now())}`,
    })
      .setProtectedHeader({ alg: 'RS256', kid: idp.keys.rs256.kid, typ: 'logout+jwt' })
      .setIssuer(idp.issuer)
      .setAudience('gatehouse')
      .setSubject('zoe-0004')
      .setIssuedAt()
      .sign(idp.keys.rs256.privateKey);
    const response = await fetch(gatehouse.url('/oauth2/backchannel_logout'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: logoutToken }).toString(),
    });
    expect(response.status).toBe(200);
    expect(audit('revocation').length).toBeGreaterThan(before);
    expect(audit('revocation').at(-1)).toMatchObject({ source: 'backchannel', provider: 'dev' });
  });

  it('writes impersonation start and stop lines', async () => {
    const jar = await signIn('alice');
    const csrf = await formField(jar, '/oauth2/impersonate');
    await post(jar, '/oauth2/impersonate', { csrf, action: 'start', user: 'bob' });
    const csrfStop = await formField(jar, '/oauth2/impersonate');
    await post(jar, '/oauth2/impersonate', { csrf: csrfStop, action: 'stop' });
    const lines = audit('impersonation').filter((line) => line['actor'] === 'alice');
    expect(lines.map((line) => [line['action'], line['result']])).toEqual([
      ['start', 'success'],
      ['stop', 'success'],
    ]);
  });

  it('writes a policy-change line when the policy files change', async () => {
    const before = audit('policy-change').length;
    const temporary = join(gatehouse.policyDir, '.next.yaml.tmp');
    await writeFile(temporary, policies('admins'));
    await rename(temporary, join(gatehouse.policyDir, 'policies.yaml'));
    for (let attempt = 0; attempt < 60 && audit('policy-change').length === before; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(audit('policy-change').at(-1)).toMatchObject({ source: 'files' });
    expect(audit('policy-change').length).toBe(before + 1);
  });
});
