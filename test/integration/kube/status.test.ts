/**
 * What gatehouse reports on the objects (docs/architecture.md "Custom resources"): an object the API server
 * accepts but gatehouse refuses gets Ready=False with the field and the fix, and a Warning
 * Event, while every other object keeps working; valid objects get Ready=True, the observed
 * generation and the counts `kubectl get` shows. Writes happen only when something changed.
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
  objectPath,
  readyCondition,
  roleMapping,
  startKubeGatehouse,
  startPolicyCluster,
} from './kube-harness.ts';
import type { KubeObject } from './kube-harness.ts';

const shopHost = 'shop.status.test';
const platformHost = 'platform.status.test';

let cluster: KubeTestCluster;
let admin: KubeAdmin;
let gatehouse: TestGatehouse;

const shop = accessPolicy(
  'shop',
  'shop',
  [shopHost],
  [
    { name: 'public', path: '/public' },
    { name: 'app', path: '/', roles: ['authenticated'] },
  ],
);
/** Accepted by the CRD schema (a path starting with "/"), refused by gatehouse: requests are
 * normalised before matching, so `/api//v1` could never match anything. */
const broken = accessPolicy(
  'broken',
  'shop',
  [shopHost],
  [{ name: 'api', path: '/api//v1', exact: true }],
);
const platform = accessPolicy('platform', null, [platformHost], [{ name: 'all', path: '/' }]);
const admins = roleMapping(
  'admins',
  'shop',
  ['shop-admin'],
  ['alice@example.com', 'bob@example.com'],
);
const operators = roleMapping('operators', null, ['operator'], ['carol@example.com']);

beforeAll(async () => {
  cluster = await startPolicyCluster();
  admin = new KubeAdmin(cluster.kubeconfigPath);
  await admin.namespace('shop');
  await admin.namespace('gatehouse');
  await admin.apply(ingress('shop', 'shop', [shopHost]));
  for (const object of [shop, broken, platform, admins, operators]) await admin.apply(object);
  gatehouse = await startKubeGatehouse(cluster);
}, clusterHookTimeoutMs);

afterAll(async () => {
  await gatehouse.close();
  await cluster.stop();
});

async function readyOf(object: KubeObject): Promise<Record<string, unknown> | undefined> {
  return readyCondition(await admin.get(object));
}

async function statusWrites(): Promise<number> {
  const text = await scrape(gatehouse.opsUrl('/metrics'));
  return ['AccessPolicy', 'ClusterAccessPolicy', 'RoleMapping', 'ClusterRoleMapping']
    .map((kind) =>
      metricValue(text, 'gatehouse_kubernetes_status_writes_total', { kind, result: 'success' }),
    )
    .reduce((a, b) => a + b, 0);
}

it('marks the invalid object Ready=False with the field and the fix, and keeps the rest working', async () => {
  await eventually(
    'the invalid object reports Ready=False',
    async () => (await readyOf(broken))?.status === 'False',
    10_000,
    100,
  );
  const condition = await readyOf(broken);
  expect(condition).toMatchObject({ reason: 'Invalid', observedGeneration: 1 });
  expect(condition?.message).toContain('spec.rules[0].match[0].path.value');
  expect(condition?.message).toContain('"/api/v1"');

  // Left out, while the valid policies of the same namespace and host apply.
  expect(await nginxStatus(gatehouse, `https://${shopHost}/public/logo.png`)).toBe(200);
  expect(await nginxStatus(gatehouse, `https://${shopHost}/orders`)).toBe(401);
  expect(await nginxStatus(gatehouse, `https://${platformHost}/`)).toBe(200);
});

