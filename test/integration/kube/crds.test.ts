/**
 * The generated CRDs on a real kube-apiserver: they install, accept the documented examples,
 * and let the API server reject what the schema and its CEL rules can reject, with messages a
 * user can act on (docs/architecture.md "Custom resources").
 */
// client-node's generated models are classes with only public data fields; its documented usage
// (and the API server) take plain object literals.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment */
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { readFile, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { httpsRequest } from '../../fixtures/gatehouse/http-client.ts';
import { startKubeApiServer } from '../../fixtures/kube/kube-apiserver.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import { customResourceDefinitions } from '../../../src/policy/crd.ts';
import { isResourceKind, kinds } from '../../../src/policy/resources.ts';
import { installCrds } from './crd-install.ts';

const skip = process.env.GATEHOUSE_SKIP_KUBE === '1';
const group = 'gatehouse.dev';
const version = 'v1alpha1';
/** A manifest as written in YAML: plain data, never a client-node model instance. */
interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name?: string; readonly namespace?: string };
  readonly spec?: unknown;
}

/**
 * Creates a gatehouse object through the generic client, which sends the body untouched (the
 * typed clients re-serialise plain objects through their models).
 */
async function create(custom: CustomObjectsApi, object: Manifest): Promise<unknown> {
  const plural = isResourceKind(object.kind)
    ? kinds[object.kind].plural
    : object.kind === 'HostDelegation'
      ? 'hostdelegations'
      : object.kind;
  const namespace = object.metadata.namespace;
  return namespace === undefined
    ? custom.createClusterCustomObject({ group, version, plural, body: object })
    : custom.createNamespacedCustomObject({ group, version, namespace, plural, body: object });
}

/** `a rule with both roles` → `a-rule-with-both-roles`: a valid, readable object name. */
const objectName = (title: string): string =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);

const examplesDir = resolve(import.meta.dirname, '../../../examples/policies');

async function readExamples(): Promise<Manifest[]> {
  const objects: Manifest[] = [];
  for (const file of (await readdir(examplesDir)).filter((name) => name.endsWith('.yaml')).sort()) {
    for (const document of parseAllDocuments(await readFile(resolve(examplesDir, file), 'utf8'))) {
      objects.push(document.toJS() as Manifest);
    }
  }
  return objects;
}

/** The Status message of a refused call; fails the test when the call succeeds. */
async function rejection(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const exception = error as ApiException<unknown>;
    const body: unknown =
      typeof exception.body === 'string' ? JSON.parse(exception.body) : exception.body;
    return { code: exception.code, message: (body as { message?: string }).message ?? '' };
  }
  throw new Error('the API server accepted the object');
}

interface Table {
  columnDefinitions: { name: string }[];
  rows: { cells: unknown[] }[];
}

/** GET as the admin, raw JSON (no client-node model mapping). */
async function getJson<T>(
  cluster: KubeTestCluster,
  path: string,
  accept = 'application/json',
): Promise<T> {
  const { status, body } = await httpsRequest(`${cluster.server}${path}`, {
    ca: cluster.caPem,
    headers: { authorization: `Bearer ${cluster.adminToken}`, accept },
  });
  if (status !== 200) throw new Error(`GET ${path}: ${String(status)} ${body}`);
  return JSON.parse(body) as T;
}

/** `kubectl get`: the server-side table built from additionalPrinterColumns. */
async function getTable(cluster: KubeTestCluster, path: string): Promise<Table> {
  return getJson<Table>(cluster, path, 'application/json;as=Table;v=v1;g=meta.k8s.io');
}

const validPolicy = {
  apiVersion: `${group}/${version}`,
  kind: 'AccessPolicy',
  metadata: { namespace: 'shop' },
  spec: {
    hosts: ['shop.example.com'],
    rules: [
      {
        name: 'app',
        match: [{ path: { type: 'PathPrefix', value: '/' } }],
        roles: ['authenticated'],
      },
    ],
  },
};

