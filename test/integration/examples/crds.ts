/**
 * The third-party CRDs of the proxy examples: Gateway API, Envoy Gateway and Traefik from their Go
 * modules (scripts/ci/ensure-example-crds.sh, cached in the tools folder), NGINX Gateway Fabric
 * and F5 NGINX Ingress Controller vendored in fixtures/ (the module proxy refuses those modules).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import { apply, waitForCrds } from '../chart/kube-rest.ts';
import type { ResourcePaths } from '../chart/kube-rest.ts';
import { parseManifests, repoRoot } from './examples.ts';
import type { ManifestObject } from './examples.ts';

const run = promisify(execFile);

async function fetchedCrdFiles(): Promise<string[]> {
  const { stdout } = await run('bash', [resolve(repoRoot, 'scripts/ci/ensure-example-crds.sh')], {
    cwd: repoRoot,
    timeout: 10 * 60_000,
  });
  const dir = stdout.trim().split('\n').at(-1);
  if (dir === undefined || dir === '') throw new Error('ensure-example-crds.sh printed no folder');
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const file of await readdir(join(dir, entry.name))) {
      if (/\.ya?ml$/.test(file)) files.push(join(dir, entry.name, file));
    }
  }
  return files.sort();
}

/** Every CRD the examples use, as published by each project. */
export async function exampleCrds(): Promise<ManifestObject[]> {
  const files = [
    ...(await fetchedCrdFiles()),
    resolve(import.meta.dirname, 'fixtures/nginx-gateway-fabric-crds.yaml'),
    resolve(import.meta.dirname, 'fixtures/f5-nginx-ingress-crds.yaml'),
  ];
  const crds: ManifestObject[] = [];
  for (const file of files) {
    crds.push(
      ...parseManifests(await readFile(file, 'utf8'), file).filter(
        (object) => object.kind === 'CustomResourceDefinition',
      ),
    );
  }
  return crds;
}

/** Applies the CRDs and waits until the API server serves them. */
export async function installCrds(
  cluster: KubeTestCluster,
  paths: ResourcePaths,
  crds: readonly ManifestObject[],
): Promise<void> {
  for (const crd of crds) await apply(cluster, paths, crd, 'default');
  await waitForCrds(
    cluster,
    crds.map((crd) => crd.metadata.name),
  );
  paths.reset();
}
