/**
 * oauth2-proxy's `/oauth2/auth` drop-in (issue #19) over real HTTP, with bearer tokens from a
 * real JWKS: 202 / 401 / 403 as oauth2-proxy answers, the `allowed_*` lists, the policy only
 * with `?host=$host`, and the refusals that keep it never weaker than oauth2-proxy nor than
 * `/authz/nginx` (docs/proxy-protocols.md §1.6).
 */
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, scrape } from '../../fixtures/gatehouse/metrics-text.ts';
import { send } from '../../fixtures/gatehouse/http-client.ts';
import type { RawResponse } from '../../fixtures/gatehouse/http-client.ts';
import { shopHost, shopOperatorsGroup, testPolicies } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import type { TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';

/** A host whose only policy is in Audit mode and would refuse everyone but `finance`. */
const auditHost = 'reports.test';
const auditPolicy = `
---
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: reports, namespace: finance }
spec:
  hosts: [${auditHost}]
  mode: Audit
  rules:
    - name: finance
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [finance]
`;

let idp: TokenIssuer;
let gatehouse: TestGatehouse;
let prefixed: TestGatehouse;

beforeAll(async () => {
  idp = await startTokenIssuer({ audience: 'shop-api' });
  const configYaml = `
authz: { unqualifiedSubjectSources: [issuer/test-idp] }
bearer:
  issuers:
    - name: test-idp
      issuer: ${idp.issuer}
      audiences: [shop-api]
      algorithms: [RS256]
      claims: { username: preferred_username }
`;
  [gatehouse, prefixed] = await Promise.all([
    startTestGatehouse({ configYaml, policies: testPolicies + auditPolicy }),
    startTestGatehouse({ configYaml: `${configYaml}routes: { prefix: /sso }\n` }),
  ]);
});
afterAll(async () => {
  await Promise.all([gatehouse.close(), prefixed.close(), idp.close()]);
});

const olivia = {
  sub: 'user-1001',
  preferred_username: 'olivia',
  email: 'olivia@example.com',
  email_verified: true,
  groups: [shopOperatorsGroup, 'staff'],
};
const carl = {
  ...olivia,
  sub: 'user-1002',
  preferred_username: 'carl',
  email: 'carl@example.com',
  groups: ['customers'],
};

/**
 * An ingress-nginx auth subrequest to `auth-url: http://<gatehouse>/oauth2/auth<query>`: what
 * the controller's auth location sends (docs/proxy-protocols.md §1.2).
 */
async function authCheck(
  query: string,
  options: {
    token?: JWTPayload;
    originalUrl?: string;
    instance?: TestGatehouse;
    path?: string;
  } = {},
): Promise<RawResponse> {
  const headers: [string, string][] = [
    ['X-Original-URL', options.originalUrl ?? `https://${shopHost}/admin/orders`],
    ['X-Original-Method', 'GET'],
    ['X-Sent-From', 'nginx-ingress-controller'],
  ];
  if (options.token !== undefined) {
    headers.push(['Authorization', `Bearer ${await idp.sign(options.token)}`]);
  }
  return send((options.instance ?? gatehouse).url(''), {
    path: `${options.path ?? '/oauth2/auth'}${query}`,
    headers,
  });
}

describe('/oauth2/auth without a routed host: oauth2-proxy AuthOnly', () => {
  it('answers an anonymous caller 401 without a Location (nginx auth-signin redirects)', async () => {
    const response = await authCheck('');
    expect(response.status).toBe(401);
    expect(response.headers.location).toBeUndefined();
    expect(response.headers['x-auth-request-user']).toBeUndefined();
  });

  it('answers a valid token 202 with the X-Auth-Request headers, whatever path it is for', async () => {
    const response = await authCheck('', { token: carl });
    expect(response.status).toBe(202);
    expect(response.headers['x-auth-request-user']).toBe('carl');
    expect(response.headers['x-auth-request-email']).toBe('carl@example.com');
    expect(response.headers['x-auth-request-groups']).toBe('customers');
    expect(response.headers['x-auth-request-preferred-username']).toBe('carl');
    // No policy: the roles of being signed in, and none of a RoleMapping's.
    expect(response.headers['x-auth-request-roles']).toBe('guest,authenticated');
  });

  it('honours allowed_groups and allowed_emails: 202 inside, 403 outside', async () => {
    expect(
      (await authCheck(`?allowed_groups=admins,${shopOperatorsGroup}`, { token: olivia })).status,
    ).toBe(202);
    const outside = await authCheck('?allowed_groups=admins', { token: olivia });
    expect(outside.status).toBe(403);
    expect(outside.body).toBe('not-in-allowed-list\n');
    expect(outside.headers['x-auth-request-user']).toBeUndefined();
    expect((await authCheck('?allowed_emails=carl@example.com', { token: carl })).status).toBe(202);
    expect((await authCheck('?allowed_emails=carl@example.com', { token: olivia })).status).toBe(
      403,
    );
    // An unverified address is no address (OpenID Connect Core §5.1): it matches no list.
    const unverified = { ...carl, email_verified: false };
    expect(
      (await authCheck('?allowed_emails=carl@example.com', { token: unverified })).status,
    ).toBe(403);
  });

  it('refuses an auth URL oauth2-proxy would read as a weaker restriction, 400 naming the fix', async () => {
    for (const query of ['?allowed_groups=', '?allowed_group=admins', '?allowed_groups=a;b']) {
      const response = await authCheck(query, { token: olivia });
      expect(response.status, query).toBe(400);
      expect(response.headers['x-auth-request-user'], query).toBeUndefined();
    }
  });

  it('answers under routes.prefix, where oauth2-proxy --proxy-prefix puts it', async () => {
    const moved = await authCheck('', { token: carl, instance: prefixed, path: '/sso/auth' });
    expect(moved.status).toBe(202);
    const old = await authCheck('', { token: carl, instance: prefixed });
    expect(old.status).toBe(404);
  });

  it('counts its decisions under dialect="oauth2-proxy"', async () => {
    await authCheck('?allowed_groups=nobody', { token: carl });
    const exposition = await scrape(gatehouse.opsUrl('/metrics'));
    expect(
      metricValue(exposition, 'gatehouse_decisions_total', {
        dialect: 'oauth2-proxy',
        outcome: 'forbidden',
        reason: 'not-in-allowed-list',
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('/oauth2/auth?host=$host: the nginx boundary rules and the policy, on top of oauth2-proxy', () => {
  const routed = `?host=${shopHost}`;

  it('applies the policy: /admin needs shop-admin, granted through the RoleMapping', async () => {
    const operator = await authCheck(routed, { token: olivia });
    expect(operator.status).toBe(202);
    expect(String(operator.headers['x-auth-request-roles']).split(',')).toContain('shop-admin');
    const customer = await authCheck(routed, { token: carl });
    expect(customer.status).toBe(403);
    expect(customer.body).toBe('missing-role\n');
  });

  it('answers an anonymous caller 401 with the sign-in URL, even on a guest path', async () => {
    const guestPath = await authCheck(routed, {
      originalUrl: `https://${shopHost}/public/catalogue`,
    });
    expect(guestPath.status).toBe(401);
    expect(guestPath.headers.location).toMatch(
      /\/oauth2\/start\?rd=https%3A%2F%2Fshop\.test%2Fpublic/,
    );
  });

  it('refuses an X-Original-URL host other than the routed host (absolute-form request line), as /authz/nginx', async () => {
    const response = await authCheck(routed, {
      token: olivia,
      originalUrl: 'https://www.test/admin/orders',
    });
    expect(response.status).toBe(400);
  });

  it('refuses a second list smuggled in through $host (nginx interpolates it unescaped)', async () => {
    const response = await authCheck(
      `?host=${shopHost}&allowed_groups=customers&allowed_groups=admins`,
      {
        token: carl,
      },
    );
    expect(response.status).toBe(400);
  });

  it('never lets an Audit-mode policy lift the allowed_groups refusal', async () => {
    const outside = await authCheck(`?host=${auditHost}&allowed_groups=finance`, {
      token: carl,
      originalUrl: `https://${auditHost}/ledger`,
    });
    expect(outside.status).toBe(403);
    expect(outside.body).toBe('not-in-allowed-list\n');
    // The policy's own refusal (missing role finance) is audited and let through, as on /authz/nginx.
    const audited = await authCheck(`?host=${auditHost}`, {
      token: carl,
      originalUrl: `https://${auditHost}/ledger`,
    });
    expect(audited.status).toBe(202);
  });
});