const validMapping = {
  apiVersion: `${group}/${version}`,
  kind: 'RoleMapping',
  metadata: { namespace: 'shop' },
  spec: { roles: ['shop-admin'], subjects: [{ kind: 'Group', name: 'shop-operators' }] },
};

type Spec = Record<string, unknown>;
const policyWith = (spec: Spec): Manifest => ({
  ...validPolicy,
  spec: { ...validPolicy.spec, ...spec },
});
const ruleWith = (rule: Spec): Manifest =>
  policyWith({ rules: [{ ...validPolicy.spec.rules[0], ...rule }] });
const matchWith = (match: Spec): Manifest => ruleWith({ match: [match] });
const mappingWith = (spec: Spec): Manifest => ({
  ...validMapping,
  spec: { ...validMapping.spec, ...spec },
});
const path = (value: string, type = 'PathPrefix'): Spec => ({ path: { type, value } });

/** A HostDelegation for shop.example.com with `spec` merged in. */
const delegation = (spec: Record<string, unknown>): Manifest => ({
  apiVersion: `${group}/${version}`,
  kind: 'HostDelegation',
  metadata: { name: `d-${Object.keys(spec).join('-').toLowerCase()}` },
  spec: { host: 'shop.example.com', namespaces: ['api'], ...spec },
});

