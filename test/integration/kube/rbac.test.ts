/**
 * The RBAC single source (charts/gatehouse/files/rbac-rules.yaml) on a real API server: bound to
 * gatehouse's ServiceAccount exactly as the chart binds it, it allows everything gatehouse does
 * and nothing else (least privilege: no secrets, no writes to a policy's spec, no deletes).
 */
// client-node's generated models are classes with only public data fields; its documented usage
// (and the API server) take plain object literals.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment */
import {
  ApiException,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../../fixtures/kube/kube-apiserver.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import { installCrds } from './crd-install.ts';
import { loadRbacRules } from './rbac.ts';

const skip = process.env.GATEHOUSE_SKIP_KUBE === '1';
const group = 'gatehouse.dev';
const version = 'v1alpha1';
const namespace = 'gatehouse';
const serviceAccount = 'gatehouse';

/** The kinds with a namespace where their test object lives (undefined: cluster-scoped). */
const kinds = [
  { kind: 'AccessPolicy', plural: 'accesspolicies', namespace: 'shop' },
  { kind: 'ClusterAccessPolicy', plural: 'clusteraccesspolicies', namespace: undefined },
  { kind: 'RoleMapping', plural: 'rolemappings', namespace: 'shop' },
  { kind: 'ClusterRoleMapping', plural: 'clusterrolemappings', namespace: undefined },
] as const;

const policySpec = {
  hosts: ['shop.example.com'],
  rules: [
    {
      name: 'app',
      match: [{ path: { type: 'PathPrefix', value: '/' } }],
      roles: ['authenticated'],
    },
  ],
};
const mappingSpec = { roles: ['shop-admin'], subjects: [{ kind: 'Group', name: 'ops' }] };

async function statusOf(call: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    if (error instanceof ApiException) return (error as ApiException<unknown>).code;
    throw error;
  }
}

function kubeConfigFrom(path: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(path);
  return config;
}

