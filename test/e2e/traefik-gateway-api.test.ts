/**
 * examples/gateway-api/traefik/ through a real Traefik v3.6 (scripts/traefik/build.sh) running its
 * Gateway API and Kubernetes CRD providers against a real kube-apiserver (test/fixtures/kube/)
 * with the real Gateway API and Traefik CRDs: Traefik accepts the example's HTTPRoute, applies the
 * example's ForwardAuth Middleware through the route's ExtensionRef filter, and gatehouse decides.
 *
 * What the test changes in the example, and why, and nothing else:
 * - the Middleware's `address` names the test gatehouse on loopback instead of the Service DNS
 *   name (there is no cluster DNS);
 * - the Gateway's listener is plain HTTP on Traefik's test entrypoint port (a listener port must
 *   be an entrypoint's; no certificate is needed to show the check);
 * - the route's backend is a file-provider service (`TraefikService` `app@file`) pointing at the
 *   echo upstream, because EndpointSlices may not hold loopback addresses and no kubelet runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInProfiles } from '../../src/identity/header-profiles.ts';
import { findFreePort } from '../fixtures/gatehouse/free-port.ts';
import { startTestGatehouse } from '../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../fixtures/gatehouse/start.ts';
import { startKubeApiServer } from '../fixtures/kube/kube-apiserver.ts';
import type { KubeTestCluster } from '../fixtures/kube/kube-apiserver.ts';
import { ensureNamespace, ResourcePaths, rest } from '../integration/chart/kube-rest.ts';
import { exampleCrds, installCrds } from '../integration/examples/crds.ts';
import { exampleObject } from '../integration/examples/examples.ts';
import type { ManifestObject } from '../integration/examples/examples.ts';
import { sendThrough } from './harness/client.ts';
import { parseEcho, startEchoUpstream } from './harness/echo-upstream.ts';
import type { EchoUpstream } from './harness/echo-upstream.ts';
import { startProcess } from './harness/process.ts';
import type { StartedProcess } from './harness/process.ts';
import { traefikBinary } from './harness/traefik.ts';

const skip = process.env.GATEHOUSE_SKIP_KUBE === '1';
const folder = 'examples/gateway-api/traefik';
const appHost = 'app.example.com';

const policy = `
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: shop, namespace: shop }
spec:
  hosts: [${appHost}]
  rules:
    - name: assets
      match: [{ path: { type: PathPrefix, value: /static }, methods: [GET, HEAD] }]
      roles: [guest]
    - name: app
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
`;

interface Listener {
  name: string;
  protocol: string;
  port: number;
  tls?: unknown;
}

describe.skipIf(skip)('Traefik on the Gateway API with examples/gateway-api/traefik', () => {
  let cluster: KubeTestCluster;
  let gatehouse: TestGatehouse;
  let upstream: EchoUpstream;
  let traefik: StartedProcess | undefined;
  let home: string;
  let traefikUrl: string;
  let route: ManifestObject;

  async function create(object: ManifestObject, paths: ResourcePaths): Promise<void> {
    const response = await rest(cluster, 'POST', await paths.collection(object, 'default'), {
      body: JSON.stringify(object),
    });
    if (response.status !== 201) {
      throw new Error(
        `creating ${object.kind} ${object.metadata.name}: HTTP ${String(response.status)} ${response.body}`,
      );
    }
  }

  beforeAll(async () => {
    const binary = await traefikBinary();
    const [started, crds, echo, port] = await Promise.all([
      startKubeApiServer(),
      exampleCrds(),
      startEchoUpstream(),
      findFreePort(),
    ]);
    cluster = started;
    upstream = echo;
    gatehouse = await startTestGatehouse({
      policies: policy,
      publicUrl: 'https://auth.example.com',
      // Traefik calls gatehouse from loopback.
      trustedProxies: ['127.0.0.1/32'],
    });
    const paths = new ResourcePaths(cluster);
    await installCrds(cluster, paths, crds);
    for (const namespace of ['traefik', 'shop', 'gatehouse'])
      await ensureNamespace(cluster, namespace);

    const gatewayClass = exampleObject(folder, 'GatewayClass');
    const gateway = structuredClone(exampleObject(folder, 'Gateway')) as ManifestObject & {
      spec: { listeners: Listener[] };
    };
    const listener = gateway.spec.listeners[0]!;
    delete listener.tls;
    listener.protocol = 'HTTP';
    listener.port = port;
    const middleware = structuredClone(exampleObject(folder, 'Middleware')) as ManifestObject & {
      spec: { forwardAuth: { address: string } };
    };
    middleware.spec.forwardAuth.address = gatehouse.url('/authz/forward-auth');
    route = structuredClone(exampleObject(folder, 'HTTPRoute', 'app'));
    (route.spec as { rules: { backendRefs: unknown[] }[] }).rules[0]!.backendRefs = [
      { group: 'traefik.io', kind: 'TraefikService', name: 'app@file' },
    ];
    for (const object of [gatewayClass, gateway, middleware, route]) await create(object, paths);

    home = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-traefik-gateway-'));
    const caFile = join(home, 'ca.pem');
    const dynamicFile = join(home, 'dynamic.yaml');
    await writeFile(caFile, cluster.caPem);
    await writeFile(
      dynamicFile,
      `http:\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: "${upstream.url}"\n`,
    );
    const kubernetes = (provider: string) => [
      `--providers.${provider}.endpoint=${cluster.server}`,
      `--providers.${provider}.token=${cluster.adminToken}`,
      `--providers.${provider}.certAuthFilePath=${caFile}`,
    ];
    traefik = await startProcess({
      name: 'traefik',
      command: binary,
      args: [
        // The entrypoint is named like the example Gateway's listener; its port is the listener's.
        `--entryPoints.${listener.name}.address=127.0.0.1:${String(port)}`,
        '--providers.kubernetesgateway=true',
        ...kubernetes('kubernetesgateway'),
        // Serves the Middleware the HTTPRoute's ExtensionRef filter names.
        '--providers.kubernetescrd=true',
        ...kubernetes('kubernetescrd'),
        `--providers.file.filename=${dynamicFile}`,
        '--log.level=INFO',
        '--global.checkNewVersion=false',
        '--global.sendAnonymousUsage=false',
      ],
      logPath: join(home, 'traefik.log'),
      env: { ...process.env, HOME: home },
      port,
      timeoutMs: 30_000,
    });
    traefikUrl = `http://127.0.0.1:${String(port)}`;
    // Traefik listens before its providers have synced: wait until the route answers.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = await sendThrough(traefikUrl, appHost, '/static/app.css').catch(() => null);
      if (answer?.status === 200) break;
      if (Date.now() > deadline) {
        throw new Error(
          `Traefik did not route ${appHost} in time (last status ${String(answer?.status)})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 30 * 60_000);

  afterAll(async () => {
    await traefik?.stop();
    await Promise.all([gatehouse.close(), upstream.close(), cluster.stop()]);
    await rm(home, { recursive: true, force: true });
  });

  it('marks the example HTTPRoute Accepted with its references resolved', async () => {
    const response = await rest(
      cluster,
      'GET',
      `/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/${route.metadata.name}`,
    );
    const status = (
      JSON.parse(response.body) as {
        status?: {
          parents?: { controllerName: string; conditions: { type: string; status: string }[] }[];
        };
      }
    ).status;
    const parent = status?.parents?.find(
      (candidate) => candidate.controllerName === 'traefik.io/gateway-controller',
    );
    const conditions = Object.fromEntries(
      (parent?.conditions ?? []).map((c) => [c.type, c.status]),
    );
    expect(conditions).toMatchObject({ Accepted: 'True', ResolvedRefs: 'True' });
  });

  it('lets an anonymous visitor reach a public path, with the identity headers empty', async () => {
    const before = upstream.received.length;
    const answer = await sendThrough(traefikUrl, appHost, '/static/app.css');
    expect(answer.status).toBe(200);
    const echoed = parseEcho(answer.body);
    expect(echoed.url).toBe('/static/app.css');
    expect(upstream.received.length).toBe(before + 1);
    expect(echoed.headers['x-auth-request-user'] ?? '').toBe('');
  });

  it('sends a browser to sign in for a protected path, and the app never sees the request', async () => {
    const before = upstream.received.length;
    const answer = await sendThrough(traefikUrl, appHost, '/orders', {
      headers: [['Accept', 'text/html']],
    });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toMatch(/^https:\/\/auth\.example\.com\/oauth2\/start\?rd=/);
    expect(upstream.received.length).toBe(before);
  });

  it('answers an API client 401 and judges the path Traefik routes, not a forged X-Forwarded-Uri', async () => {
    const before = upstream.received.length;
    const answer = await sendThrough(traefikUrl, appHost, '/orders', {
      headers: [['X-Forwarded-Uri', '/static/app.css']],
    });
    expect(answer.status).toBe(401);
    expect(upstream.received.length).toBe(before);
  });

  it('refuses a request carrying its own identity header (403), before it reaches the app', async () => {
    const before = upstream.received.length;
    const header = Object.keys(builtInProfiles['x-auth-request'].headers)[0]!;
    const answer = await sendThrough(traefikUrl, appHost, '/static/app.css', {
      headers: [[header, 'mallory']],
    });
    // identityHeaders.rejectClientCopies (default true): ForwardAuth passes the client's headers
    // to gatehouse, which refuses the forged copy.
    expect(answer.status).toBe(403);
    expect(upstream.received.length).toBe(before);
  });
});
