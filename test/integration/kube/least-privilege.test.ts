/**
 * gatehouse works with exactly the permissions of the single RBAC source
 * (charts/gatehouse/files/rbac-rules.yaml): bound to a ServiceAccount user, it syncs, writes
 * status, records Events and holds its Lease, and nothing it does is refused.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import {
  KubeAdmin,
  accessPolicy,
  clusterHookTimeoutMs,
  eventually,
  ingress,
  nginxStatus,
  readyCondition,
  readyzStatus,
  roleMapping,
  startKubeGatehouse,
  startPolicyCluster,
} from './kube-harness.ts';
import { loadRbacRules } from './rbac.ts';

const host = 'shop.rbac.test';
const serviceAccount = { namespace: 'gatehouse', name: 'gatehouse' };
const username = `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`;
const identity = 'gatehouse-0';

let cluster: KubeTestCluster;
let admin: KubeAdmin;
let gatehouse: TestGatehouse;

const valid = accessPolicy('shop', 'shop', [host], [{ name: 'public', path: '/public' }]);
const invalid = accessPolicy('broken', 'shop', [host], [{ name: 'dots', path: '/a/../b' }]);
const mapping = roleMapping('operators', null, ['operator'], ['carol@example.com']);

beforeAll(async () => {
  cluster = await startPolicyCluster();
  admin = new KubeAdmin(cluster.kubeconfigPath);
  await admin.namespace('shop');
  await admin.namespace(serviceAccount.namespace);
  const rules = await loadRbacRules();
  const subjects = [{ kind: 'ServiceAccount', ...serviceAccount }];
  await admin.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'gatehouse' },
    rules: rules.clusterRules,
  });
  await admin.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'gatehouse' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'gatehouse' },
    subjects,
  });
  await admin.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'gatehouse', namespace: serviceAccount.namespace },
    rules: rules.namespaceRules,
  });
  await admin.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'gatehouse', namespace: serviceAccount.namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'gatehouse' },
    subjects,
  });
  await admin.apply(ingress('shop', 'shop', [host]));
  for (const object of [valid, invalid, mapping]) await admin.apply(object);

  const token = cluster.userToken(username, [
    'system:serviceaccounts',
    `system:serviceaccounts:${serviceAccount.namespace}`,
    'system:authenticated',
  ]);
  const kubeconfigPath = await cluster.writeKubeconfig(token, 'gatehouse-sa');
  gatehouse = await startKubeGatehouse(cluster, { kubeconfigPath, identity, logLevel: 'warn' });
}, clusterHookTimeoutMs);

afterAll(async () => {
  await gatehouse.close();
  await cluster.stop();
});

it('syncs policy', async () => {
  await eventually('ready', async () => (await readyzStatus(gatehouse)) === 200, 10_000);
  expect(await nginxStatus(gatehouse, `https://${host}/public`)).toBe(200);
});

it('holds the Lease in its own namespace', async () => {
  await eventually(
    'Lease held',
    async () => {
      const lease = await admin.request(
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/${serviceAccount.namespace}/leases/gatehouse-status-writer`,
      );
      return (
        (lease.body as { spec?: { holderIdentity?: string } }).spec?.holderIdentity === identity
      );
    },
    10_000,
    100,
  );
});

it('writes status and records a Warning Event', async () => {
  await eventually(
    'valid objects Ready',
    async () =>
      readyCondition(await admin.get(valid))?.status === 'True' &&
      readyCondition(await admin.get(mapping))?.status === 'True',
    10_000,
    100,
  );
  await eventually(
    'invalid object Ready=False',
    async () => readyCondition(await admin.get(invalid))?.reason === 'Invalid',
    10_000,
    100,
  );
  await eventually(
    'Warning Event recorded',
    async () =>
      (await admin.list('/apis/events.k8s.io/v1/namespaces/shop/events')).some(
        (event) =>
          (event.regarding as { name?: string }).name === 'broken' && event.type === 'Warning',
      ),
    10_000,
    100,
  );
});

it('was refused nothing', () => {
  const refusals = gatehouse.logs
    .text()
    .split('\n')
    .filter((line) => /forbidden|403/i.test(line));
  expect(refusals).toEqual([]);
});
