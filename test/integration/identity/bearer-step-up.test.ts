/**
 * Step-up for bearer tokens (issue #19; RFC 9470 "OAuth 2.0 Step Up Authentication Challenge
 * Protocol"), through a running gatehouse and a real token issuer: a rule with `authentication`
 * judges the token's `auth_time` and `acr`; a token that falls short gets 401 with
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication"` naming what to ask its
 * authorization server for, not `invalid_token` (the token itself is fine).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import { startTestGatehouse, type TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer, type TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';

const host = 'billing.step-up.test';
const policies = `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: billing }
spec:
  hosts: [${host}]
  rules:
    - name: payments
      match: [{ path: { type: PathPrefix, value: /payments } }]
      roles: [authenticated]
      authentication: { maxAge: 10m, acr: [gold, platinum] }
    - name: reports
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
`;

let tokens: TokenIssuer;
let gatehouse: TestGatehouse;

beforeAll(async () => {
  tokens = await startTokenIssuer();
  gatehouse = await startTestGatehouse({
    policies,
    configYaml: `
bearer:
  issuers:
    - name: machines
      issuer: ${tokens.issuer}
      audiences: [billing-api]
      algorithms: [RS256]
`,
  });
});
afterAll(async () => {
  await gatehouse.close();
  await tokens.close();
});

const now = () => Math.floor(Date.now() / 1000);
const call = (path: string, token: string) =>
  nginxCheck(gatehouse, `https://${host}${path}`, [['Authorization', `Bearer ${token}`]]);

describe('bearer tokens on a step-up rule (RFC 9470)', () => {
  it('admits a token from a recent sign-in at the required level', async () => {
    const token = await tokens.sign({ aud: 'billing-api', auth_time: now() - 60, acr: 'gold' });
    expect((await call('/payments', token)).status).toBe(200);
  });

  it('answers a token without auth_time or acr with insufficient_user_authentication', async () => {
    const token = await tokens.sign({ aud: 'billing-api' });
    const response = await call('/payments', token);
    expect(response.status).toBe(401);
    expect(response.body).toContain('step-up-required');
    expect(response.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="gold platinum", max_age=600',
    );
    // The same token is fine where no step-up is asked.
    expect((await call('/reports', token)).status).toBe(200);
  });

  it('refuses a token from a sign-in older than maxAge, or at another level', async () => {
    const old = await tokens.sign({ aud: 'billing-api', auth_time: now() - 3600, acr: 'gold' });
    expect((await call('/payments', old)).status).toBe(401);
    const silver = await tokens.sign({ aud: 'billing-api', auth_time: now() - 60, acr: 'silver' });
    const refused = await call('/payments', silver);
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toContain('insufficient_user_authentication');
  });
});
