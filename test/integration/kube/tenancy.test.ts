/**
 * Tenancy (DESIGN.md decision semantics 7, security invariant 9): a namespaced AccessPolicy
 * governs a host only if an Ingress (or HTTPRoute) of its own namespace declares it, so one
 * tenant can neither open nor close another tenant's host; a namespaced RoleMapping grants
 * roles only for policies of its own namespace. `hostOwnership: false` (single tenant) lifts
 * the host rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import type { TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import {
  KubeAdmin,
  accessPolicy,
  clusterHookTimeoutMs,
  eventually,
  httpRoute,
  httpRouteCrd,
  ingress,
  nginxStatus,
  readyCondition,
  readyzStatus,
  roleMapping,
  startKubeGatehouse,
  startPolicyCluster,
} from './kube-harness.ts';

const aHost = 'a.tenancy.test';
const bHost = 'b.tenancy.test';
/** Declared by tenant B, governed by no policy of B. */
const cHost = 'c.tenancy.test';

let cluster: KubeTestCluster;
let admin: KubeAdmin;
let idp: TokenIssuer;
/** Multi-tenant (the default). */
let tenants: TestGatehouse;
/** `hostOwnership: false`. */
let singleTenant: TestGatehouse;

/** Tries to open B's host (and governs its own host a). */
const aOpens = accessPolicy(
  'a-opens',
  'tenant-a',
  [aHost, bHost],
  [
    { name: 'a-only', path: '/a-only', exact: true },
    { name: 'everything', path: '/' },
  ],
);
/** Tries to close C, a host of B that B leaves to the default. */
const aCloses = accessPolicy(
  'a-closes',
  'tenant-a',
  [cHost],
  [{ name: 'all', path: '/', deny: true }],
);

beforeAll(async () => {
  cluster = await startPolicyCluster();
  admin = new KubeAdmin(cluster.kubeconfigPath);
  idp = await startTokenIssuer({ audience: 'tenancy' });
  for (const namespace of ['tenant-a', 'tenant-b', 'gatehouse']) await admin.namespace(namespace);
  await admin.apply(ingress('a', 'tenant-a', [aHost]));
  await admin.apply(ingress('b', 'tenant-b', [bHost, cHost]));
  await admin.apply(
    accessPolicy(
      'b-staff-only',
      'tenant-b',
      [bHost],
      [{ name: 'all', path: '/', roles: ['b-staff'] }],
    ),
  );
  await admin.apply(aOpens);
  await admin.apply(aCloses);
  // A grants B's role to olivia; B grants it to bob.
  await admin.apply(roleMapping('a-grants', 'tenant-a', ['b-staff'], ['olivia']));
  await admin.apply(roleMapping('b-grants', 'tenant-b', ['b-staff'], ['bob']));

  // noMatch: allow, so that "closing" a host is visible (a no-match would be 200).
  const configYaml = `
authz:
  noMatch: allow
bearer:
  issuers:
    - name: test-idp
      issuer: ${idp.issuer}
      audiences: [tenancy]
      algorithms: [RS256]
      claims: { username: preferred_username }
`;
  tenants = await startKubeGatehouse(cluster, { configYaml });
  singleTenant = await startKubeGatehouse(cluster, {
    configYaml,
    env: {
      GATEHOUSE_POLICY__KUBERNETES__HOST_OWNERSHIP: 'false',
      GATEHOUSE_POLICY__KUBERNETES__STATUS_WRITER: 'false',
    },
  });
  for (const gatehouse of [tenants, singleTenant]) {
    await eventually('synced', async () => (await readyzStatus(gatehouse)) === 200, 10_000);
  }
}, clusterHookTimeoutMs);

afterAll(async () => {
  await Promise.all([tenants.close(), singleTenant.close()]);
  await idp.close();
  await cluster.stop();
});

async function asUser(gatehouse: TestGatehouse, url: string, user: string): Promise<number> {
  const token = await idp.sign({ sub: user, preferred_username: user });
  return (await nginxCheck(gatehouse, url, [['Authorization', `Bearer ${token}`]])).status;
}

