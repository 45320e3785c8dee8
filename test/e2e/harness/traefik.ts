/**
 * A real Traefik v3.6 (built from its Go module by scripts/traefik/build.sh) with a ForwardAuth
 * middleware in front of the application, configured with the file provider the way
 * docs/proxy-protocols.md documents it: `trustForwardHeader: false`, so Traefik sets
 * X-Forwarded-Method/-Proto/-Host/-Uri from the request it routes, whatever the client sent.
 *
 * The entrypoint trusts forwarded headers from 127.0.0.1 (`forwardedHeaders.trustedIPs`), as an
 * entrypoint behind a cloud load balancer does: that is the setup in which `trustForwardHeader:
 * true` hands the client's own X-Forwarded-Uri to gatehouse.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from '../../fixtures/gatehouse/free-port.ts';
import { sendThrough } from './client.ts';
import { routedServerHeader } from './nginx.ts';
import { startProcess } from './process.ts';

const execFileAsync = promisify(execFile);
const buildScript = resolve(import.meta.dirname, '../../../scripts/traefik/build.sh');

export interface TraefikOptions {
  /** gatehouse main listener; it must trust 127.0.0.1 (trustedProxies). */
  readonly gatehouseUrl: string;
  readonly upstreamUrl: string;
  /** `authResponseHeaders`: identity headers copied onto the upstream request. */
  readonly authResponseHeaders: readonly string[];
  /** One router per host; default `app.test`. */
  readonly hosts?: readonly string[];
  /** The ForwardAuth setting; default false, as documented. True only to show why. */
  readonly trustForwardHeader?: boolean;
}

export interface RunningTraefik {
  /** `http://127.0.0.1:<port>`; send requests with `Host: <host>:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly config: string;
  logs(): Promise<string>;
  stop(): Promise<void>;
}

/** The cached binary, or an Error that says how to build it (tests fail, never skip). */
export async function traefikBinary(): Promise<string> {
  const { stdout } = await execFileAsync('bash', [buildScript, '--print-path']);
  const path = stdout.trim();
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `Traefik is not built (${path}): run \`make prerequisites\` (scripts/traefik/build.sh builds ` +
        'it from its Go module, about 13 minutes once, then cached in GATEHOUSE_TOOLS_DIR)',
    );
  }
  return path;
}

/** The dynamic configuration (file provider), YAML. */
export function renderTraefikConfig(options: TraefikOptions): string {
  const hosts = options.hosts ?? ['app.test'];
  const routers = hosts
    .map(
      (host, index) => `    site${String(index)}:
      rule: "Host(\`${host}\`)"
      entryPoints: [web]
      middlewares: [gatehouse, routed${String(index)}]
      service: app`,
    )
    .join('\n');
  // Test instrumentation: which router served the request (after the auth middleware).
  const routed = hosts
    .map(
      (host, index) => `    routed${String(index)}:
      headers:
        customRequestHeaders:
          ${routedServerHeader}: "${host}"`,
    )
    .join('\n');
  return `# Rendered by test/e2e/harness/traefik.ts.
http:
  routers:
${routers}
  middlewares:
    gatehouse:
      forwardAuth:
        address: "${new URL('/authz/forward-auth', options.gatehouseUrl).href}"
        trustForwardHeader: ${String(options.trustForwardHeader ?? false)}
        authResponseHeaders: [${options.authResponseHeaders.join(', ')}]
${routed}
  services:
    app:
      loadBalancer:
        passHostHeader: true
        servers:
          - url: "${options.upstreamUrl}"
`;
}

export async function startTraefik(options: TraefikOptions): Promise<RunningTraefik> {
  const traefik = await traefikBinary();
  const home = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-traefik-'));
  const logPath = join(home, 'traefik.log');
  const configPath = join(home, 'dynamic.yaml');
  const config = renderTraefikConfig(options);
  await writeFile(configPath, config);
  const logs = async () => {
    try {
      return await readFile(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await findFreePort();
    try {
      const started = await startProcess({
        name: 'traefik',
        command: traefik,
        args: [
          `--entryPoints.web.address=127.0.0.1:${String(port)}`,
          '--entryPoints.web.forwardedHeaders.trustedIPs=127.0.0.1/32',
          `--providers.file.filename=${configPath}`,
          '--providers.file.watch=false',
          '--log.level=INFO',
          '--global.checkNewVersion=false',
          '--global.sendAnonymousUsage=false',
        ],
        logPath,
        env: { ...process.env, HOME: home },
        port,
        timeoutMs: 20_000,
      });
      const url = `http://127.0.0.1:${String(port)}`;
      // Traefik listens before the file provider's routers are in place: wait for a router.
      await waitForRouter(url, options.hosts?.[0] ?? 'app.test');
      return {
        url,
        port,
        config,
        logs,
        stop: async () => {
          await started.stop();
          await rm(home, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = new Error(`${String(error)}\n--- traefik log ---\n${await logs()}`, {
        cause: error,
      });
    }
  }
  await rm(home, { recursive: true, force: true });
  throw lastError;
}

/** Until the router answers something other than Traefik's own 404 for unknown hosts. */
async function waitForRouter(url: string, host: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const response = await sendThrough(url, host, '/').catch(() => null);
    if (response !== null && !(response.status === 404 && response.body.startsWith('404 page'))) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('Traefik did not load its routers in time');
}