/** Each case: an object the API server must refuse, and what its message must say. */
const invalidObjects: [string, Manifest, RegExp][] = [
  [
    'a HostDelegation over a whole top-level domain',
    delegation({ host: '*.com' }),
    /a wildcard host must name a domain below a top-level domain/,
  ],
  [
    'a HostDelegation with an unnormalised path prefix',
    delegation({ pathPrefix: '/api//v1' }),
    /pathPrefix must be written in normalised form/,
  ],
  [
    'a rule with both roles and action: Deny',
    ruleWith({ action: 'Deny' }),
    /spec\.rules\[0\]: Invalid value: .*roles and action: Deny are mutually exclusive/,
  ],
  [
    'a rule with neither roles nor action: Deny',
    ruleWith({ roles: undefined, action: 'Allow' }),
    /spec\.rules\[0\]: Invalid value: .*a rule needs roles or action: Deny/,
  ],
  [
    'a step-up rule that admits guest',
    ruleWith({ roles: ['guest'], authentication: { maxAge: '15m' } }),
    /spec\.rules\[0\]: Invalid value: .*the rule cannot admit guest/,
  ],
  [
    'a step-up maxAge that is not a duration in seconds',
    ruleWith({ authentication: { maxAge: '1.5h' } }),
    /spec\.rules\[0\]\.authentication\.maxAge: Invalid value: "1\.5h": .*should match/,
  ],
  [
    'a path not starting with /',
    matchWith(path('api')),
    /spec\.rules\[0\]\.match\[0\]\.path\.value: Invalid value: "api": .*should match '\^\/'/,
  ],
  [
    'a host with upper case',
    policyWith({ hosts: ['Shop.example.com'] }),
    /spec\.hosts\[0\]: Invalid value: "Shop\.example\.com": .*should match/,
  ],
  [
    'a host with an underscore',
    policyWith({ hosts: ['shop_1.example.com'] }),
    /spec\.hosts\[0\]: Invalid value: "shop_1\.example\.com": .*should match/,
  ],
  [
    'a bare "*."',
    policyWith({ hosts: ['*.'] }),
    /spec\.hosts\[0\]: Invalid value: "\*\.": .*should match/,
  ],
  [
    'a wildcard in the middle of a host',
    policyWith({ hosts: ['foo.*.com'] }),
    /spec\.hosts\[0\]: Invalid value: "foo\.\*\.com": .*should match/,
  ],
  [
    'a duplicate host',
    policyWith({ hosts: ['shop.example.com', 'shop.example.com'] }),
    /spec\.hosts\[1\]: Duplicate value: "shop\.example\.com"/,
  ],
  [
    'an unknown method',
    matchWith({ methods: ['FETCH'] }),
    /spec\.rules\[0\]\.match\[0\]\.methods\[0\]: Unsupported value: "FETCH": supported values: "GET", "HEAD"/,
  ],
  [
    'an unknown path type',
    matchWith(path('/api', 'Regex')),
    /spec\.rules\[0\]\.match\[0\]\.path\.type: Unsupported value: "Regex": supported values: "Exact", "PathPrefix"/,
  ],
  [
    'more hosts than maxItems',
    policyWith({ hosts: Array.from({ length: 65 }, (_, i) => `h${i}.example.com`) }),
    /spec\.hosts: Too many: 65: must have at most 64 items/,
  ],
  [
    'an empty rules list',
    policyWith({ rules: [] }),
    /spec\.rules: Invalid value: 0: .*should have at least 1 items/,
  ],
  [
    'two rules with the same name',
    policyWith({ rules: [validPolicy.spec.rules[0], validPolicy.spec.rules[0]] }),
    /spec\.rules\[1\]: Duplicate value: .*"name":"app"/,
  ],
  [
    'mode: Sometimes',
    policyWith({ mode: 'Sometimes' }),
    /spec\.mode: Unsupported value: "Sometimes": supported values: "Enforce", "Audit"/,
  ],
  [
    'a 2000-character path',
    matchWith(path(`/${'a'.repeat(1999)}`)),
    /spec\.rules\[0\]\.match\[0\]\.path\.value: Too long: .*1024/,
  ],
  [
    'a Claim subject without values',
    mappingWith({ subjects: [{ kind: 'Claim', name: 'department' }] }),
    /spec\.subjects\[0\]: Invalid value: .*values is required for kind Claim and not allowed for other kinds/,
  ],
  [
    'values on a Group subject',
    mappingWith({ subjects: [{ kind: 'Group', name: 'ops', values: ['x'] }] }),
    /spec\.subjects\[0\]: Invalid value: .*values is required for kind Claim and not allowed for other kinds/,
  ],
  [
    'an unknown subject kind',
    mappingWith({ subjects: [{ kind: 'Team', name: 'ops' }] }),
    /spec\.subjects\[0\]\.kind: Unsupported value: "Team": supported values: "User", "Group", "EmailDomain", "Claim"/,
  ],
  [
    'a role name with spaces',
    mappingWith({ roles: ['shop admin'] }),
    /spec\.roles\[0\]: Invalid value: "shop admin": .*should match/,
  ],
  ['a mapping without spec', { ...validMapping, spec: undefined }, /spec: Required value/],
];

