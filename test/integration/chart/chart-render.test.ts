/**
 * The Helm chart, rendered by the pinned Helm: it lints, every ci/ scenario renders, the values
 * schema refuses wrong values with a message naming the value, the rendered configuration is one
 * gatehouse itself accepts, and the security settings an operator relies on are in place.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/load.ts';
import {
  chartDir,
  ensureHelm,
  find,
  helm,
  render,
  repoRoot,
  scenarioFile,
  scenarios,
  templateArgs,
} from './helm.ts';
import type { KubeObject } from './helm.ts';

const slow = 5 * 60_000;

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  startupProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  readinessProbe?: { httpGet?: { path: string; port: string } };
}

interface PodSpec {
  containers: Container[];
  enableServiceLinks?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  topologySpreadConstraints?: { topologyKey: string }[];
  volumes?: { name: string; secret?: { secretName: string; items?: { key: string }[] } }[];
}

function podSpec(objects: readonly KubeObject[]): PodSpec {
  const deployment = find(objects, 'Deployment', 'gatehouse') as unknown as {
    spec: { template: { spec: PodSpec } };
  };
  return deployment.spec.template.spec;
}

function gatehouseContainer(objects: readonly KubeObject[]): Container {
  const container = podSpec(objects).containers.find(({ name }) => name === 'gatehouse');
  if (container === undefined) throw new Error('no gatehouse container');
  return container;
}

function configText(objects: readonly KubeObject[]): string {
  const configMap = find(objects, 'ConfigMap', 'gatehouse') as unknown as {
    data: Record<string, string>;
  };
  const text = configMap.data['gatehouse.yaml'];
  if (text === undefined) throw new Error('the ConfigMap has no gatehouse.yaml');
  return text;
}

beforeAll(async () => {
  await ensureHelm();
}, 30 * 60_000);

describe('helm lint', () => {
  it('passes with the default values', { timeout: slow }, async () => {
    const result = await helm(['lint', chartDir, '--strict']);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });

  it.each(scenarios)('passes with ci/%s-values.yaml', { timeout: slow }, async (scenario) => {
    const result = await helm(['lint', chartDir, '--strict', '-f', scenarioFile(scenario)]);
    expect(result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });
});

describe('helm template', () => {
  it.each(['default', ...scenarios])(
    '%s: renders a configuration gatehouse accepts, with no secret in it',
    { timeout: slow },
    async (scenario) => {
      const objects = await render(
        scenario === 'default' ? {} : { valuesFiles: [scenarioFile(scenario)] },
      );
      const text = configText(objects);
      const config: unknown = parse(text);
      expect(JSON.stringify(config)).not.toMatch(/"(clientSecret|password)"/);
      // Secret files are read by the loader: answer for the mounted paths the chart names.
      const loaded = loadConfig({
        file: '/etc/gatehouse/gatehouse.yaml',
        env: {},
        cwd: '/',
        readFile: (path) => {
          if (path === '/etc/gatehouse/gatehouse.yaml') return text;
          if (path.startsWith('/var/run/secrets/gatehouse/')) return 'from-a-mounted-secret\n';
          throw new Error(`unexpected file ${path}`);
        },
      });
      expect(loaded.ok ? [] : loaded.problems).toEqual([]);
      if (!loaded.ok) return;
      expect(loaded.config.listeners.main.port).toBe(8080);
      expect(loaded.config.listeners.operations.port).toBe(9090);
      expect(loaded.config.policy.source).toBe('kubernetes');
      expect(loaded.config.sessions.store).toBe('redis');
    },
  );

  it('sets the IngressClasses and Gateways whose routes count for host ownership from its values', async () => {
    const objects = await render({
      set: [
        'config.policy.kubernetes.ingressClassNames={nginx,internal}',
        'config.policy.kubernetes.gateways={gateways/public}',
      ],
    });
    const config = parse(configText(objects)) as {
      policy: { kubernetes: { ingressClassNames: string[]; gateways: string[] } };
    };
    expect(config.policy.kubernetes.ingressClassNames).toEqual(['nginx', 'internal']);
    expect(config.policy.kubernetes.gateways).toEqual(['gateways/public']);
    const defaults = parse(configText(await render())) as typeof config;
    expect(defaults.policy.kubernetes.ingressClassNames).toEqual([]);
  });

  it('mounts every referenced secret read-only and points gatehouse at the files', async () => {
    const objects = await render({ valuesFiles: [scenarioFile('cluster-redis')] });
    const config = parse(configText(objects)) as {
      providers: { name: string; clientSecretFile?: string }[];
      sessions: { redis: { passwordFile?: string; mode: string; clusterNodes: unknown[] } };
      identityHeaders: { assertion: { signingKeyFile?: string; previousKeyFiles?: string[] } };
    };
    expect(config.providers.map((provider) => [provider.name, provider.clientSecretFile])).toEqual([
      ['corp', '/var/run/secrets/gatehouse/oidc/corp/client-secret'],
      ['partners', undefined],
    ]);
    expect(config.sessions.redis.mode).toBe('cluster');
    expect(config.sessions.redis.clusterNodes).toHaveLength(3);
    expect(config.sessions.redis.passwordFile).toBe('/var/run/secrets/gatehouse/redis/password');
    expect(config.identityHeaders.assertion.signingKeyFile).toBe(
      '/var/run/secrets/gatehouse/assertion/current/key.pem',
    );
    expect(config.identityHeaders.assertion.previousKeyFiles).toEqual([
      '/var/run/secrets/gatehouse/assertion/previous-0/key.pem',
    ]);
    const mounts = gatehouseContainer(objects).volumeMounts ?? [];
    for (const directory of [
      '/var/run/secrets/gatehouse/oidc/corp',
      '/var/run/secrets/gatehouse/redis',
      '/var/run/secrets/gatehouse/assertion/current',
      '/var/run/secrets/gatehouse/assertion/previous-0',
    ]) {
      expect(mounts.find(({ mountPath }) => mountPath === directory)?.readOnly).toBe(true);
    }
    const secretNames = (podSpec(objects).volumes ?? []).flatMap(({ secret }) =>
      secret === undefined ? [] : [secret.secretName],
    );
    expect(secretNames.sort()).toEqual([
      'gatehouse-assertion-2026-06',
      'gatehouse-assertion-2026-09',
      'gatehouse-oidc',
      'gatehouse-redis',
    ]);
    // With an HPA the Deployment leaves the replica count to it.
    expect(find(objects, 'HorizontalPodAutoscaler')).toBeDefined();
    const deployment = find(objects, 'Deployment', 'gatehouse') as { spec?: { replicas?: number } };
    expect(deployment.spec?.replicas).toBeUndefined();
  });

  it('runs non-root on a read-only root filesystem, probes the operations port, and knows its pod', async () => {
    const objects = await render();
    const pod = podSpec(objects);
    const container = gatehouseContainer(objects);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.enableServiceLinks).toBe(false);
    expect(container.args).toEqual(['serve', '--config', '/etc/gatehouse/gatehouse.yaml']);
    expect(container.volumeMounts?.map(({ mountPath }) => mountPath)).toContain('/tmp');
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'operations' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'operations' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'operations' });
    const env = new Map((container.env ?? []).map((variable) => [variable.name, variable]));
    expect(env.get('POD_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.get('POD_NAMESPACE')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.namespace' },
    });
    expect(env.get('GATEHOUSE_POLICY__KUBERNETES__IDENTITY')?.value).toBe('$(POD_NAME)');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(5 + 20);
    expect(pod.topologySpreadConstraints?.map(({ topologyKey }) => topologyKey)).toEqual([
      'topology.kubernetes.io/zone',
      'kubernetes.io/hostname',
    ]);
    expect(find(objects, 'PodDisruptionBudget')).toMatchObject({ spec: { minAvailable: 1 } });
    const service = find(objects, 'Service', 'gatehouse') as unknown as {
      spec: { ports: { name: string; port: number }[] };
    };
    expect(service.spec.ports.map(({ name, port }) => [name, port])).toEqual([
      ['http', 8080],
      ['operations', 9090],
    ]);
  });

  it('rolls the pods when the configuration changes', async () => {
    const checksum = async (set: string[]) => {
      const deployment = find(await render({ set }), 'Deployment', 'gatehouse') as unknown as {
        spec: { template: { metadata: { annotations: Record<string, string> } } };
      };
      return deployment.spec.template.metadata.annotations['checksum/config'];
    };
    const before = await checksum([]);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(await checksum(['config.log.level=debug'])).not.toBe(before);
  });

  it('lets only the ingress controller reach the auth port and monitoring the operations port', async () => {
    const policy = find(await render(), 'NetworkPolicy', 'gatehouse') as unknown as {
      spec: {
        policyTypes: string[];
        ingress: { from: Record<string, unknown>[]; ports: { port: string }[] }[];
        egress: { ports: { port: number; protocol: string }[]; to?: unknown[] }[];
      };
    };
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const [main, operations] = policy.spec.ingress;
    expect(main?.ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    expect(main?.from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
      },
    ]);
    expect(operations?.ports).toEqual([{ port: 'operations', protocol: 'TCP' }]);
    expect(operations?.from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: {},
      },
    ]);
    const egressPorts = policy.spec.egress.map((rule) => rule.ports.map(({ port }) => port));
    expect(egressPorts).toEqual([[53, 53], [443, 6443], [6379, 26379], [443]]);
  });

  it('embedded Redis: a separate Deployment that the gatehouse Service never selects', async () => {
    const objects = await render({ valuesFiles: [scenarioFile('embedded-redis')] });
    const redis = find(objects, 'Deployment', 'gatehouse-redis') as unknown as {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    const service = find(objects, 'Service', 'gatehouse') as unknown as {
      spec: { selector: Record<string, string> };
    };
    const selects = Object.entries(service.spec.selector).every(
      ([key, value]) => redis.spec.selector.matchLabels[key] === value,
    );
    expect(selects).toBe(false);
    expect(configText(objects)).toContain('url: redis://gatehouse-redis:6379');
  });
});

describe('values.schema.json', () => {
  it.each([
    [['replicaCount=two'], "at '/replicaCount': got string, want integer"],
    [['replicas=2'], "additional properties 'replicas' not allowed"],
    [['config.sessions.redis.password=hunter2'], "additional properties 'redis' not allowed"],
    [
      [
        'config.providers[0].name=corp',
        'config.providers[0].issuer=https://idp.example.com',
        'config.providers[0].clientId=gh',
        'config.providers[0].clientSecret=hunter2',
      ],
      "additional properties 'clientSecret' not allowed",
    ],
    [['config.sessions.cookie.sameSite=sometimes'], "at '/config/sessions/cookie/sameSite'"],
    [['config.policy.sourcee=kubernetes'], "additional properties 'sourcee' not allowed"],
    [['redis.mode=replicated'], "at '/redis/mode'"],
    [['redis.url=redis://:secret@redis:6379'], "at '/redis/url'"],
    // Values, not only keys (the formats of src/config/formats.ts as patterns):
    [['config.sessions.idleTimeout=8 hours'], "at '/config/sessions/idleTimeout'"],
    [['config.server.shutdownDelay=5 s'], "at '/config/server/shutdownDelay'"],
    [['config.publicUrl=auth.example.com'], "at '/config/publicUrl'"],
    [
      [
        'config.providers[0].name=corp',
        'config.providers[0].issuer=login.example.com/realms/corp',
        'config.providers[0].clientId=gatehouse',
      ],
      "at '/config/providers/0/issuer'",
    ],
    [['config.trustedProxies={10.0.0.0/33}'], "at '/config/trustedProxies/0'"],
    [['config.trustedProxies={10.0.0.300}'], "at '/config/trustedProxies/0'"],
    [['config.redirects.allowedDomains={Example..com}'], "at '/config/redirects/allowedDomains/0'"],
    [['config.sessions.cookie.domain=https://example.com'], "at '/config/sessions/cookie/domain'"],
    [['service.port=70000'], "at '/service/port'"],
    [['service.operationsPort=0'], "at '/service/operationsPort'"],
    [['networkPolicy.egress.redis.ports={6379,65536}'], "at '/networkPolicy/egress/redis/ports/1'"],
    [
      ['networkPolicy.egress.apiServer.to[0].ipBlock.cidr=10.0.0.1'],
      "at '/networkPolicy/egress/apiServer/to/0/ipBlock/cidr'",
    ],
    [['clusterDomain=cluster.local.'], "at '/clusterDomain'"],
    [['metrics.serviceMonitor.interval=30 seconds'], "at '/metrics/serviceMonitor/interval'"],
    [
      ['metrics.prometheusRule.alerts.GatehouseDown.for=5'],
      "at '/metrics/prometheusRule/alerts/GatehouseDown/for'",
    ],
    [
      ['metrics.prometheusRule.selector=\\{job="gatehouse"\\}'],
      "at '/metrics/prometheusRule/selector'",
    ],
    [['httpRoute.extraHostnames={https://login.example.com}'], "at '/httpRoute/extraHostnames/0'"],
    [['ingress.extraHosts={Login.Example.com}'], "at '/ingress/extraHosts/0'"],
    [['podDisruptionBudget.maxUnavailable=half'], "at '/podDisruptionBudget/maxUnavailable'"],
    [['heap.percentOfMemoryLimit=100'], "at '/heap/percentOfMemoryLimit'"],
  ])(
    'refuses --set %j with a message naming the value',
    { timeout: slow },
    async (set, message) => {
      const result = await helm(templateArgs({ set }));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema");
      expect(result.stderr).toContain(message);
    },
  );

  it('refuses a grace period shorter than the shutdown drain', async () => {
    const result = await helm(templateArgs({ set: ['terminationGracePeriodSeconds=20'] }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'terminationGracePeriodSeconds (20) must exceed config.server.shutdownDelay + shutdownTimeout (25s)',
    );
  });

  it.each([
    [
      ['podDisruptionBudget.minAvailable=1', 'podDisruptionBudget.maxUnavailable=1'],
      'podDisruptionBudget: set minAvailable (1) or maxUnavailable (1), not both',
    ],
    [
      ['heap.maxOldSpaceMiB=384'],
      'heap.maxOldSpaceMiB (384) must be below resources.limits.memory (384 MiB)',
    ],
    [
      ['resources.limits.memory=0.5Gi'],
      'resources.limits.memory "0.5Gi" is not a quantity the chart reads',
    ],
    [
      ['extraEnv[0].name=NODE_OPTIONS', 'extraEnv[0].value=--max-old-space-size=4096'],
      'extraEnv sets NODE_OPTIONS, which the chart sets from heap',
    ],
    [
      ['global.imageRegistry=https://registry.example.com'],
      'global.imageRegistry "https://registry.example.com" must be a registry host',
    ],
    [['httpRoute.enabled=true'], 'httpRoute.enabled needs httpRoute.parentRefs'],
  ])('refuses --set %j with a message saying what to change', async (set, message) => {
    const result = await helm(templateArgs({ set }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it('refuses a Redis scenario without its servers', async () => {
    const result = await helm(templateArgs({ set: ['redis.mode=sentinel'] }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('redis.sentinels is required with redis.mode=sentinel');
  });
});

describe('Chart.yaml', () => {
  it('appVersion is the application version of package.json', () => {
    const chart = parse(readFileSync(resolve(chartDir, 'Chart.yaml'), 'utf8')) as {
      apiVersion: string;
      appVersion: string;
    };
    const pkg = JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(chart.apiVersion).toBe('v2');
    expect(chart.appVersion).toBe(pkg.version);
  });
});
