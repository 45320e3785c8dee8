/**
 * A real Caddy with `forward_auth` in front of the application (proxy-protocols.md §5): the
 * check goes to gatehouse's /authz/forward-auth as a GET with X-Forwarded-Method/-Uri/-Host/
 * -Proto; a 2xx continues with `copy_headers` copied onto the upstream request, anything else
 * (302, 401, 403) goes to the client unchanged.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../fixtures/gatehouse/free-port.ts';
import { routedServerHeader } from './nginx.ts';
import { requireExecutable, startProcess } from './process.ts';

/** gatehouse's endpoint for Traefik ForwardAuth and Caddy forward_auth (docs/architecture.md, Endpoints). */
export const forwardAuthPath = '/authz/forward-auth';

export interface CaddyOptions {
  /** gatehouse main listener, `http://127.0.0.1:<port>`. It must trust 127.0.0.1 (trustedProxies). */
  readonly gatehouseUrl: string;
  readonly upstreamUrl: string;
  /** `copy_headers`: identity headers copied from the auth answer onto the upstream request. */
  readonly copyHeaders: readonly string[];
  /** Site host; default `app.test`. Requests name it in their `Host` header. */
  readonly host?: string;
  /** More sites with the same handlers (one per application host). */
  readonly extraHosts?: readonly string[];
}

export interface RunningCaddy {
  /** `http://127.0.0.1:<port>`; send requests with `Host: <host>:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly caddyfile: string;
  /** Caddy's own log (JSON lines on stderr). */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

/** `127.0.0.1:1234` from `http://127.0.0.1:1234`: Caddy upstreams are dial addresses. */
function dialAddress(url: string): string {
  return new URL(url).host;
}

export function renderCaddyfile(options: CaddyOptions, paths: { dataDir: string; port: number }) {
  const hosts = [options.host ?? 'app.test', ...(options.extraHosts ?? [])];
  const sites = hosts.map(
    (host) => `
http://${host}:${String(paths.port)} {
  bind 127.0.0.1
  forward_auth ${dialAddress(options.gatehouseUrl)} {
    uri ${forwardAuthPath}
    copy_headers ${options.copyHeaders.join(' ')}
  }
  reverse_proxy ${dialAddress(options.upstreamUrl)} {
    # Test instrumentation: which site served the request.
    header_up ${routedServerHeader} ${host}
  }
}
`,
  );
  return `# Rendered by test/e2e/harness/caddy.ts.
{
  # No admin endpoint (it would take port 2019), no certificates; storage in the temp dir.
  admin off
  auto_https off
  storage file_system ${paths.dataDir}
}
${sites.join('')}`;
}

export async function startCaddy(options: CaddyOptions): Promise<RunningCaddy> {
  const caddy = requireExecutable('caddy');
  const home = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-caddy-'));
  const dataDir = join(home, 'data');
  await mkdir(dataDir);
  const logPath = join(home, 'caddy.log');
  const logs = async () => {
    try {
      return await readFile(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  // Caddy keeps its state under $HOME / $XDG_*: point them at the temp dir.
  const env = {
    ...process.env,
    HOME: home,
    XDG_DATA_HOME: dataDir,
    XDG_CONFIG_HOME: join(home, 'config'),
  };

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await findFreePort();
    const caddyfile = renderCaddyfile(options, { dataDir, port });
    const configPath = join(home, 'Caddyfile');
    await writeFile(configPath, caddyfile);
    try {
      const started = await startProcess({
        name: 'caddy',
        command: caddy,
        args: ['run', '--config', configPath, '--adapter', 'caddyfile'],
        logPath,
        env,
        port,
      });
      return {
        url: `http://127.0.0.1:${String(port)}`,
        port,
        caddyfile,
        logs,
        stop: async () => {
          await started.stop();
          await rm(home, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
    }
  }
  await rm(home, { recursive: true, force: true });
  throw lastError;
}