describe.skipIf(skip)('gatehouse RBAC rules on a real API server', { timeout: 60_000 }, () => {
  let cluster: KubeTestCluster;
  let admin: KubeConfig;
  let gatehouse: KubeConfig;

  /** Runs one client-node call per kind: get/list/patch on the kind's test object. */
  const objectOf = (entry: (typeof kinds)[number]) => ({
    group,
    version,
    plural: entry.plural,
    name: 'test',
  });

  beforeAll(async () => {
    cluster = await startKubeApiServer();
    admin = kubeConfigFrom(cluster.kubeconfigPath);
    await installCrds(cluster.kubeconfigPath);
    const core = admin.makeApiClient(CoreV1Api);
    for (const name of [namespace, 'shop', 'elsewhere']) {
      await core.createNamespace({ body: { metadata: { name } } });
    }

    // Bind the rules the way the chart does: ClusterRole + ClusterRoleBinding, Role + RoleBinding.
    const { clusterRules, namespaceRules } = await loadRbacRules();
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const subjects = [{ kind: 'ServiceAccount', name: serviceAccount, namespace }];
    const roleRef = (kind: string) => ({
      apiGroup: 'rbac.authorization.k8s.io',
      kind,
      name: 'gatehouse',
    });
    await rbac.createClusterRole({
      body: { metadata: { name: 'gatehouse' }, rules: clusterRules },
    });
    await rbac.createClusterRoleBinding({
      body: { metadata: { name: 'gatehouse' }, roleRef: roleRef('ClusterRole'), subjects },
    });
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: 'gatehouse' }, rules: namespaceRules },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: { metadata: { name: 'gatehouse' }, roleRef: roleRef('Role'), subjects },
    });

    const custom = admin.makeApiClient(CustomObjectsApi);
    for (const entry of kinds) {
      const body = {
        apiVersion: `${group}/${version}`,
        kind: entry.kind,
        metadata: { name: 'test' },
        spec: entry.plural.endsWith('policies') ? policySpec : mappingSpec,
      };
      if (entry.namespace === undefined) {
        await custom.createClusterCustomObject({ group, version, plural: entry.plural, body });
      } else {
        await custom.createNamespacedCustomObject({
          group,
          version,
          plural: entry.plural,
          namespace: entry.namespace,
          body,
        });
      }
    }

    // A token for the ServiceAccount's user name, as the API server sees a projected token.
    gatehouse = kubeConfigFrom(
      await cluster.writeKubeconfig(
        cluster.userToken(`system:serviceaccount:${namespace}:${serviceAccount}`, [
          'system:serviceaccounts',
        ]),
        'gatehouse',
      ),
    );
    // The RBAC authorizer reads from an informer cache: wait until it knows the bindings.
    const leases = gatehouse.makeApiClient(CoordinationV1Api);
    const deadline = Date.now() + 30_000;
    const policies = gatehouse.makeApiClient(CustomObjectsApi);
    while (
      (await statusOf(
        policies.listClusterCustomObject({ group, version, plural: 'clusterrolemappings' }),
      )) !== 'ok' ||
      (await statusOf(leases.readNamespacedLease({ namespace, name: 'absent' }))) !== 404
    ) {
      if (Date.now() > deadline) throw new Error('RBAC bindings not effective after 30 s');
      await sleep(200);
    }
  }, 10 * 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('grants no wildcard verb, resource or API group', async () => {
    const { clusterRules, namespaceRules } = await loadRbacRules();
    for (const rule of [...clusterRules, ...namespaceRules]) {
      for (const value of [...rule.verbs, ...(rule.resources ?? []), ...(rule.apiGroups ?? [])]) {
        expect(value).not.toContain('*');
      }
    }
  });

  it('lists and reads the four policy kinds', async () => {
    const custom = gatehouse.makeApiClient(CustomObjectsApi);
    for (const entry of kinds) {
      const list =
        entry.namespace === undefined
          ? custom.listClusterCustomObject({ group, version, plural: entry.plural })
          : custom.listCustomObjectForAllNamespaces({ group, version, plural: entry.plural });
      expect(await statusOf(list), entry.kind).toBe('ok');
      const get =
        entry.namespace === undefined
          ? custom.getClusterCustomObject(objectOf(entry))
          : custom.getNamespacedCustomObject({ ...objectOf(entry), namespace: entry.namespace });
      expect(await statusOf(get), entry.kind).toBe('ok');
    }
  });

  it('may watch what its informers watch', async () => {
    const reviews = gatehouse.makeApiClient(AuthorizationV1Api);
    const allowed = async (resourceGroup: string, resource: string): Promise<boolean | undefined> =>
      (
        await reviews.createSelfSubjectAccessReview({
          body: { spec: { resourceAttributes: { group: resourceGroup, resource, verb: 'watch' } } },
        })
      ).status?.allowed;
    for (const entry of kinds) expect(await allowed(group, entry.plural), entry.plural).toBe(true);
    expect(await allowed('networking.k8s.io', 'ingresses')).toBe(true);
    expect(await allowed('networking.k8s.io', 'ingressclasses')).toBe(true);
    expect(await allowed(group, 'hostdelegations')).toBe(true);
    // Gateway API is not installed here: the review asks the authorizer, not the resource.
    expect(await allowed('gateway.networking.k8s.io', 'httproutes')).toBe(true);
  });

  it('patches the status of every kind through the status subresource', async () => {
    const custom = gatehouse.makeApiClient(CustomObjectsApi);
    const body = [
      {
        op: 'add',
        path: '/status',
        value: {
          observedGeneration: 1,
          conditions: [{ type: 'Ready', status: 'True', reason: 'Accepted' }],
        },
      },
    ];
    for (const entry of kinds) {
      const patch =
        entry.namespace === undefined
          ? custom.patchClusterCustomObjectStatus({ ...objectOf(entry), body })
          : custom.patchNamespacedCustomObjectStatus({
              ...objectOf(entry),
              namespace: entry.namespace,
              body,
            });
      expect(await statusOf(patch), entry.kind).toBe('ok');
    }
  });

  it('lists ingresses', async () => {
    expect(
      await statusOf(gatehouse.makeApiClient(NetworkingV1Api).listIngressForAllNamespaces()),
    ).toBe('ok');
  });

  it('creates events through the core and the events.k8s.io APIs', async () => {
    const regarding = {
      apiVersion: `${group}/${version}`,
      kind: 'AccessPolicy',
      name: 'test',
      namespace: 'shop',
    };
    const core = gatehouse.makeApiClient(CoreV1Api);
    const coreEvent = core.createNamespacedEvent({
      namespace: 'shop',
      body: {
        metadata: { generateName: 'test-' },
        involvedObject: regarding,
        reason: 'Rejected',
        message: 'test event',
        type: 'Warning',
        source: { component: 'gatehouse' },
      },
    });
    expect(await statusOf(coreEvent)).toBe('ok');
    // The generic client sends the body untouched (eventTime is a MicroTime string).
    const events = gatehouse.makeApiClient(CustomObjectsApi);
    const newEvent = events.createNamespacedCustomObject({
      group: 'events.k8s.io',
      version: 'v1',
      namespace: 'shop',
      plural: 'events',
      body: {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { generateName: 'test-' },
        eventTime: '2025-01-01T00:00:00.000000Z',
        reportingController: 'gatehouse.dev/gatehouse',
        reportingInstance: 'gatehouse-0',
        action: 'Validate',
        reason: 'Rejected',
        regarding,
        note: 'test event',
        type: 'Warning',
      },
    });
    expect(await statusOf(newEvent)).toBe('ok');
  });

  it('gets, creates and updates its leader-election Lease in its own namespace only', async () => {
    const leases = gatehouse.makeApiClient(CoordinationV1Api);
    const lease = {
      metadata: { name: 'gatehouse-leader' },
      spec: { holderIdentity: 'gatehouse-0', leaseDurationSeconds: 15 },
    };
    expect(await statusOf(leases.createNamespacedLease({ namespace, body: lease }))).toBe('ok');
    const current = await leases.readNamespacedLease({ namespace, name: 'gatehouse-leader' });
    current.spec = { holderIdentity: 'gatehouse-1', leaseDurationSeconds: 15 };
    expect(
      await statusOf(
        leases.replaceNamespacedLease({ namespace, name: 'gatehouse-leader', body: current }),
      ),
    ).toBe('ok');
    expect(
      await statusOf(leases.createNamespacedLease({ namespace: 'elsewhere', body: lease })),
    ).toBe(403);
    expect(
      await statusOf(leases.deleteNamespacedLease({ namespace, name: 'gatehouse-leader' })),
    ).toBe(403);
  });

  it('can not read secrets, anywhere', async () => {
    const core = gatehouse.makeApiClient(CoreV1Api);
    expect(await statusOf(core.listNamespacedSecret({ namespace }))).toBe(403);
    expect(await statusOf(core.listSecretForAllNamespaces())).toBe(403);
    expect(await statusOf(core.readNamespacedSecret({ namespace, name: 'anything' }))).toBe(403);
  });

  it('can not create, delete or change the spec of a policy', async () => {
    const custom = gatehouse.makeApiClient(CustomObjectsApi);
    const shopPolicy = { ...objectOf(kinds[0]), namespace: 'shop' };
    expect(
      await statusOf(
        custom.patchNamespacedCustomObject({
          ...shopPolicy,
          body: [{ op: 'replace', path: '/spec/hosts', value: ['evil.example.com'] }],
        }),
      ),
    ).toBe(403);
    expect(await statusOf(custom.deleteNamespacedCustomObject(shopPolicy))).toBe(403);
    expect(await statusOf(custom.deleteClusterCustomObject(objectOf(kinds[1])))).toBe(403);
    expect(
      await statusOf(
        custom.createNamespacedCustomObject({
          group,
          version,
          namespace: 'shop',
          plural: 'accesspolicies',
          body: {
            apiVersion: `${group}/${version}`,
            kind: 'AccessPolicy',
            metadata: { name: 'opened' },
            spec: policySpec,
          },
        }),
      ),
    ).toBe(403);
  });
});
