/**
 * Every proxy example under examples/ is accepted by a real kube-apiserver (test/fixtures/kube/)
 * with the real CRDs of the proxy it configures: a server-side dry-run with strict field
 * validation, so an unknown or misspelt field, a value outside an enum or pattern, a missing
 * required field or a failing CEL rule is a failure. Nothing is stored.
 *
 * The CRDs are each project's own (crds.ts).
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../../fixtures/kube/kube-apiserver.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import { ensureHelm, render } from '../chart/helm.ts';
import { ensureNamespace, ResourcePaths, rest } from '../chart/kube-rest.ts';
import { exampleCrds, installCrds } from './crds.ts';
import {
  exampleChartValues,
  exampleFiles,
  exampleFolders,
  exampleObject,
  repoRoot,
} from './examples.ts';
import type { ManifestObject } from './examples.ts';

const skip = process.env.GATEHOUSE_SKIP_KUBE === '1';
/** The namespaces the examples put objects in. */
const namespaces = ['shop', 'gatehouse', 'envoy-gateway-system', 'traefik', 'nginx-gateway'];

describe.skipIf(skip)('the proxy examples on a real API server', () => {
  let cluster: KubeTestCluster;
  let paths: ResourcePaths;

  beforeAll(async () => {
    const [started, crds] = await Promise.all([startKubeApiServer(), exampleCrds()]);
    cluster = started;
    paths = new ResourcePaths(cluster);
    await installCrds(cluster, paths, crds);
    for (const namespace of namespaces) await ensureNamespace(cluster, namespace);
  }, 30 * 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  /** Server-side dry-run of one object: '' when accepted, else the API server's message. */
  async function dryRun(object: ManifestObject): Promise<string> {
    const path = await paths.collection(object, 'default');
    const response = await rest(cluster, 'POST', `${path}?dryRun=All&fieldValidation=Strict`, {
      body: JSON.stringify(object),
    });
    if (response.status === 201 || response.status === 200) return '';
    const status = JSON.parse(response.body) as { message?: string };
    return `HTTP ${String(response.status)} ${status.message ?? response.body}`;
  }

  it.each(exampleFolders.flatMap((folder) => exampleFiles(folder).map((file) => file.path)))(
    '%s: every object passes a server-side dry-run',
    { timeout: 60_000 },
    async (path) => {
      const file = exampleFolders
        .flatMap((folder) => exampleFiles(folder))
        .find((candidate) => candidate.path === path);
      expect(file?.objects.length).toBeGreaterThan(0);
      const failures: string[] = [];
      for (const object of file?.objects ?? []) {
        const failure = await dryRun(object);
        if (failure !== '') failures.push(`${object.kind}/${object.metadata.name}: ${failure}`);
      }
      expect(failures).toEqual([]);
    },
  );

  it.each(exampleChartValues)(
    'the chart rendered with %s passes a server-side dry-run, sign-in HTTPRoute included',
    { timeout: 10 * 60_000 },
    async (valuesFile) => {
      await ensureHelm();
      const objects = await render({ valuesFiles: [resolve(repoRoot, valuesFile)] });
      const route = objects.find((object) => object.kind === 'HTTPRoute');
      expect(route?.metadata.namespace).toBe('gatehouse');
      const failures: string[] = [];
      for (const object of objects) {
        const failure = await dryRun(object);
        if (failure !== '') failures.push(`${object.kind}/${object.metadata.name}: ${failure}`);
      }
      expect(failures).toEqual([]);
    },
  );

  it('dry-runs store nothing', async () => {
    const stored = await rest(cluster, 'GET', '/apis/gateway.networking.k8s.io/v1/httproutes');
    expect((JSON.parse(stored.body) as { items: unknown[] }).items).toEqual([]);
  });

  // The same check refuses what a copy-and-paste error would produce, so the passes above mean
  // the schemas were applied.
  it('refuses a misspelt SecurityPolicy field, a SnippetsFilter context and an F5 authURI', async () => {
    const policy = structuredClone(
      exampleObject('examples/gateway-api/envoy-gateway', 'SecurityPolicy'),
    ) as ManifestObject & { spec: { extAuth: { http: Record<string, unknown> } } };
    policy.spec.extAuth.http['pathPrefix'] = policy.spec.extAuth.http['path'];
    delete policy.spec.extAuth.http['path'];
    expect(await dryRun(policy)).toMatch(/unknown field "spec.extAuth.http.pathPrefix"/);

    const filter = structuredClone(
      exampleObject('examples/nginx-gateway-fabric', 'SnippetsFilter'),
    ) as ManifestObject & { spec: { snippets: { context: string }[] } };
    filter.spec.snippets[1]!.context = 'server';
    expect(await dryRun(filter)).toMatch(/spec.snippets\[1\].context: Unsupported value: "server"/);

    const f5 = structuredClone(
      exampleObject('examples/f5-nginx-ingress', 'Policy'),
    ) as ManifestObject & {
      spec: { externalAuth: { authURI: string } };
    };
    f5.spec.externalAuth.authURI = 'authz/nginx?host=$host';
    expect(await dryRun(f5)).toMatch(/spec.externalAuth.authURI in body should match/);
  });
});
