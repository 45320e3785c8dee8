/**
 * The chart against a real kube-apiserver (test/fixtures/kube/): every object of every scenario
 * passes a server-side dry-run (admission and schema validation, nothing stored), the rendered
 * RBAC gives gatehouse's ServiceAccount exactly what it needs and no Secrets, and `helm install`
 * prints the NOTES an operator copies from, with the headers of the configured profile.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInProfiles } from '../../../src/identity/header-profiles.ts';
import { impersonatorHeaderNames } from '../../../src/identity/reserved-header-names.ts';
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
    // Where the extensions scenario puts its ServiceMonitor.
    await ensureNamespace(cluster, 'monitoring');
    // The chart's own CRDs (Helm installs crds/ before the templates), stand-ins for the
    // Prometheus Operator's, which the monitoring scenario uses, and the real Gateway API CRDs
    // (HTTPRoute, ReferenceGrant) for the extensions scenario.
    const crds = [
      ...(await crdObjects(resolve(chartDir, 'crds/gatehouse.dev_crds.yaml'))),
      ...(await crdObjects(resolve(import.meta.dirname, 'fixtures/monitoring-crds.yaml'))),
      ...(await crdObjects(resolve(import.meta.dirname, 'fixtures/gateway-api-crds.yaml'))),
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

  describe('NOTES.txt', () => {
    /** The NOTES `helm install --dry-run=client` prints (Helm asks the API server its version). */
    async function notes(args: readonly string[]): Promise<string> {
      const result = await helm([
        'install',
        'gatehouse',
        chartDir,
        '--kubeconfig',
        cluster.kubeconfigPath,
        '--namespace',
        namespace,
        '--dry-run=client',
        '-f',
        scenarioFile('minimal'),
        ...args,
      ]);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.slice(result.stdout.indexOf('NOTES:'));
    }

    /** The header names of each proxy's allow-list in the NOTES, which must be the same. */
    function allowLists(text: string): string[][] {
      const nginx = /auth-response-headers: "([^"]*)"/.exec(text)?.[1];
      const traefik = /authResponseHeaders: \[([^\]]*)\]/.exec(text)?.[1];
      const envoy = /headersToBackend: \[([^\]]*)\]/.exec(text)?.[1];
      return [nginx?.split(','), traefik?.split(', '), envoy?.split(', ')].map(
        (list) => list ?? [],
      );
    }

    it.each(Object.keys(builtInProfiles) as (keyof typeof builtInProfiles)[])(
      'lists the headers of the %s profile for every proxy',
      async (profile) => {
        const text = await notes(['--set', `config.identityHeaders.profile=${profile}`]);
        const expected = Object.keys(builtInProfiles[profile].headers);
        expect(allowLists(text)).toEqual([expected, expected, expected]);
        expect(text).toContain(`Identity headers (profile ${profile}): ${expected.join(', ')}.`);
      },
    );

    it('lists the custom profile, the impersonator and the assertion headers when configured', async () => {
      const text = await notes([
        '--set',
        'config.identityHeaders.profile=custom',
        '--set-json',
        'config.identityHeaders.custom={"X-Webauth-User":"user","X-Webauth-Groups":"groups"}',
        '--set',
        'config.impersonation.enabled=true',
        '--set',
        'config.identityHeaders.assertion.enabled=true',
        '--set',
        'secrets.assertionSigningKey.existingSecret=gatehouse-assertion',
      ]);
      const expected = [
        'X-Webauth-Groups',
        'X-Webauth-User',
        'X-Auth-Request-Impersonator',
        'X-Gatehouse-Assertion',
      ];
      expect(allowLists(text)).toEqual([expected, expected, expected]);
    });

    it('names the impersonator header in the spelling of the profile', async () => {
      const text = await notes([
        '--set',
        'config.identityHeaders.profile=remote',
        '--set',
        'config.impersonation.enabled=true',
      ]);
      expect(allowLists(text)[0]?.at(-1)).toBe(impersonatorHeaderNames['remote']);
    });

    it('addresses the Service in the cluster domain of clusterDomain', async () => {
      const text = await notes(['--set', 'clusterDomain=corp.internal']);
      expect(text).toContain(
        'nginx.ingress.kubernetes.io/auth-url: "http://gatehouse.gatehouse.svc.corp.internal:8080/authz/nginx?host=$host"',
      );
      expect(text).toContain(
        'address: http://gatehouse.gatehouse.svc.corp.internal:8080/authz/forward-auth',
      );
      expect(text).not.toContain('cluster.local');
    });
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
