/**
 * Plain REST calls to the test API server (admin or any user token), with the JSON and YAML
 * bodies sent exactly as written: client-node's typed serializer maps model property names and
 * drops fields it does not model, which a dry-run of arbitrary manifests cannot afford.
 */
import { request } from 'node:https';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import type { KubeObject } from './helm.ts';

export interface RestResponse {
  readonly status: number;
  readonly body: string;
}

interface RestOptions {
  body?: string;
  contentType?: string;
  token?: string;
}

/**
 * One request; a 429 is retried (the API server answers "storage is (re)initializing" for a
 * custom resource whose CRD was just established, with retryAfterSeconds).
 */
export async function rest(
  cluster: KubeTestCluster,
  method: string,
  path: string,
  options: RestOptions = {},
): Promise<RestResponse> {
  for (let attempt = 1; ; attempt++) {
    const response = await restOnce(cluster, method, path, options);
    if (response.status !== 429 || attempt >= 30) return response;
    await new Promise((resolveTimer) => setTimeout(resolveTimer, 500));
  }
}

function restOnce(
  cluster: KubeTestCluster,
  method: string,
  path: string,
  options: RestOptions,
): Promise<RestResponse> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      `${cluster.server}${path}`,
      {
        method,
        ca: cluster.caPem,
        headers: {
          authorization: `Bearer ${options.token ?? cluster.adminToken}`,
          accept: 'application/json',
          ...(options.body === undefined
            ? {}
            : { 'content-type': options.contentType ?? 'application/json' }),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolvePromise({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Maps apiVersion + kind to the REST collection path, through API discovery. */
export class ResourcePaths {
  readonly #cluster: KubeTestCluster;
  readonly #cache = new Map<string, ApiResource[]>();

  constructor(cluster: KubeTestCluster) {
    this.#cluster = cluster;
  }

  async #resources(apiVersion: string): Promise<ApiResource[]> {
    const cached = this.#cache.get(apiVersion);
    if (cached !== undefined) return cached;
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const response = await rest(this.#cluster, 'GET', base);
    if (response.status !== 200) {
      throw new Error(`discovery of ${apiVersion}: HTTP ${response.status} ${response.body}`);
    }
    const resources = (JSON.parse(response.body) as { resources: ApiResource[] }).resources;
    this.#cache.set(apiVersion, resources);
    return resources;
  }

  /** Forget discovery results (after installing CRDs). */
  reset(): void {
    this.#cache.clear();
  }

  async collection(object: KubeObject, defaultNamespace: string): Promise<string> {
    const resource = (await this.#resources(object.apiVersion)).find(
      (candidate) => candidate.kind === object.kind && !candidate.name.includes('/'),
    );
    if (resource === undefined) {
      throw new Error(`the API server serves no ${object.kind} in ${object.apiVersion}`);
    }
    const base = object.apiVersion.includes('/')
      ? `/apis/${object.apiVersion}`
      : `/api/${object.apiVersion}`;
    return resource.namespaced
      ? `${base}/namespaces/${object.metadata.namespace ?? defaultNamespace}/${resource.name}`
      : `${base}/${resource.name}`;
  }
}

/** Creates a namespace; an existing one is fine. */
export async function ensureNamespace(cluster: KubeTestCluster, name: string): Promise<void> {
  const response = await rest(cluster, 'POST', '/api/v1/namespaces', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  });
  if (response.status !== 201 && response.status !== 409) {
    throw new Error(`creating namespace ${name}: HTTP ${response.status} ${response.body}`);
  }
}

/** Server-side apply of one object as the admin (like `kubectl apply --server-side`). */
export async function apply(
  cluster: KubeTestCluster,
  paths: ResourcePaths,
  object: KubeObject,
  namespace: string,
): Promise<void> {
  const path = `${await paths.collection(object, namespace)}/${object.metadata.name}`;
  const response = await rest(cluster, 'PATCH', `${path}?fieldManager=gatehouse-tests&force=true`, {
    body: JSON.stringify(object),
    contentType: 'application/apply-patch+yaml',
  });
  if (response.status < 200 || response.status >= 300) {
    throw new Error(
      `applying ${object.kind} ${object.metadata.name}: HTTP ${response.status} ${response.body}`,
    );
  }
}

/** Waits until every named CRD is Established. */
export async function waitForCrds(
  cluster: KubeTestCluster,
  names: readonly string[],
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const states = await Promise.all(
      names.map(async (name) => {
        const response = await rest(
          cluster,
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
        );
        const crd = JSON.parse(response.body) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        return (crd.status?.conditions ?? []).some(
          (condition) => condition.type === 'Established' && condition.status === 'True',
        );
      }),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`CRDs not Established: ${names.join(', ')}`);
    await new Promise((resolveTimer) => setTimeout(resolveTimer, 200));
  }
}