it('marks valid objects Ready=True with the observed generation and the counts', async () => {
  for (const object of [shop, platform, admins, operators]) {
    await eventually(
      `${String(object.kind)} is Ready`,
      async () => (await readyOf(object))?.status === 'True',
      10_000,
      100,
    );
    const stored = await admin.get(object);
    const generation = stored.metadata?.generation;
    expect(stored.status?.observedGeneration).toBe(generation);
    expect(readyCondition(stored)).toMatchObject({
      reason: 'Accepted',
      observedGeneration: generation,
    });
    expect(typeof readyCondition(stored)?.lastTransitionTime).toBe('string');
  }
  expect((await admin.get(shop)).status).toMatchObject({ ruleCount: 2, mode: 'Enforce' });
  expect((await admin.get(platform)).status).toMatchObject({ ruleCount: 1 });
  expect((await admin.get(admins)).status).toMatchObject({ subjectCount: 2 });
  expect((await admin.get(operators)).status).toMatchObject({ subjectCount: 1 });

  // What `kubectl get accesspolicies` prints (the CRD's printer columns read the status).
  const tableResponse = await fetchTable(objectPath(shop).replace(/\/shop$/, ''));
  const columns = tableResponse.columnDefinitions.map((column) => column.name);
  const row = tableResponse.rows.find((candidate) => candidate.cells[0] === 'shop');
  expect(row?.cells[columns.indexOf('Rules')]).toBe(2);
  expect(row?.cells[columns.indexOf('Ready')]).toBe('True');
});

interface Table {
  columnDefinitions: { name: string }[];
  rows: { cells: unknown[] }[];
}

async function fetchTable(path: string): Promise<Table> {
  const response = await admin.request(
    'GET',
    `${path}?includeObject=None`,
    undefined,
    'application/json',
    'application/json;as=Table;v=v1;g=meta.k8s.io',
  );
  return response.body as Table;
}

it('records one Warning Event for the rejected object', async () => {
  const find = async (): Promise<KubeObject[]> =>
    (await admin.list('/apis/events.k8s.io/v1/namespaces/shop/events')).filter(
      (event) =>
        (event.regarding as { name?: string } | undefined)?.name === 'broken' &&
        event.type === 'Warning',
    );
  await eventually('a Warning Event exists', async () => (await find()).length > 0, 10_000, 100);
  const [event] = await find();
  expect(event).toMatchObject({
    reason: 'Invalid',
    reportingController: 'gatehouse.dev/gatehouse',
    regarding: { kind: 'AccessPolicy', namespace: 'shop', name: 'broken' },
  });
  expect(String(event?.note)).toContain('spec.rules[0].match[0].path.value');
  // Rebuilds caused by other changes do not repeat it.
  await admin.apply(accessPolicy('other', 'shop', [shopHost], [{ name: 'x', path: '/x' }]));
  await eventually(
    'the other policy applies',
    async () => (await nginxStatus(gatehouse, `https://${shopHost}/x`)) === 200,
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await find()).toHaveLength(1);
});

it('follows a new generation and writes nothing while nothing changes', async () => {
  await admin.apply(
    accessPolicy(
      'shop',
      'shop',
      [shopHost],
      [
        { name: 'public', path: '/public' },
        { name: 'help', path: '/help' },
        { name: 'app', path: '/', roles: ['authenticated'] },
      ],
    ),
  );
  await eventually(
    'observedGeneration follows',
    async () => {
      const stored = await admin.get(shop);
      return stored.status?.observedGeneration === 2 && stored.status.ruleCount === 3;
    },
    10_000,
    100,
  );

  // Fixed: the broken object becomes Ready and applies.
  await admin.apply(
    accessPolicy('broken', 'shop', [shopHost], [{ name: 'api', path: '/api/v1', exact: true }]),
  );
  await eventually(
    'the fixed object is Ready',
    async () => (await readyOf(broken))?.status === 'True',
    10_000,
    100,
  );
  expect(await nginxStatus(gatehouse, `https://${shopHost}/api/v1`)).toBe(200);

  // Settled: a quiet second later, no write happened.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = await statusWrites();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(await statusWrites()).toBe(before);
});
