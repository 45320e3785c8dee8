/**
 * Shared pieces of the Kubernetes policy-source tests: a real API server with gatehouse's CRDs,
 * a small admin client speaking plain JSON (server-side apply, like `kubectl apply
 * --server-side`), policy builders, and a gatehouse started with `policy.source: kubernetes`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import { httpsRequest, type HttpsOptions } from '../../fixtures/gatehouse/http-client.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { startKubeApiServer } from '../../fixtures/kube/kube-apiserver.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import { installCrds } from './crd-install.ts';

/** A first run may build kube-apiserver and etcd from source. */
export const clusterHookTimeoutMs = 600_000;

/** The IngressClass the tests' Ingresses use: the cluster default, as a controller would install. */
export const testIngressClass = 'nginx';

export async function startPolicyCluster(): Promise<KubeTestCluster> {
  const cluster = await startKubeApiServer();
  try {
    await installCrds(cluster.kubeconfigPath);
    await new KubeAdmin(cluster.kubeconfigPath).apply(ingressClass(testIngressClass, true));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

export type KubeObject = Record<string, unknown> & {
  readonly metadata?: Record<string, unknown>;
  readonly status?: Record<string, unknown>;
};

export class KubeAdmin {
  readonly #config: KubeConfig;

  constructor(kubeconfigPath: string) {
    this.#config = new KubeConfig();
    this.#config.loadFromFile(kubeconfigPath);
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    accept = 'application/json',
  ): Promise<KubeResponse> {
    const server = this.#config.getCurrentCluster()?.server;
    if (server === undefined) throw new Error('no cluster in the kubeconfig');
    const options: HttpsOptions = {
      method,
      headers: { accept, 'content-type': contentType },
      timeoutMs: 10_000,
    };
    await this.#config.applyToHTTPSOptions(options);
    const response = await httpsRequest(new URL(path, server), {
      ...options,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    let parsed: unknown = response.body;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed };
  }

  async #ok(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<KubeObject> {
    const response = await this.request(method, path, body, contentType);
    if (response.status < 200 || response.status >= 300) {
      throw new Error(
        `${method} ${path}: HTTP ${String(response.status)}: ${JSON.stringify(response.body)}`,
      );
    }
    return response.body as KubeObject;
  }

  /** Server-side apply: creates or updates `object` (its path comes from kind and metadata). */
  apply(object: KubeObject): Promise<KubeObject> {
    return this.#ok(
      'PATCH',
      `${objectPath(object)}?fieldManager=gatehouse-tests&force=true`,
      object,
      'application/apply-patch+yaml',
    );
  }

  async delete(object: KubeObject): Promise<void> {
    const response = await this.request('DELETE', objectPath(object));
    if (response.status !== 200 && response.status !== 202 && response.status !== 404) {
      throw new Error(`DELETE ${objectPath(object)}: HTTP ${String(response.status)}`);
    }
  }

  get(object: KubeObject): Promise<KubeObject> {
    return this.#ok('GET', objectPath(object));
  }

  async list(path: string): Promise<KubeObject[]> {
    const body = await this.#ok('GET', path);
    return (body.items ?? []) as KubeObject[];
  }

  /** Writes an object's status through its /status subresource (what a controller does). */
  setStatus(object: KubeObject, status: Record<string, unknown>): Promise<KubeObject> {
    return this.#ok(
      'PATCH',
      `${objectPath(object)}/status`,
      { status },
      'application/merge-patch+json',
    );
  }

  async namespace(name: string): Promise<void> {
    await this.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
}

const plurals: Readonly<Record<string, string>> = {
  AccessPolicy: 'accesspolicies',
  ClusterAccessPolicy: 'clusteraccesspolicies',
  RoleMapping: 'rolemappings',
  ClusterRoleMapping: 'clusterrolemappings',
  Ingress: 'ingresses',
  IngressClass: 'ingressclasses',
  HTTPRoute: 'httproutes',
  HostDelegation: 'hostdelegations',
  Namespace: 'namespaces',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Lease: 'leases',
  CustomResourceDefinition: 'customresourcedefinitions',
};

/** The REST path of an object from its apiVersion, kind, namespace and name. */
export function objectPath(object: KubeObject): string {
  const apiVersion = String(object.apiVersion);
  const kind = String(object.kind);
  const plural = plurals[kind];
  if (plural === undefined) throw new Error(`no plural known for ${kind}`);
  const metadata = object.metadata ?? {};
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const namespace =
    typeof metadata.namespace === 'string' ? `/namespaces/${metadata.namespace}` : '';
  return `${base}${namespace}/${plural}/${String(metadata.name)}`;
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

export interface RuleSpec {
  readonly name: string;
  readonly path?: string;
  readonly exact?: boolean;
  readonly roles?: readonly string[];
  readonly deny?: boolean;
}

function rule(spec: RuleSpec): Record<string, unknown> {
  return {
    name: spec.name,
    match: [
      { path: { type: spec.exact === true ? 'Exact' : 'PathPrefix', value: spec.path ?? '/' } },
    ],
    ...(spec.deny === true ? { action: 'Deny' } : { roles: spec.roles ?? ['guest'] }),
  };
}

export function accessPolicy(
  name: string,
  namespace: string | null,
  hosts: readonly string[],
  rules: readonly RuleSpec[],
): KubeObject {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: namespace === null ? 'ClusterAccessPolicy' : 'AccessPolicy',
    metadata: namespace === null ? { name } : { name, namespace },
    spec: { hosts, rules: rules.map(rule) },
  };
}

export function roleMapping(
  name: string,
  namespace: string | null,
  roles: readonly string[],
  users: readonly string[],
): KubeObject {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: namespace === null ? 'ClusterRoleMapping' : 'RoleMapping',
    metadata: namespace === null ? { name } : { name, namespace },
    spec: { roles, subjects: users.map((user) => ({ kind: 'User', name: user })) },
  };
}

