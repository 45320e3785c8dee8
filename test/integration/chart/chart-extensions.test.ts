/**
 * The chart's extension points, as a platform team uses them (ci/extensions-values.yaml): the
 * Gateway API HTTPRoute for the sign-in host, a mirror registry, extra containers and objects,
 * the rollout and scaling knobs, and the V8 heap sized from the memory limit. And the defaults
 * these knobs replace stay what they were.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureHelm, find, render, scenarioFile } from './helm.ts';
import type { KubeObject } from './helm.ts';

const run = promisify(execFile);

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string }[];
  envFrom?: unknown[];
  volumeMounts?: { name: string; mountPath: string }[];
}

interface DeploymentSpec {
  revisionHistoryLimit: number;
  strategy: unknown;
  template: {
    spec: {
      containers: Container[];
      initContainers?: Container[];
      imagePullSecrets?: { name: string }[];
      volumes?: { name: string }[];
      topologySpreadConstraints?: { whenUnsatisfiable: string }[];
      securityContext: Record<string, unknown>;
    };
  };
}

function deployment(objects: readonly KubeObject[], name = 'gh-gatehouse'): DeploymentSpec {
  return (find(objects, 'Deployment', name) as unknown as { spec: DeploymentSpec }).spec;
}

function container(objects: readonly KubeObject[], name = 'gh-gatehouse'): Container {
  const found = deployment(objects, name).template.spec.containers.find(
    (candidate) => candidate.name === 'gatehouse',
  );
  if (found === undefined) throw new Error('no gatehouse container');
  return found;
}

function nodeOptions(objects: readonly KubeObject[], name?: string): string | undefined {
  return container(objects, name).env?.find((variable) => variable.name === 'NODE_OPTIONS')?.value;
}

beforeAll(async () => {
  await ensureHelm();
}, 30 * 60_000);

describe('ci/extensions-values.yaml', () => {
  let objects: KubeObject[];

  beforeAll(async () => {
    objects = await render({ release: 'gh', valuesFiles: [scenarioFile('extensions')] });
  }, 120_000);

  it('routes the sign-in host with a gateway.networking.k8s.io/v1 HTTPRoute to the http port', () => {
    const route = find(objects, 'HTTPRoute', 'gh-gatehouse') as unknown as {
      apiVersion: string;
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: {
        parentRefs: unknown[];
        hostnames: string[];
        rules: {
          matches: { path: { type: string; value: string } }[];
          backendRefs: { name: string; port: number }[];
        }[];
      };
    };
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(route.metadata.labels['exposure']).toBe('public');
    expect(route.metadata.labels['app.kubernetes.io/instance']).toBe('gh');
    expect(route.metadata.annotations).toEqual({ 'example.com/owner': 'platform' });
    expect(route.spec.parentRefs).toEqual([
      { name: 'public', namespace: 'gateways', sectionName: 'https' },
    ]);
    // The publicUrl host first: the OIDC callback is registered for it.
    expect(route.spec.hostnames).toEqual(['auth.example.com', 'login.example.com']);
    // Sign-in and JWKS only: the /authz endpoints must never be reachable from outside.
    expect(route.spec.rules).toEqual([
      {
        matches: [
          { path: { type: 'PathPrefix', value: '/oauth2' } },
          { path: { type: 'Exact', value: '/.well-known/jwks.json' } },
        ],
        backendRefs: [{ name: 'gh-gatehouse', port: 8080 }],
      },
    ]);
    const service = find(objects, 'Service', 'gh-gatehouse') as unknown as {
      spec: { ports: { name: string; port: number }[] };
    };
    expect(service.spec.ports.find(({ name }) => name === 'http')?.port).toBe(8080);
  });

  it('pulls every image through global.imageRegistry with the global and chart pull secrets', () => {
    const pod = deployment(objects).template.spec;
    expect(container(objects).image).toBe('registry.corp.example/mirror/gatehouse/gatehouse:0.1.0');
    expect(pod.imagePullSecrets).toEqual([{ name: 'corp-mirror' }]);
  });

  it('adds the extra env, envFrom, volumes, init and sidecar containers', () => {
    const pod = deployment(objects).template.spec;
    const gatehouse = container(objects);
    expect(gatehouse.env).toContainEqual({
      name: 'NODE_EXTRA_CA_CERTS',
      value: '/etc/ssl/corp/ca.crt',
    });
    expect(gatehouse.envFrom).toEqual([
      { configMapRef: { name: 'gatehouse-overrides', optional: true } },
    ]);
    expect(gatehouse.volumeMounts).toContainEqual({
      name: 'corp-ca',
      mountPath: '/etc/ssl/corp',
      readOnly: true,
    });
    expect(pod.volumes?.map(({ name }) => name)).toContain('corp-ca');
    expect(pod.initContainers?.map(({ name }) => name)).toEqual(['wait-for-dns']);
    expect(pod.containers.map(({ name }) => name)).toEqual(['gatehouse', 'audit-shipper']);
    // The chart's own pod settings stay restricted.
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
  });

  it('renders extraObjects through tpl, from a mapping and from a string', () => {
    const grant = find(objects, 'ReferenceGrant') as unknown as {
      metadata: { namespace: string };
      spec: { to: { name: string }[] };
    };
    expect(grant.metadata.namespace).toBe('gatehouse');
    expect(grant.spec.to).toEqual([{ group: '', kind: 'Service', name: 'gh-gatehouse' }]);
    const configMap = find(objects, 'ConfigMap', 'gh-gatehouse-overrides-example') as unknown as {
      data: Record<string, string>;
    };
    expect(configMap.data).toEqual({ GATEHOUSE_LOG__LEVEL: 'info' });
  });

  it('takes the rollout, spread, scaling and disruption settings from the values', () => {
    const spec = deployment(objects);
    expect(spec.revisionHistoryLimit).toBe(2);
    expect(spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' },
    });
    expect(spec.template.spec.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'gatehouse' } },
      },
    ]);
    const hpa = find(objects, 'HorizontalPodAutoscaler') as unknown as {
      spec: { metrics: { resource: { name: string } }[]; behavior: unknown };
    };
    expect(hpa.spec.metrics.map(({ resource }) => resource.name)).toEqual(['cpu', 'memory']);
    expect(hpa.spec.behavior).toEqual({
      scaleDown: {
        stabilizationWindowSeconds: 600,
        policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }],
      },
    });
    const pdb = find(objects, 'PodDisruptionBudget') as unknown as { spec: object };
    expect(pdb.spec).toMatchObject({ maxUnavailable: 1 });
    expect(pdb.spec).not.toHaveProperty('minAvailable');
  });

  it('puts the ServiceMonitor where Prometheus looks, with its scrape settings', () => {
    const monitor = find(objects, 'ServiceMonitor') as unknown as {
      metadata: { namespace: string };
      spec: { namespaceSelector: unknown; endpoints: Record<string, unknown>[] };
    };
    expect(monitor.metadata.namespace).toBe('monitoring');
    // It still scrapes the release namespace.
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['gatehouse'] });
    expect(monitor.spec.endpoints[0]).toMatchObject({
      port: 'operations',
      interval: '30s',
      scrapeTimeout: '10s',
      relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }],
      metricRelabelings: [
        { sourceLabels: ['__name__'], regex: 'gatehouse_nodejs_gc_.*', action: 'drop' },
      ],
    });
  });

  it('uses an explicit heap.maxOldSpaceMiB', () => {
    expect(nodeOptions(objects)).toBe('--max-old-space-size=320 --max-semi-space-size=8');
  });
});

describe('defaults the extension points replace', () => {
  let objects: KubeObject[];

  beforeAll(async () => {
    objects = await render();
  }, 120_000);

  it('requests the measured memory and sizes the V8 heap at 75% of the limit', () => {
    const gatehouse = container(objects, 'gatehouse') as Container & {
      resources?: { requests: Record<string, string>; limits: Record<string, string> };
    };
    expect(gatehouse.resources).toEqual({
      requests: { cpu: '100m', memory: '192Mi' },
      limits: { memory: '384Mi' },
    });
    expect(nodeOptions(objects, 'gatehouse')).toBe(
      '--max-old-space-size=288 --max-semi-space-size=8',
    );
  });

  it('keeps the safe rollout: never a pod down before its replacement is ready', () => {
    const spec = deployment(objects, 'gatehouse');
    expect(spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    expect(spec.revisionHistoryLimit).toBe(5);
    expect(spec.template.spec.initContainers).toBeUndefined();
    expect(spec.template.spec.containers.map(({ name }) => name)).toEqual(['gatehouse']);
    expect(spec.template.spec.imagePullSecrets).toBeUndefined();
    expect(container(objects, 'gatehouse').image).toBe('ghcr.io/gatehouse/gatehouse:0.1.0');
    expect(objects.some((object) => object.kind === 'HTTPRoute')).toBe(false);
  });

  it.each([
    [['resources.limits.memory=1Gi'], '--max-old-space-size=768 --max-semi-space-size=8'],
    [['resources.limits.memory=1000M'], '--max-old-space-size=714 --max-semi-space-size=8'],
    [['resources.limits.memory=536870912'], '--max-old-space-size=384 --max-semi-space-size=8'],
    [
      ['resources.limits.memory=512Mi', 'heap.percentOfMemoryLimit=50'],
      '--max-old-space-size=256 --max-semi-space-size=8',
    ],
    [['resources.limits=null'], '--max-semi-space-size=8'],
    [['heap.maxSemiSpaceMiB=16'], '--max-old-space-size=288 --max-semi-space-size=16'],
    [['resources.limits=null', 'heap.maxSemiSpaceMiB=0'], undefined],
  ])('with --set %j, NODE_OPTIONS is %s', async (set, expected) => {
    expect(nodeOptions(await render({ set }), 'gatehouse')).toBe(expected);
  });

  it('gives Node 24 an old-space and a semi-space limit it honours', async () => {
    const value = nodeOptions(objects, 'gatehouse');
    expect(value).toBe('--max-old-space-size=288 --max-semi-space-size=8');
    const heapLimitMiB = async (options: string): Promise<number> => {
      const { stdout } = await run(
        process.execPath,
        [
          '-e',
          'process.stdout.write(String(require("node:v8").getHeapStatistics().heap_size_limit))',
        ],
        { env: { ...process.env, NODE_OPTIONS: options } },
      );
      return Number(stdout) / 2 ** 20;
    };
    // heap_size_limit is the old space plus the young generation's reserve, three semi-spaces:
    // measure the reserve with a known old space and the chart's semi-space, and take it off.
    const reserve = (await heapLimitMiB('--max-old-space-size=100 --max-semi-space-size=8')) - 100;
    expect(reserve).toBe(3 * 8);
    expect((await heapLimitMiB(value ?? '')) - reserve).toBe(288);
  });

  it('ingress: the publicUrl host first, then extraHosts, with the extra labels and one TLS entry', async () => {
    const ingress = find(
      await render({
        set: [
          'ingress.enabled=true',
          'ingress.extraHosts={auth.internal.example.com}',
          'ingress.labels.exposure=internal',
          'ingress.tlsSecretName=auth-tls',
        ],
      }),
      'Ingress',
    ) as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { tls: { hosts: string[] }[]; rules: { host: string }[] };
    };
    expect(ingress.metadata.labels['exposure']).toBe('internal');
    expect(ingress.spec.rules.map(({ host }) => host)).toEqual([
      'auth.example.com',
      'auth.internal.example.com',
    ]);
    expect(ingress.spec.tls).toEqual([
      { hosts: ['auth.example.com', 'auth.internal.example.com'], secretName: 'auth-tls' },
    ]);
  });

  it('embedded Redis: a fully qualified image, moved to global.imageRegistry like the rest', async () => {
    const set = ['redis.embedded.enabled=true', 'redis.url='];
    const image = async (extra: string[]) =>
      deployment(await render({ set: [...set, ...extra] }), 'gatehouse-redis').template.spec
        .containers[0]?.image;
    expect(await image([])).toBe('docker.io/library/redis:7-alpine');
    expect(await image(['global.imageRegistry=mirror.example.com:5000'])).toBe(
      'mirror.example.com:5000/library/redis:7-alpine',
    );
  });
});