describe.skipIf(skip)('gatehouse CRDs on a real API server', { timeout: 60_000 }, () => {
  let cluster: KubeTestCluster;
  let custom: CustomObjectsApi;
  let installed: string[];

  beforeAll(async () => {
    cluster = await startKubeApiServer();
    const admin = new KubeConfig();
    admin.loadFromFile(cluster.kubeconfigPath);
    custom = admin.makeApiClient(CustomObjectsApi);
    installed = await installCrds(cluster.kubeconfigPath);
    const core = admin.makeApiClient(CoreV1Api);
    for (const name of ['demo', 'shop'])
      await core.createNamespace({ body: { metadata: { name } } });
  }, 10 * 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it('installs the five CRDs and they become Established (CEL rules within the cost budget)', () => {
    expect(installed).toEqual([
      'accesspolicies.gatehouse.dev',
      'clusteraccesspolicies.gatehouse.dev',
      'rolemappings.gatehouse.dev',
      'clusterrolemappings.gatehouse.dev',
      'hostdelegations.gatehouse.dev',
    ]);
  });

  it('stores every schema exactly as generated: nothing dropped or rewritten', async () => {
    for (const generated of customResourceDefinitions()) {
      const stored = await getJson<{ spec: { versions: unknown[]; names: unknown } }>(
        cluster,
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${generated.metadata.name}`,
      );
      expect(stored.spec.versions).toEqual(generated.spec.versions);
      expect(stored.spec.names).toEqual(generated.spec.names);
    }
  });

  it('accepts every example in examples/policies and defaults mode to Enforce', async () => {
    const examples = await readExamples();
    expect(new Set(examples.map((example) => example.kind))).toEqual(
      new Set(['AccessPolicy', 'ClusterAccessPolicy', 'RoleMapping', 'ClusterRoleMapping']),
    );
    for (const example of examples) await create(custom, example);
    const app = (await custom.getNamespacedCustomObject({
      group,
      version,
      namespace: 'demo',
      plural: 'accesspolicies',
      name: 'app',
    })) as { spec: { mode?: string; rules: unknown[] } };
    expect(app.spec.mode).toBe('Enforce');
    expect(app.spec.rules).toHaveLength(4);
  });

  it.each(invalidObjects)('rejects %s with a clear message', async (name, object, message) => {
    const refused = await rejection(
      create(custom, {
        ...object,
        metadata: {
          ...object.metadata,
          name: objectName(name),
        },
      }),
    );
    expect(refused.code).toBe(422);
    expect(refused.message).toMatch(message);
  });

  it('shows hosts, rule count, mode and readiness in kubectl get, from spec and status', async () => {
    await custom.patchNamespacedCustomObjectStatus({
      group,
      version,
      namespace: 'demo',
      plural: 'accesspolicies',
      name: 'app',
      body: [
        {
          op: 'add',
          path: '/status',
          value: {
            observedGeneration: 1,
            ruleCount: 4,
            mode: 'Enforce',
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Accepted',
                message: '',
                lastTransitionTime: '2025-01-01T00:00:00Z',
                observedGeneration: 1,
              },
            ],
          },
        },
      ],
    });
    const policies = await getTable(
      cluster,
      `/apis/${group}/${version}/namespaces/demo/accesspolicies`,
    );
    expect(policies.columnDefinitions.map((column) => column.name)).toEqual([
      'Name',
      'Hosts',
      'Rules',
      'Mode',
      'Ready',
      'Reason',
      'Owners',
      'Age',
    ]);
    const app = policies.rows.find((row) => row.cells[0] === 'app');
    expect(app?.cells.slice(0, 5)).toEqual(['app', '["app.localhost"]', 4, 'Enforce', 'True']);

    const clusterPolicies = await getTable(
      cluster,
      `/apis/${group}/${version}/clusteraccesspolicies`,
    );
    expect(clusterPolicies.columnDefinitions.map((column) => column.name)).toEqual([
      'Name',
      'Hosts',
      'Rules',
      'Mode',
      'Ready',
      'Reason',
      'Owners',
      'Age',
    ]);

    const delegations = await getTable(cluster, `/apis/${group}/${version}/hostdelegations`);
    expect(delegations.columnDefinitions.map((column) => column.name)).toEqual([
      'Name',
      'Host',
      'Path',
      'Namespaces',
      'Ready',
      'Age',
    ]);

    for (const plural of ['namespaces/demo/rolemappings', 'clusterrolemappings']) {
      const mappings = await getTable(cluster, `/apis/${group}/${version}/${plural}`);
      expect(mappings.columnDefinitions.map((column) => column.name)).toEqual([
        'Name',
        'Roles',
        'Subjects',
        'Ready',
        'Age',
      ]);
    }
  });

  it('rejects a status that breaks the status schema', async () => {
    const refused = await rejection(
      custom.patchNamespacedCustomObjectStatus({
        group,
        version,
        namespace: 'demo',
        plural: 'accesspolicies',
        name: 'app',
        body: [{ op: 'add', path: '/status/ruleCount', value: -1 }],
      }),
    );
    expect(refused.message).toMatch(
      /status\.ruleCount: Invalid value: -1: .*should be greater than or equal to 0/,
    );
  });
});