/**
 * An Ingress declaring `hosts` (what makes a namespace own them). Without `className` it has
 * none and takes the cluster's default IngressClass (testIngressClass).
 */
export function ingress(
  name: string,
  namespace: string,
  hosts: readonly string[],
  className?: string,
): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace },
    spec: {
      ...(className === undefined ? {} : { ingressClassName: className }),
      rules: hosts.map((host) => ({
        host,
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'app', port: { number: 80 } } },
            },
          ],
        },
      })),
    },
  };
}

/** An IngressClass, optionally the cluster default (annotation is-default-class). */
export function ingressClass(name: string, isDefault = false): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {
      name,
      ...(isDefault
        ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }
        : {}),
    },
    spec: { controller: `example.com/${name}` },
  };
}

export function hostDelegation(
  name: string,
  host: string,
  namespaces: readonly string[],
  pathPrefix?: string,
): KubeObject {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'HostDelegation',
    metadata: { name },
    spec: { host, namespaces, ...(pathPrefix === undefined ? {} : { pathPrefix }) },
  };
}

/**
 * A minimal stand-in for the Gateway API's HTTPRoute CRD (only what host ownership reads is
 * given a schema), so discovery finds `gateway.networking.k8s.io/v1`.
 */
export const httpRouteCrd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: 'httproutes.gateway.networking.k8s.io',
    // *.k8s.io groups are protected (KEP-1111); the real Gateway API CRDs carry this too.
    annotations: {
      'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/gateway-api/pull/2466',
    },
  },
  spec: {
    group: 'gateway.networking.k8s.io',
    scope: 'Namespaced',
    names: {
      kind: 'HTTPRoute',
      listKind: 'HTTPRouteList',
      plural: 'httproutes',
      singular: 'httproute',
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                'x-kubernetes-preserve-unknown-fields': true,
                properties: { hostnames: { type: 'array', items: { type: 'string' } } },
              },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
        subresources: { status: {} },
      },
    ],
  },
};

export function httpRoute(
  name: string,
  namespace: string,
  hostnames: readonly string[],
): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace },
    spec: { hostnames },
  };
}

/** The status a Gateway controller writes on an HTTPRoute it accepted (`gateway` is ns/name). */
export function acceptedBy(gateway: string): Record<string, unknown> {
  const [namespace, name] = gateway.split('/');
  return {
    parents: [
      {
        parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace, name },
        controllerName: 'example.com/gateway-controller',
        conditions: [
          {
            type: 'Accepted',
            status: 'True',
            reason: 'Accepted',
            message: 'accepted',
            lastTransitionTime: '2026-01-01T00:00:00Z',
            observedGeneration: 1,
          },
        ],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// gatehouse
// ---------------------------------------------------------------------------------------------

export interface KubeGatehouseOptions {
  /** Default: the cluster's admin kubeconfig. */
  readonly kubeconfigPath?: string;
  /** Extra GATEHOUSE_* variables. */
  readonly env?: Readonly<Record<string, string>>;
  readonly logLevel?: string;
  /** A configuration file (e.g. bearer issuers); the environment overrides it. */
  readonly configYaml?: string;
  /** The Lease holder name. */
  readonly identity?: string;
}

export function startKubeGatehouse(
  cluster: KubeTestCluster,
  options: KubeGatehouseOptions = {},
): Promise<TestGatehouse> {
  return startTestGatehouse({
    policies: '# unused: policy comes from the cluster\n',
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
    ...(options.configYaml === undefined ? {} : { configYaml: options.configYaml }),
    env: {
      GATEHOUSE_POLICY__SOURCE: 'kubernetes',
      GATEHOUSE_POLICY__KUBERNETES__KUBECONFIG: options.kubeconfigPath ?? cluster.kubeconfigPath,
      GATEHOUSE_POLICY__KUBERNETES__POD_NAMESPACE: 'gatehouse',
      ...(options.identity === undefined
        ? {}
        : { GATEHOUSE_POLICY__KUBERNETES__IDENTITY: options.identity }),
      ...options.env,
    },
  });
}

/** The status code gatehouse answers ingress-nginx for `url`. */
export async function nginxStatus(gatehouse: TestGatehouse, url: string): Promise<number> {
  return (await nginxCheck(gatehouse, url)).status;
}

export async function readyzStatus(gatehouse: TestGatehouse): Promise<number> {
  return (await fetch(gatehouse.opsUrl('/readyz'))).status;
}

/** Polls until `probe` returns true; fails after `timeoutMs` with `what`. */
export async function eventually(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 2_000,
  intervalMs = 50,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`not within ${String(timeoutMs)} ms: ${what}`);
    }
    await sleep(intervalMs);
  }
}

/** The Ready condition of an object's status, if any. */
export function readyCondition(object: KubeObject): Record<string, unknown> | undefined {
  const conditions = object.status?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return (conditions as Record<string, unknown>[]).find((condition) => condition.type === 'Ready');
}