describe('multi-tenant (host ownership on)', () => {
  it("cannot open another tenant's host", async () => {
    expect(await nginxStatus(tenants, `https://${bHost}/`)).toBe(401);
    expect(await nginxStatus(tenants, `https://${bHost}/a-only`)).toBe(401);
  });

  it("cannot close another tenant's host", async () => {
    expect(await nginxStatus(tenants, `https://${cHost}/`)).toBe(200);
  });

  it('still governs its own hosts, and says which host it does not own and what to do', async () => {
    expect(await nginxStatus(tenants, `https://${aHost}/`)).toBe(200);
    await eventually(
      'a-opens reports HostNotOwned',
      async () => readyCondition(await admin.get(aOpens))?.reason === 'HostNotOwned',
      10_000,
      100,
    );
    const condition = readyCondition(await admin.get(aOpens));
    expect(condition?.status).toBe('False');
    expect(condition?.message).toContain(`applied to ${aHost} only`);
    expect(condition?.message).toContain(
      `host ${bHost} is not declared by any Ingress or HTTPRoute in namespace tenant-a`,
    );
    expect(condition?.message).toContain('ClusterAccessPolicy');
    expect(readyCondition(await admin.get(aCloses))).toMatchObject({
      status: 'False',
      reason: 'HostNotOwned',
    });
    expect(String(readyCondition(await admin.get(aCloses))?.message)).toMatch(/^not applied: /);
  });

  it("grants roles of a namespace's RoleMapping only for that namespace's policies", async () => {
    expect(await asUser(tenants, `https://${bHost}/`, 'bob')).toBe(200);
    // olivia holds b-staff through tenant-a's mapping: worthless on tenant-b's policy.
    expect(await asUser(tenants, `https://${bHost}/`, 'olivia')).toBe(403);
  });

  it('follows ownership as Ingresses change', async () => {
    // tenant-a now declares c too (a shared host): its Deny applies.
    await admin.apply(ingress('a', 'tenant-a', [aHost, cHost]));
    await eventually(
      'the deny applies once a declares c',
      async () => (await nginxStatus(tenants, `https://${cHost}/`)) === 403,
    );
    await admin.apply(ingress('a', 'tenant-a', [aHost]));
    await eventually(
      'and is lifted when a stops declaring it',
      async () => (await nginxStatus(tenants, `https://${cHost}/`)) === 200,
    );
  });
});

describe('single tenant (host ownership off)', () => {
  it('applies namespaced policies to any host', async () => {
    // A's exact rule now governs B's host, and A's Deny closes C.
    expect(await nginxStatus(singleTenant, `https://${bHost}/a-only`)).toBe(200);
    expect(await nginxStatus(singleTenant, `https://${cHost}/`)).toBe(403);
  });
});

describe('HTTPRoutes', () => {
  it('count for ownership once the Gateway API is installed, without a restart', async () => {
    const routeHost = 'r.tenancy.test';
    await admin.namespace('tenant-r');
    await admin.apply(
      accessPolicy('r-closed', 'tenant-r', [routeHost], [{ name: 'all', path: '/', deny: true }]),
    );
    // A replica that looks for the Gateway API every second (resyncPeriod).
    const watching = await startKubeGatehouse(cluster, {
      configYaml: 'authz:\n  noMatch: allow\n',
      env: {
        GATEHOUSE_POLICY__KUBERNETES__RESYNC_PERIOD: '1s',
        GATEHOUSE_POLICY__KUBERNETES__STATUS_WRITER: 'false',
      },
    });
    try {
      await eventually('synced', async () => (await readyzStatus(watching)) === 200, 10_000);
      // No Gateway API yet: nothing in tenant-r declares the host, the policy does not apply.
      expect(await nginxStatus(watching, `https://${routeHost}/`)).toBe(200);

      await admin.apply(httpRouteCrd);
      await eventually(
        'HTTPRoute served',
        async () => {
          const response = await admin.request(
            'GET',
            '/apis/gateway.networking.k8s.io/v1/httproutes',
          );
          return response.status === 200;
        },
        20_000,
        200,
      );
      await admin.apply(httpRoute('r', 'tenant-r', [routeHost]));
      await eventually(
        'the route makes tenant-r own its host',
        async () => (await nginxStatus(watching, `https://${routeHost}/`)) === 403,
        15_000,
        100,
      );
    } finally {
      await watching.close();
    }
  }, 60_000);
});
