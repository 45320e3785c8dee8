/**
 * Tenancy (docs/architecture.md decision semantics 7, security invariant 9, docs/kubernetes.md): a
 * namespaced AccessPolicy governs a host only if its namespace owns it (the earliest Ingress of a
 * protected class or HTTPRoute accepted by a protected Gateway declaring it is in that namespace)
 * or a HostDelegation names the namespace, so one tenant can neither open nor close another
 * tenant's host; a namespaced RoleMapping grants roles only for policies of its own namespace;
 * ClusterAccessPolicy guardrails bind every tenant. `hostOwnership: false` (single tenant) lifts
 * the host rule. Each attack below was tried as a tenant with write access to its own namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import type { TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import type { KubeObject } from './kube-harness.ts';
import { metricValue, scrape } from '../../fixtures/gatehouse/metrics-text.ts';
import {
  KubeAdmin,
  acceptedBy,
  accessPolicy,
  clusterHookTimeoutMs,
  eventually,
  httpRoute,
  hostDelegation,
  httpRouteCrd,
  ingress,
  ingressClass,
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
  // A class a platform admin installed for a controller gatehouse does not protect.
  await admin.apply(ingressClass('unprotected'));
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
  # The RoleMappings' unqualified subjects are test-idp's users (issue 15: identities are bound
  # to their source; with no OpenID provider they would match nobody).
  unqualifiedSubjectSources: [issuer/test-idp]
policy:
  kubernetes:
    ingressClassNames: [nginx]
    gateways: [gateways/public]
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

  it('still governs its own hosts, and says who owns the other host and what to do', async () => {
    expect(await nginxStatus(tenants, `https://${aHost}/`)).toBe(200);
    await eventually(
      'a-opens reports HostOwnedByAnotherNamespace',
      async () => readyCondition(await admin.get(aOpens))?.reason === 'HostOwnedByAnotherNamespace',
      10_000,
      100,
    );
    const condition = readyCondition(await admin.get(aOpens));
    expect(condition?.status).toBe('False');
    expect(condition?.message).toContain(`applied to ${aHost} only`);
    expect(condition?.message).toContain(
      `host ${bHost} is owned by namespace tenant-b (its Ingress tenant-b/b`,
    );
    expect(condition?.message).toContain('HostDelegation');
    expect(readyCondition(await admin.get(aCloses))).toMatchObject({
      status: 'False',
      reason: 'HostOwnedByAnotherNamespace',
    });
    expect(String(readyCondition(await admin.get(aCloses))?.message)).toMatch(/^not applied: /);
  });

  it('kubectl get shows the reason and the owners; describe shows the Warning Event naming the owner', async () => {
    const table = (
      await admin.request(
        'GET',
        '/apis/gatehouse.dev/v1alpha1/namespaces/tenant-a/accesspolicies',
        undefined,
        'application/json',
        'application/json;as=Table;v=v1;g=meta.k8s.io',
      )
    ).body as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    const columns = table.columnDefinitions.map((column) => column.name);
    const row = table.rows.find((candidate) => candidate.cells[0] === 'a-opens');
    expect(row?.cells[columns.indexOf('Ready')]).toBe('False');
    expect(row?.cells[columns.indexOf('Reason')]).toBe('HostOwnedByAnotherNamespace');
    expect(String(row?.cells[columns.indexOf('Owners')])).toContain(`${bHost}=tenant-b`);
    expect(String(row?.cells[columns.indexOf('Owners')])).toContain(`${aHost}=tenant-a`);

    const events = async (): Promise<KubeObject[]> =>
      (await admin.list('/apis/events.k8s.io/v1/namespaces/tenant-a/events')).filter(
        (event) =>
          (event.regarding as { name?: string } | undefined)?.name === 'a-opens' &&
          event.type === 'Warning',
      );
    await eventually('a Warning Event', async () => (await events()).length > 0, 10_000, 100);
    const [event] = await events();
    expect(event?.reason).toBe('HostOwnedByAnotherNamespace');
    expect(String(event?.note)).toContain('owned by namespace tenant-b');
  });

  it("grants roles of a namespace's RoleMapping only for that namespace's policies", async () => {
    expect(await asUser(tenants, `https://${bHost}/`, 'bob')).toBe(200);
    // olivia holds b-staff through tenant-a's mapping: worthless on tenant-b's policy.
    expect(await asUser(tenants, `https://${bHost}/`, 'olivia')).toBe(403);
  });

  it("a decoy Ingress of a class gatehouse does not protect does not make a tenant own B's host", async () => {
    const decoys = [
      ingress('decoy-unserved', 'tenant-a', [bHost], 'no-such-controller'),
      ingress('decoy-other', 'tenant-a', [bHost], 'unprotected'),
    ];
    const closes = accessPolicy(
      'a-decoy',
      'tenant-a',
      [bHost],
      [{ name: 'admin', path: '/admin', deny: true }],
    );
    // B's Ingress goes first (it would own b anyway): here only the class may keep A out.
    await admin.delete(ingress('b', 'tenant-b', [bHost, cHost]));
    try {
      for (const decoy of decoys) await admin.apply(decoy);
      await admin.apply(closes);
      await eventually(
        'a-decoy is refused: no route of tenant-a that gatehouse protects declares the host',
        async () => readyCondition(await admin.get(closes))?.reason === 'HostNotOwned',
        10_000,
        100,
      );
      // noMatch: allow; had a decoy counted, A's Deny would answer 403.
      expect(await nginxStatus(tenants, `https://${bHost}/admin`)).toBe(200);
    } finally {
      for (const decoy of decoys) await admin.delete(decoy);
      await admin.delete(closes);
      await admin.apply(ingress('b', 'tenant-b', [bHost, cHost]));
    }
    await eventually(
      "B's policy is back",
      async () => (await nginxStatus(tenants, `https://${bHost}/`)) === 401,
    );
  });

  it("a later Ingress of the same shape as B's does not take B's host", async () => {
    const copy = ingress('b-copy', 'tenant-a', [bHost, cHost]);
    const opensAdmin = accessPolicy(
      'a-opens-admin',
      'tenant-a',
      [bHost],
      [{ name: 'admin', path: '/admin' }],
    );
    // creationTimestamp has whole seconds, and a tie goes to the namespace name (tenant-a):
    // make sure the copy is really later than B's Ingress.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await admin.apply(copy);
    await admin.apply(opensAdmin);
    try {
      await eventually(
        'a-opens-admin is refused',
        async () =>
          readyCondition(await admin.get(opensAdmin))?.reason === 'HostOwnedByAnotherNamespace',
        10_000,
        100,
      );
      expect(await nginxStatus(tenants, `https://${bHost}/admin`)).toBe(401);
      // Nor can it close c (B's, governed by no policy of B): a-closes stays out.
      expect(await nginxStatus(tenants, `https://${cHost}/`)).toBe(200);
      expect(
        metricValue(await scrape(tenants.opsUrl('/metrics')), 'gatehouse_host_ownership_conflicts'),
      ).toBeGreaterThanOrEqual(2);
    } finally {
      await admin.delete(copy);
      await admin.delete(opensAdmin);
    }
  });

  it('two namespaces racing for a host: the earliest route owns it, the same on every replica', async () => {
    const raceHost = 'race.tenancy.test';
    const spaces = ['race-1', 'race-2'];
    for (const namespace of spaces) await admin.namespace(namespace);
    for (const namespace of spaces) {
      await admin.apply(
        accessPolicy(
          namespace,
          namespace,
          [raceHost],
          [{ name: 'mine', path: `/${namespace}`, exact: true, deny: true }],
        ),
      );
    }
    const created = await Promise.all(
      spaces.map((namespace) => admin.apply(ingress('race', namespace, [raceHost]))),
    );
    const [winner, loser] = created
      .map((object) => ({
        namespace: String(object.metadata?.namespace),
        created: Date.parse(String(object.metadata?.creationTimestamp)),
      }))
      .sort((a, b) => a.created - b.created || (a.namespace < b.namespace ? -1 : 1))
      .map((entry) => entry.namespace) as [string, string];
    const second = await startKubeGatehouse(cluster, {
      configYaml:
        'authz:\n  noMatch: allow\npolicy:\n  kubernetes:\n    ingressClassNames: [nginx]\n',
      env: { GATEHOUSE_POLICY__KUBERNETES__STATUS_WRITER: 'false' },
    });
    try {
      await eventually('synced', async () => (await readyzStatus(second)) === 200, 10_000);
      for (const gatehouse of [tenants, second]) {
        await eventually(
          `the owner's policy applies`,
          async () => (await nginxStatus(gatehouse, `https://${raceHost}/${winner}`)) === 403,
        );
        expect(await nginxStatus(gatehouse, `https://${raceHost}/${loser}`)).toBe(200);
      }
      const loserPolicy = accessPolicy(loser, loser, [raceHost], []);
      await eventually(
        "the other's policy says who owns the host",
        async () =>
          readyCondition(await admin.get(loserPolicy))?.reason === 'HostOwnedByAnotherNamespace',
        10_000,
        100,
      );
      expect(String(readyCondition(await admin.get(loserPolicy))?.message)).toContain(
        `owned by namespace ${winner}`,
      );

      // The owner's Ingress is deleted: ownership moves to the other namespace.
      await admin.delete(ingress('race', winner, []));
      for (const gatehouse of [tenants, second]) {
        await eventually(
          'ownership moves to the other namespace',
          async () => (await nginxStatus(gatehouse, `https://${raceHost}/${loser}`)) === 403,
        );
        expect(await nginxStatus(gatehouse, `https://${raceHost}/${winner}`)).toBe(200);
      }
    } finally {
      await second.close();
    }
  }, 60_000);

  it('a HostDelegation hands a path prefix of a host to a namespace that does not own it', async () => {
    const api = accessPolicy('a-api', 'tenant-a', [bHost], [{ name: 'api', path: '/api' }]);
    const delegation = hostDelegation('b-api-to-a', bHost, ['tenant-a'], '/api');
    await admin.apply(api);
    try {
      await eventually(
        'refused without a delegation',
        async () => readyCondition(await admin.get(api))?.reason === 'HostOwnedByAnotherNamespace',
        10_000,
        100,
      );
      expect(await nginxStatus(tenants, `https://${bHost}/api/orders`)).toBe(401);

      await admin.apply(delegation);
      await eventually(
        "A's /api rule applies on B's host",
        async () => (await nginxStatus(tenants, `https://${bHost}/api/orders`)) === 200,
        10_000,
        100,
      );
      // B keeps the rest of its host; a-opens (rules over "/") stays out of it.
      expect(await nginxStatus(tenants, `https://${bHost}/`)).toBe(401);
      expect(await nginxStatus(tenants, `https://${bHost}/a-only`)).toBe(401);
      await eventually(
        'statuses follow',
        async () =>
          readyCondition(await admin.get(api))?.status === 'True' &&
          readyCondition(await admin.get(aOpens))?.reason === 'OutsideDelegatedPath' &&
          readyCondition(await admin.get(delegation))?.status === 'True',
        10_000,
        100,
      );
      expect(String(readyCondition(await admin.get(aOpens))?.message)).toContain('everything (/)');
    } finally {
      await admin.delete(delegation);
      await admin.delete(api);
    }
  });

  it("a ClusterAccessPolicy guardrail Deny beats a tenant's catch-all on its exact host, even in Audit mode", async () => {
    // a-opens lets everyone into all of a.tenancy.test ("/", guest, on its exact host).
    expect(await nginxStatus(tenants, `https://${aHost}/admin/users`)).toBe(200);
    const guardrail: KubeObject = {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ClusterAccessPolicy',
      metadata: { name: 'platform-guardrails' },
      spec: {
        hosts: ['*.tenancy.test'],
        mode: 'Audit',
        rules: [
          {
            name: 'no-admin',
            enforcement: 'Guardrail',
            match: [{ path: { type: 'PathPrefix', value: '/admin' } }],
            action: 'Deny',
          },
          {
            name: 'reports-staff',
            enforcement: 'Guardrail',
            match: [{ path: { type: 'PathPrefix', value: '/reports' } }],
            roles: ['reports'],
          },
        ],
      },
    };
    await admin.apply(guardrail);
    await admin.apply(roleMapping('reports', null, ['reports'], ['rita']));
    // A tenant's own mapping never meets a guardrail.
    await admin.apply(roleMapping('a-reports', 'tenant-a', ['reports'], ['olivia']));
    try {
      await eventually(
        'the guardrail applies',
        async () => (await nginxStatus(tenants, `https://${aHost}/admin/users`)) === 403,
        10_000,
        100,
      );
      expect(await asUser(tenants, `https://${aHost}/admin`, 'rita')).toBe(403);
      expect(await nginxStatus(tenants, `https://${aHost}/reports`)).toBe(401);
      expect(await asUser(tenants, `https://${aHost}/reports`, 'olivia')).toBe(403);
      expect(await asUser(tenants, `https://${aHost}/reports`, 'rita')).toBe(200);
      expect(await nginxStatus(tenants, `https://${aHost}/other`)).toBe(200);
    } finally {
      await admin.delete(guardrail);
      await admin.delete(roleMapping('reports', null, [], []));
      await admin.delete(roleMapping('a-reports', 'tenant-a', [], []));
    }
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
  it('count for ownership once the Gateway API is installed and a protected Gateway accepted them, without a restart', async () => {
    const routeHost = 'r.tenancy.test';
    await admin.namespace('tenant-r');
    await admin.apply(
      accessPolicy('r-closed', 'tenant-r', [routeHost], [{ name: 'all', path: '/', deny: true }]),
    );
    // A replica that looks for the Gateway API every second (resyncPeriod).
    const watching = await startKubeGatehouse(cluster, {
      configYaml:
        'authz:\n  noMatch: allow\npolicy:\n  kubernetes:\n    gateways: [gateways/public]\n',
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
      const route = httpRoute('r', 'tenant-r', [routeHost]);
      await admin.apply(route);
      // Attached to no Gateway (no status): nothing routes, nothing is owned.
      await eventually('the route is seen', async () => (await readyzStatus(watching)) === 200);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(await nginxStatus(watching, `https://${routeHost}/`)).toBe(200);
      // Accepted by a Gateway gatehouse does not protect: still nothing.
      await admin.setStatus(route, acceptedBy('gateways/internal'));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await nginxStatus(watching, `https://${routeHost}/`)).toBe(200);
      await admin.setStatus(route, acceptedBy('gateways/public'));
      await eventually(
        'accepted by the protected Gateway, the route makes tenant-r own its host',
        async () => (await nginxStatus(watching, `https://${routeHost}/`)) === 403,
        15_000,
        100,
      );
    } finally {
      await watching.close();
    }
  }, 60_000);
});
