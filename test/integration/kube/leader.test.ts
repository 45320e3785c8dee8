/**
 * One writer: of two replicas on the same cluster only the holder of the Lease writes status;
 * when it shuts down (releasing the Lease) the other takes over and writes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metricValue, scrape } from '../../fixtures/gatehouse/metrics-text.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import {
  KubeAdmin,
  accessPolicy,
  clusterHookTimeoutMs,
  eventually,
  ingress,
  readyCondition,
  startKubeGatehouse,
  startPolicyCluster,
} from './kube-harness.ts';
import type { KubeObject } from './kube-harness.ts';

const host = 'shop.leader.test';

let cluster: KubeTestCluster;
let admin: KubeAdmin;
let first: TestGatehouse;
let second: TestGatehouse;

const policy = (name: string): KubeObject =>
  accessPolicy(name, 'shop', [host], [{ name: 'page', path: `/${name}` }]);

beforeAll(async () => {
  cluster = await startPolicyCluster();
  admin = new KubeAdmin(cluster.kubeconfigPath);
  await admin.namespace('shop');
  await admin.namespace('gatehouse');
  await admin.apply(ingress('shop', 'shop', [host]));
  await admin.apply(policy('one'));
  first = await startKubeGatehouse(cluster, { identity: 'gatehouse-a' });
  await eventually('the first replica leads', async () => (await leads(first)) === 1, 10_000, 100);
  second = await startKubeGatehouse(cluster, { identity: 'gatehouse-b' });
}, clusterHookTimeoutMs);

afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
  await cluster.stop();
});

async function leads(gatehouse: TestGatehouse): Promise<number> {
  return metricValue(
    await scrape(gatehouse.opsUrl('/metrics')),
    'gatehouse_kubernetes_status_leader',
  );
}

async function writes(gatehouse: TestGatehouse): Promise<number> {
  return metricValue(
    await scrape(gatehouse.opsUrl('/metrics')),
    'gatehouse_kubernetes_status_writes_total',
    {
      kind: 'AccessPolicy',
      result: 'success',
    },
  );
}

async function holder(): Promise<string | undefined> {
  const lease = await admin.request(
    'GET',
    '/apis/coordination.k8s.io/v1/namespaces/gatehouse/leases/gatehouse-status-writer',
  );
  return (lease.body as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
}

async function isReady(object: KubeObject): Promise<boolean> {
  return readyCondition(await admin.get(object))?.status === 'True';
}

it('lets only the Lease holder write status', async () => {
  await eventually('the first object is Ready', () => isReady(policy('one')), 10_000, 100);
  await admin.apply(policy('two'));
  await eventually('the second object is Ready', () => isReady(policy('two')), 10_000, 100);

  expect(await holder()).toBe('gatehouse-a');
  expect(await leads(first)).toBe(1);
  expect(await leads(second)).toBe(0);
  expect(await writes(first)).toBeGreaterThanOrEqual(2);
  expect(await writes(second)).toBe(0);
});

it('hands over to the other replica when the holder shuts down', async () => {
  const started = performance.now();
  await first.close();
  await eventually(
    'the second replica leads',
    async () => (await leads(second)) === 1,
    20_000,
    100,
  );
  expect(performance.now() - started).toBeLessThan(20_000);
  expect(await holder()).toBe('gatehouse-b');

  await admin.apply(policy('three'));
  await eventually(
    'the new holder writes the new object',
    () => isReady(policy('three')),
    10_000,
    100,
  );
  expect(await writes(second)).toBeGreaterThanOrEqual(1);
}, 40_000);
