/**
 * Policy follows the custom resources in a real cluster: an AccessPolicy applied, changed and
 * deleted with the API shows in decisions within 2 seconds, and a replica is not ready until it
 * has listed every watched resource once (so it never answers from a partial view).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const host = 'shop.sync.test';
const url = (path: string): string => `https://${host}${path}`;

let cluster: KubeTestCluster;
let admin: KubeAdmin;
let gatehouse: TestGatehouse | undefined;

beforeAll(async () => {
  cluster = await startPolicyCluster();
  admin = new KubeAdmin(cluster.kubeconfigPath);
  await admin.namespace('shop');
  await admin.namespace('gatehouse');
  await admin.apply(ingress('shop', 'shop', [host]));
}, clusterHookTimeoutMs);

afterAll(async () => {
  await gatehouse?.close();
  await cluster.stop();
});

describe('readiness', () => {
  it('is not ready before the first full sync, and ready once the API server answers', async () => {
    await admin.apply(accessPolicy('shop', 'shop', [host], [{ name: 'public', path: '/public' }]));
    await cluster.stopApiServerOnly();
    try {
      gatehouse = await startKubeGatehouse(cluster);
      expect(gatehouse.gatehouse.policy.ready()).toBe(false);
      expect(await readyzStatus(gatehouse)).toBe(503);
      // No snapshot: checks fail closed rather than guessing.
      expect(await nginxStatus(gatehouse, url('/public'))).toBeGreaterThanOrEqual(500);
    } finally {
      await cluster.startApiServerOnly();
    }
    const running = gatehouse;
    await eventually(
      'ready after the API server came back',
      async () => (await readyzStatus(running)) === 200,
      40_000,
      200,
    );
    expect(await nginxStatus(running, url('/public'))).toBe(200);
  }, 90_000);
});

describe('sync', () => {
  it('applies a created, changed and deleted AccessPolicy within 2 seconds each', async () => {
    const running = gatehouse;
    if (running === undefined) throw new Error('gatehouse did not start');
    // Created.
    await admin.apply(
      accessPolicy('catalogue', 'shop', [host], [{ name: 'catalogue', path: '/catalogue' }]),
    );
    await eventually(
      'created policy allows /catalogue',
      async () => (await nginxStatus(running, url('/catalogue'))) === 200,
    );

    // Changed: the path requires a signed-in user now.
    await admin.apply(
      accessPolicy(
        'catalogue',
        'shop',
        [host],
        [{ name: 'catalogue', path: '/catalogue', roles: ['authenticated'] }],
      ),
    );
    await eventually(
      'changed policy asks to sign in',
      async () => (await nginxStatus(running, url('/catalogue'))) === 401,
    );

    // Deleted: no rule matches any more, so the default (deny) answers.
    await admin.delete(accessPolicy('catalogue', 'shop', [host], []));
    await eventually(
      'deleted policy no longer matches',
      async () => (await nginxStatus(running, url('/catalogue'))) === 403,
    );
    // The other policy was never disturbed.
    expect(await nginxStatus(running, url('/public'))).toBe(200);
  });

  it('builds once for a burst of changes and counts the reloads', async () => {
    const running = gatehouse;
    if (running === undefined) throw new Error('gatehouse did not start');
    const seen: string[] = [];
    const unsubscribe = running.gatehouse.policy.onChange((_snapshot, event) => {
      seen.push(event.version);
    });
    try {
      await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          admin.apply(
            accessPolicy(
              `burst-${String(index)}`,
              'shop',
              [host],
              [{ name: 'page', path: `/burst/${String(index)}` }],
            ),
          ),
        ),
      );
      await eventually(
        'every burst policy applies',
        async () =>
          (await nginxStatus(running, url('/burst/9'))) === 200 &&
          (await nginxStatus(running, url('/burst/0'))) === 200,
      );
      // Debounced: far fewer snapshots than events.
      expect(seen.length).toBeLessThan(10);
    } finally {
      unsubscribe();
    }
  });
});
