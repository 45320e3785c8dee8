/**
 * The chart against a real kube-apiserver (test/fixtures/kube/): every object of every scenario
 * passes a server-side dry-run (admission and schema validation, nothing stored), the rendered
 * RBAC gives gatehouse's ServiceAccount exactly what it needs and no Secrets, and `helm install`
 * prints the NOTES an operator copies from.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../../fixtures/kube/kube-apiserver.ts';
import type { KubeTestCluster } from '../../fixtures/kube/kube-apiserver.ts';
import {
  chartDir,
  ensureHelm,
  helm,
  parseObjects,
  render,
  scenarioFile,
  scenarios,
} from './helm.ts';
import type { KubeObject } from './helm.ts';
import { apply, ensureNamespace, ResourcePaths, rest, waitForCrds } from './kube-rest.ts';

const skip = process.env.GATEHOUSE_SKIP_KUBE === '1';
const namespace = 'gatehouse';

async function crdObjects(file: string): Promise<KubeObject[]> {
  return parseObjects(await readFile(file, 'utf8'));
}

describe.skipIf(skip)('the chart on a real API server', () => {
  let cluster: KubeTestCluster;
  let paths: ResourcePaths;

  beforeAll(async () => {
    [cluster] = await Promise.all([startKubeApiServer(), ensureHelm()]);
    paths = new ResourcePaths(cluster);
    await ensureNamespace(cluster, namespace);
    await ensureNamespace(cluster, 'other');
    // The chart's own CRDs (Helm installs crds/ before the templates) and stand-ins for the
    // Prometheus Operator's, which the monitoring scenario uses.
    const crds = [
      ...(await crdObjects(resolve(chartDir, 'crds/gatehouse.dev_crds.yaml'))),
      ...(await crdObjects(resolve(import.meta.dirname, 'fixtures/monitoring-crds.yaml'))),
    ];
    for (const crd of crds) await apply(cluster, paths, crd, namespace);
    await waitForCrds(
      cluster,
      crds.map((crd) => crd.metadata.name),
    );
    paths.reset();
  }, 30 * 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  it.each(['default', ...scenarios])(
    '%s: every rendered object passes a server-side dry-run',
    { timeout: 120_000 },
    async (scenario) => {
      const objects = await render({
        release: 'gh',
        namespace,
        ...(scenario === 'default' ? {} : { valuesFiles: [scenarioFile(scenario)] }),
      });
      expect(objects.length).toBeGreaterThan(5);
      const failures: string[] = [];
      for (const object of objects) {
        const path = await paths.collection(object, namespace);
        const response = await rest(cluster, 'POST', `${path}?dryRun=All&fieldValidation=Strict`, {
          body: JSON.stringify(object),
        });
        if (response.status !== 201 && response.status !== 200) {
          failures.push(
            `${object.kind}/${object.metadata.name}: HTTP ${response.status} ${response.body}`,
          );
        }
      }
      expect(failures).toEqual([]);
      // Dry-run stores nothing.
      const stored = await rest(
        cluster,
        'GET',
        `/apis/apps/v1/namespaces/${namespace}/deployments`,
      );
      expect((JSON.parse(stored.body) as { items: unknown[] }).items).toEqual([]);
    },
  );

  it('helm install prints the annotations for ingress-nginx, Traefik and Envoy Gateway', async () => {
    const result = await helm([
      'install',
      'gatehouse',
      chartDir,
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--namespace',
      namespace,
      '--dry-run=server',
      '--skip-crds',
      '-f',
      scenarioFile('minimal'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const notes = result.stdout.slice(result.stdout.indexOf('NOTES:'));
    expect(notes).toContain(
      'nginx.ingress.kubernetes.io/auth-url: "http://gatehouse.gatehouse.svc.cluster.local:8080/authz/nginx?host=$host"',
    );
    // ingress-nginx appends ?rd=$scheme://$host$escaped_request_uri itself (proxy-protocols.md §1.2).
    expect(notes).toContain(
      'nginx.ingress.kubernetes.io/auth-signin: "https://auth.example.com/oauth2/start"',
    );
    expect(notes).toContain(
      'address: http://gatehouse.gatehouse.svc.cluster.local:8080/authz/forward-auth',
    );
    // Traefik must set the forwarded headers itself (docs/proxy-protocols.md §3).
    expect(notes).toContain('trustForwardHeader: false');
    expect(notes).not.toContain('trustForwardHeader: true\n');
    expect(notes).toContain('addAuthCookiesToResponse: [_gatehouse]');
    expect(notes).toContain('path: /authz/ext-authz');
    expect(notes).toContain('failOpen: false');
    expect(notes).toContain('redirect URI is https://auth.example.com/oauth2/callback');
  });

  describe('RBAC rendered from files/rbac-rules.yaml', () => {
    const serviceAccount = `system:serviceaccount:${namespace}:gatehouse`;
    let token: string;

    beforeAll(async () => {
      const objects = await render({ release: 'gatehouse', namespace });
      const rbacKinds = new Set(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
      const rbac = objects.filter((object) => rbacKinds.has(object.kind));
      expect(rbac.map((object) => object.kind).sort()).toEqual([...rbacKinds].sort());
      for (const object of rbac) await apply(cluster, paths, object, namespace);
      token = cluster.userToken(serviceAccount, [
        'system:serviceaccounts',
        `system:serviceaccounts:${namespace}`,
        'system:authenticated',
      ]);
    });

    async function allowed(attributes: Record<string, string>): Promise<boolean> {
      const response = await rest(
        cluster,
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          token,
          body: JSON.stringify({
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes: attributes },
          }),
        },
      );
      expect(response.status).toBe(201);
      return (JSON.parse(response.body) as { status: { allowed: boolean } }).status.allowed;
    }

    const kinds = [
      'accesspolicies',
      'clusteraccesspolicies',
      'rolemappings',
      'clusterrolemappings',
      'hostdelegations',
    ];

    it.each(kinds)(
      'lets the ServiceAccount list and watch %s and patch their status',
      async (resource) => {
        for (const verb of ['list', 'watch', 'get']) {
          expect(await allowed({ group: 'gatehouse.dev', resource, verb })).toBe(true);
        }
        expect(
          await allowed({ group: 'gatehouse.dev', resource, subresource: 'status', verb: 'patch' }),
        ).toBe(true);
        // Never the spec, never a delete: gatehouse only reports on policies.
        for (const verb of ['update', 'patch', 'delete', 'create']) {
          expect(await allowed({ group: 'gatehouse.dev', resource, verb })).toBe(false);
        }
      },
    );

    it('lets the ServiceAccount read IngressClasses (which Ingresses count), never write them', async () => {
      for (const verb of ['get', 'list', 'watch']) {
        expect(
          await allowed({ group: 'networking.k8s.io', resource: 'ingressclasses', verb }),
        ).toBe(true);
      }
      for (const verb of ['create', 'update', 'patch', 'delete']) {
        expect(
          await allowed({ group: 'networking.k8s.io', resource: 'ingressclasses', verb }),
        ).toBe(false);
      }
      // The route's own status names the Gateways that accepted it: Gateways are not read.
      expect(
        await allowed({ group: 'gateway.networking.k8s.io', resource: 'gateways', verb: 'list' }),
      ).toBe(false);
    });

    it('denies Secrets everywhere, and Leases outside its namespace', async () => {
      for (const verb of ['get', 'list', 'watch']) {
        expect(await allowed({ resource: 'secrets', verb, namespace })).toBe(false);
        expect(await allowed({ resource: 'secrets', verb })).toBe(false);
      }
      expect(
        await allowed({
          group: 'coordination.k8s.io',
          resource: 'leases',
          verb: 'update',
          namespace,
        }),
      ).toBe(true);
      expect(
        await allowed({
          group: 'coordination.k8s.io',
          resource: 'leases',
          verb: 'update',
          namespace: 'other',
        }),
      ).toBe(false);
    });

    it('real calls: listing policies works, reading a Secret is forbidden', async () => {
      const policies = await rest(cluster, 'GET', '/apis/gatehouse.dev/v1alpha1/accesspolicies', {
        token,
      });
      expect(policies.status, policies.body).toBe(200);
      const secrets = await rest(cluster, 'GET', `/api/v1/namespaces/${namespace}/secrets`, {
        token,
      });
      expect(secrets.status).toBe(403);
    });
  });
});
