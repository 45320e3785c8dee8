/**
 * Installs gatehouse's CRDs into a test API server exactly as a user would: the committed
 * manifests/crds/gatehouse.dev_crds.yaml (src/policy/crd.test.ts proves it equals the generator's
 * output), sent as-is with server-side apply (`kubectl apply --server-side`), then waits until
 * each CRD is Established.
 *
 * Not through client-node's typed APIs: its serializer maps model property names (`_enum`,
 * `_default`, `xKubernetesListType`) to JSON names and silently drops the JSON spellings a
 * manifest uses, so `enum`, `default` and the list types would never reach the API server.
 */
import { ApiextensionsV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { httpsRequest, type HttpsOptions } from '../../fixtures/gatehouse/http-client.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
export const crdManifestPath = resolve(repoRoot, 'manifests/crds/gatehouse.dev_crds.yaml');

/** The documents of the committed manifest: each CRD's name and its YAML text. */
export async function readCrdManifest(): Promise<{ name: string; yaml: string }[]> {
  return parseAllDocuments(await readFile(crdManifestPath, 'utf8')).map((document) => {
    if (document.errors.length > 0) {
      throw new Error(`${crdManifestPath}: ${document.errors.join('; ')}`);
    }
    const name = (document.toJS() as { metadata?: { name?: unknown } }).metadata?.name;
    if (typeof name !== 'string') throw new Error(`${crdManifestPath}: a document has no name`);
    return { name, yaml: document.toString() };
  });
}

/** Server-side apply of one CRD from its YAML text. */
async function applyCrd(config: KubeConfig, name: string, yaml: string): Promise<void> {
  const server = config.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('the kubeconfig names no cluster');
  const url = new URL(
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=gatehouse-tests&force=true`,
    server,
  );
  const options: HttpsOptions = {
    method: 'PATCH',
    headers: { 'content-type': 'application/apply-patch+yaml', accept: 'application/json' },
    body: yaml,
  };
  await config.applyToHTTPSOptions(options);
  const { status, body } = await httpsRequest(url, options);
  if (status < 200 || status >= 300) {
    throw new Error(`applying CRD ${name}: HTTP ${String(status)}: ${body}`);
  }
}

function established(crd: V1CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some(
    (condition) => condition.type === 'Established' && condition.status === 'True',
  );
}

/**
 * Applies the CRDs (idempotent) and resolves with their names once every one is Established;
 * rejects with the CRDs' conditions after `timeoutMs`.
 */
export async function installCrds(kubeconfigPath: string, timeoutMs = 60_000): Promise<string[]> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  const extensions = config.makeApiClient(ApiextensionsV1Api);
  const crds = await readCrdManifest();
  for (const { name, yaml } of crds) await applyCrd(config, name, yaml);
  const names = crds.map(({ name }) => name);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await Promise.all(
      names.map((name) => extensions.readCustomResourceDefinition({ name })),
    );
    if (current.every(established)) return names;
    if (Date.now() > deadline) {
      const conditions = current.map(
        (crd) => `${crd.metadata?.name ?? '?'}: ${JSON.stringify(crd.status?.conditions ?? [])}`,
      );
      throw new Error(`CRDs not Established after ${timeoutMs} ms:\n${conditions.join('\n')}`);
    }
    await sleep(200);
  }
}
