/**
 * Scenario (g): nginx in front, configured the way ingress-nginx renders `auth-url`
 * (test/e2e/harness/nginx.ts `renderNginxConfig`, the verified rendition of
 * docs/proxy-protocols.md §1.3), plus a location WITHOUT auth proxying to the
 * same upstream: one nginx, the same worker, the same upstream, so the difference between the
 * two is the auth subrequest alone.
 *
 * Changes to the rendered test configuration, for load: no access log (it costs the same with
 * and without auth, and fills the disk), 4096 worker connections (each client connection holds
 * an upstream and an auth connection), and the one worker pinned with `worker_cpu_affinity`.
 */
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { renderNginxConfig } from '../test/e2e/harness/nginx.ts';
import { requireExecutable } from '../test/e2e/harness/process.ts';
import { findFreePort } from '../test/fixtures/gatehouse/free-port.ts';
import { childPids } from './proc-stats.ts';
import { startPinnedProcess } from './server-process.ts';
import type { PinnedProcess } from './server-process.ts';

/** Requests to this prefix go straight to the upstream, without auth. */
export const noAuthPrefix = '/noauth/';

export interface NginxFrontOptions {
  readonly gatehouseUrl: string;
  readonly upstreamUrl: string;
  readonly serverName: string;
  /** CPU nginx runs on (the master is started with taskset; the worker is pinned too). */
  readonly cpu: string | undefined;
}

export interface NginxFront {
  readonly url: string;
  /** Master and worker: their CPU time is part of the scenario's cost. */
  pids(): number[];
  readonly logPath: string;
  stop(): Promise<void>;
}

/** The rendered ingress-nginx configuration, adapted for load (see the module comment). */
export function benchNginxConfig(options: NginxFrontOptions, prefix: string, port: number): string {
  const rendered = renderNginxConfig(
    {
      gatehouseUrl: options.gatehouseUrl,
      upstreamUrl: options.upstreamUrl,
      signInUrl: 'http://auth.bench.test/oauth2/start',
      responseHeaders: ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups'],
      serverName: options.serverName,
      extraLocations: [
        `    location ${noAuthPrefix} {`,
        '      proxy_set_header Host $http_host;',
        '      proxy_http_version 1.1;',
        `      proxy_pass ${options.upstreamUrl};`,
        '    }',
      ].join('\n'),
    },
    { prefix, port },
  );
  const affinity =
    options.cpu === undefined ? '' : `\nworker_cpu_affinity ${cpuMask(options.cpu)};`;
  const replaced = rendered
    .replace('worker_processes 1;', `worker_processes 1;${affinity}`)
    .replace(/events \{ worker_connections \d+; \}/, 'events { worker_connections 4096; }')
    .replace(/access_log \S+\/logs\/access\.log;/, 'access_log off;');
  if (!replaced.includes('access_log off;') || !replaced.includes('worker_connections 4096')) {
    throw new Error('the nginx harness changed shape; update bench/nginx-front.ts');
  }
  return replaced;
}

/** `0` → `1`, `1` → `10`: nginx's bit mask for one CPU number. */
export function cpuMask(cpu: string): string {
  const number = Number(cpu);
  if (!Number.isInteger(number) || number < 0)
    throw new Error(`one CPU number expected, got "${cpu}"`);
  return `1${'0'.repeat(number)}`;
}

const execFileAsync = promisify(execFile);

export async function startNginxFront(options: NginxFrontOptions): Promise<NginxFront> {
  const nginx = requireExecutable('nginx');
  const prefix = await mkdtemp(join(tmpdir(), 'gatehouse-bench-nginx-'));
  // Started as root, the worker switches to `nobody`, who must reach the temp paths.
  await chmod(prefix, 0o755);
  await mkdir(join(prefix, 'logs'));
  await mkdir(join(prefix, 'cache'));
  const port = await findFreePort();
  const configPath = join(prefix, 'nginx.conf');
  await writeFile(configPath, benchNginxConfig(options, prefix, port));
  const errorLog = join(prefix, 'logs', 'error.log');
  const base = ['-p', `${prefix}/`, '-c', configPath, '-e', errorLog];
  await execFileAsync(nginx, [...base, '-t', '-q']);
  let master: PinnedProcess;
  try {
    master = await startPinnedProcess({
      name: 'nginx',
      command: nginx,
      args: [...base, '-g', 'daemon off;'],
      cpu: options.cpu,
      logPath: join(prefix, 'logs', 'stderr.log'),
      ready: { kind: 'port', port },
    });
  } catch (error) {
    await rm(prefix, { recursive: true, force: true });
    throw error;
  }
  return {
    url: master.url,
    pids: () => [master.pid, ...childPids(master.pid)],
    logPath: errorLog,
    stop: async () => {
      await master.stop();
      await rm(prefix, { recursive: true, force: true });
    },
  };
}
