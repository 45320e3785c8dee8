/**
 * An API outage never changes decisions (docs/architecture.md "Shape": a source that fails keeps the last
 * good snapshot) and never fails readiness of a replica that had synced; when the API server is
 * back the watches resume, and changes made meanwhile apply.
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
  nginxStatus,
  readyzStatus,
  startKubeGatehouse,
  startPolicyCluster,
} from './kube-harness.ts';

const host = 'shop.outage.test';
const url = (path: string): string => `https://${host}${path}`;

let cluster: KubeTestCluster;
let admin: KubeAdmin;
let gatehouse: TestGatehouse;

beforeAll(async () => {
  cluster = await startPolicyCluster();
  admin = new KubeAdmin(cluster.kubeconfigPath);
  await admin.namespace('shop');
  await admin.namespace('gatehouse');
  await admin.apply(ingress('shop', 'shop', [host]));
  await admin.apply(
    accessPolicy(
      'shop',
      'shop',
      [host],
      [
        { name: 'public', path: '/public' },
        { name: 'app', path: '/', roles: ['authenticated'] },
      ],
    ),
  );
  gatehouse = await startKubeGatehouse(cluster);
  await eventually('synced', async () => (await readyzStatus(gatehouse)) === 200, 10_000);
}, clusterHookTimeoutMs);

afterAll(async () => {
  await gatehouse.close();
  await cluster.stop();
});

/** Polls the decisions and readiness until `outage` settles; returns what was answered. */
async function decisionsDuring(outage: Promise<void>): Promise<Set<string>> {
  const answers = new Set<string>();
  // An object: the flag is set from a callback that narrowing cannot follow.
  const state = { done: false };
  const finished = outage.finally(() => {
    state.done = true;
  });
  while (!state.done) {
    const [publicStatus, appStatus, ready] = await Promise.all([
      nginxStatus(gatehouse, url('/public/logo.png')),
      nginxStatus(gatehouse, url('/orders')),
      readyzStatus(gatehouse),
    ]);
    answers.add(`public=${String(publicStatus)} app=${String(appStatus)} ready=${String(ready)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await finished;
  return answers;
}

async function watchErrors(): Promise<number> {
  const text = await scrape(gatehouse.opsUrl('/metrics'));
  return metricValue(text, 'gatehouse_kubernetes_watch_errors_total', {
    resource: 'accesspolicies',
    kind: 'error',
  });
}

it('keeps deciding from the last snapshot while the API server and etcd restart, then catches up', async () => {
  const errorsBefore = await watchErrors();
  const answers = await decisionsDuring(cluster.restart());
  // Unchanged all along: no 5xx, no flip, still ready.
  expect([...answers]).toEqual(['public=200 app=401 ready=200']);

  // Changed right after the API server came back, before (or while) gatehouse reconnects.
  await admin.apply(accessPolicy('sale', 'shop', [host], [{ name: 'sale', path: '/sale' }]));
  await eventually(
    'the change made after the restart applies',
    async () => (await nginxStatus(gatehouse, url('/sale'))) === 200,
    35_000,
    200,
  );
  expect(await watchErrors()).toBeGreaterThan(errorsBefore);
  expect(await nginxStatus(gatehouse, url('/orders'))).toBe(401);
}, 60_000);

it('resumes a watch cut mid-stream when the API server alone goes away and comes back', async () => {
  const answers = await decisionsDuring(
    (async () => {
      await cluster.stopApiServerOnly();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await cluster.startApiServerOnly();
    })(),
  );
  expect([...answers]).toEqual(['public=200 app=401 ready=200']);

  await admin.delete(accessPolicy('sale', 'shop', [host], []));
  await admin.apply(
    accessPolicy(
      'shop',
      'shop',
      [host],
      [
        { name: 'public', path: '/public' },
        { name: 'orders', path: '/orders' },
        { name: 'app', path: '/', roles: ['authenticated'] },
      ],
    ),
  );
  await eventually(
    'changes after the cut apply',
    async () =>
      (await nginxStatus(gatehouse, url('/orders'))) === 200 &&
      (await nginxStatus(gatehouse, url('/sale'))) === 401,
    35_000,
    200,
  );
}, 60_000);
