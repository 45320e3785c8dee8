/**
 * Issue #19: the match conditions borrowed from Gateway API's HTTPRouteMatch (regular-expression
 * paths, headers, query parameters) and `sourceCIDRs`, checked by a real kube-apiserver through
 * the generated CRDs: what the schema and its CEL rules can refuse never reaches gatehouse, and
 * the messages name the fix. The RE2 syntax check relies on the API server's CEL `matches()`
 * compiling the pattern with Go's regexp (resources.ts pathMatchValidations). The syntax of header
 * and query patterns is beyond the API server's CEL budget: gatehouse refuses those when it loads
 * the policy (Ready=False), which the last test shows.
 */
// client-node's generated models are classes with only public data fields; its documented usage
// (and the API server) take plain object literals.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment */
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../../fixtures/kube/kube-apiserver.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import { installCrds } from '../kube/crd-install.ts';
import { validateResource } from '../../../src/policy/validate.ts';

const skip = process.env.GATEHOUSE_SKIP_KUBE === '1';
const group = 'gatehouse.dev';
const version = 'v1alpha1';
const namespace = 'shop';

function policy(name: string, match: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'AccessPolicy',
    metadata: { name, namespace },
    spec: {
      hosts: ['shop.example.com'],
      rules: [{ name: 'r', match: [match], roles: ['authenticated'] }],
      ...extra,
    },
  };
}

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

const refused: [string, Record<string, unknown>, RegExp][] = [
  [
    'an invalid RE2 path pattern',
    { path: { type: 'RegularExpression', value: '/api/(v1' } },
    /a RegularExpression path must be a valid RE2 regular expression/,
  ],
  [
    'a backreference, which RE2 does not support',
    { path: { type: 'RegularExpression', value: '/(a)\\1' } },
    /a RegularExpression path must be a valid RE2 regular expression/,
  ],
  [
    'a path pattern longer than 1024 characters',
    { path: { type: 'RegularExpression', value: `/${'a'.repeat(1100)}` } },
    /path\.value: Too long: .*1024/,
  ],
  [
    'a header pattern longer than 1024 characters',
    { headers: [{ type: 'RegularExpression', name: 'X-Env', value: 'a'.repeat(2000) }] },
    /a RegularExpression header value must be at most 1024 characters/,
  ],
  [
    'a condition on X-Forwarded-For',
    { headers: [{ name: 'X-Forwarded-For', value: '10.0.0.1' }] },
    /headers must not name Host, Forwarded, X-Forwarded-\*/,
  ],
  [
    'a header name with an underscore',
    { headers: [{ name: 'X_Env', value: 'prod' }] },
    /headers\[0\]\.name: Invalid value: "X_Env": .*should match/,
  ],
  [
    'an Exact header value with a trailing space',
    { headers: [{ name: 'X-Env', value: 'prod ' }] },
    /headers\[0\]\.value: Invalid value: "prod ": .*should match/,
  ],
  [
    'the same query parameter twice',
    {
      queryParams: [
        { name: 'debug', value: '1' },
        { name: 'debug', value: '2' },
      ],
    },
    /queryParams\[1\]: Duplicate value/,
  ],
  [
    'a CIDR with host bits set',
    { sourceCIDRs: ['10.1.2.3/8'] },
    /sourceCIDRs\[0\]: Invalid value: .*must be a CIDR with its host bits zero/,
  ],
  [
    'an address without a prefix length',
    { sourceCIDRs: ['10.1.2.3'] },
    /sourceCIDRs\[0\]: Invalid value: .*must be a CIDR with its host bits zero/,
  ],
];

describe.skipIf(skip)('match conditions on a real API server', { timeout: 60_000 }, () => {
  let cluster: KubeTestCluster;
  let custom: CustomObjectsApi;

  beforeAll(async () => {
    cluster = await startKubeApiServer();
    const admin = new KubeConfig();
    admin.loadFromFile(cluster.kubeconfigPath);
    custom = admin.makeApiClient(CustomObjectsApi);
    await installCrds(cluster.kubeconfigPath);
    await admin
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
  }, 10 * 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  const create = (body: object) =>
    custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'accesspolicies',
      body,
    });

  it('accepts every new condition and fills in Exact as the default type', async () => {
    const match = {
      path: { type: 'RegularExpression', value: '/api/v[0-9]+/(users|groups)/[^/]+' },
      methods: ['GET'],
      headers: [
        { name: 'X-Env', value: 'prod' },
        { type: 'RegularExpression', name: 'User-Agent', value: '(?i).*curl.*' },
      ],
      queryParams: [{ name: 'format', value: 'json' }],
      sourceCIDRs: ['10.0.0.0/8', '2001:db8::/32', '203.0.113.7/32'],
    };
    const created = (await create(policy('every-condition', match, { preflight: 'Allow' }))) as {
      spec: {
        rules: { match: { headers: { type: string }[]; queryParams: { type: string }[] }[] }[];
      };
    };
    const stored = created.spec.rules[0]?.match[0];
    expect(stored?.headers.map((header) => header.type)).toEqual(['Exact', 'RegularExpression']);
    expect(stored?.queryParams[0]?.type).toBe('Exact');
  });

  it('lets an invalid header or query pattern through, which gatehouse then refuses to apply', async () => {
    const object = policy('bad-header-pattern', {
      headers: [{ type: 'RegularExpression', name: 'X-Env', value: '(?<=a)b' }],
      queryParams: [{ type: 'RegularExpression', name: 'debug', value: '[' }],
    });
    await create(object);
    const local = validateResource({
      ...object,
      metadata: { ...object.metadata, creationTimestamp: '2025-01-01T00:00:00Z' },
    });
    expect(local.ok ? [] : local.problems.map((problem) => problem.path)).toEqual([
      'spec.rules[0].match[0].headers[0].value',
      'spec.rules[0].match[0].queryParams[0].value',
    ]);
  });

  it.each(refused)('refuses %s, as the file source does', async (name, match, message) => {
    const object = policy(
      name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, ''),
      match,
    );
    const answer = await rejection(create(object));
    expect(answer.code).toBe(422);
    expect(answer.message).toMatch(message);
    // The twin: the same object from a folder is refused too.
    const local = validateResource({
      ...object,
      metadata: { ...object.metadata, creationTimestamp: '2025-01-01T00:00:00Z' },
    });
    expect(local.ok).toBe(false);
  });
});
