/**
 * nginx in front of one application the way ingress-nginx renders it (auth-url, auth-signin,
 * auth-response-headers), in the same-host callback topology of proxy-protocols.md §6: a second
 * Ingress without auth annotations routes gatehouse's sign-in prefix (`/oauth2/`) on the app host
 * to gatehouse, so the session cookie is host-only on the app host and reaches the browser through
 * nginx. Used by `make demo` and by the browser tests (test/e2e/browser/), so what a newcomer
 * clicks through is what CI drives Chromium through.
 *
 * The auth part is the e2e harness's verified ingress-nginx rendition (test/e2e/harness/nginx.ts);
 * this module only adds the sign-in location and gatehouse's own 403 page.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { nginxAuthPath, renderNginxConfig } from '../../test/e2e/harness/nginx.ts';
import { requireExecutable, requireFile, startProcess } from '../../test/e2e/harness/process.ts';

export interface AppIngressOptions {
  /** The application's host name, e.g. `app.localhost`. */
  readonly host: string;
  /** The port nginx listens on (127.0.0.1); part of the public URL, so chosen by the caller. */
  readonly port: number;
  /** gatehouse main listener, `http://127.0.0.1:<port>`. */
  readonly gatehouseUrl: string;
  /** The application, `http://127.0.0.1:<port>`. */
  readonly upstreamUrl: string;
  /** gatehouse's `routes.prefix`, `/oauth2` by default. */
  readonly routesPrefix: string;
  /** `auth-response-headers`: identity headers copied onto the upstream request. */
  readonly responseHeaders: readonly string[];
}

export interface RunningAppIngress {
  /** `http://<host>:<port>`: what a browser opens, and gatehouse's `publicUrl`. */
  readonly origin: string;
  /** `http://127.0.0.1:<port>`, for clients that send `Host` themselves. */
  readonly url: string;
  readonly config: string;
  /** nginx's error log. */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

/** The named location that renders gatehouse's 403 page for a denied request. */
const forbiddenLocation = '@gatehouse_forbidden';

/** `http://<host>:<port>`: the app's origin, also gatehouse's public URL in this topology. */
export function appOrigin(options: Pick<AppIngressOptions, 'host' | 'port'>): string {
  return `http://${options.host}:${String(options.port)}`;
}

export function renderAppIngress(options: AppIngressOptions, prefix: string): string {
  const origin = appOrigin(options);
  const routesPrefix = options.routesPrefix.replace(/\/+$/, '');
  const gatehouse = new URL(options.gatehouseUrl).origin;
  const extraLocations = `
    # The sign-in routes on the app host (a second Ingress without auth annotations, as in
    # ingress-nginx docs/examples/auth/oauth-external-auth): start, callback, sign-out, the pages'
    # stylesheet. gatehouse's Set-Cookie passes through to the browser unchanged.
    location ${routesPrefix}/ {
      proxy_set_header Host $http_host;
      proxy_set_header X-Request-ID $req_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_http_version 1.1;
      proxy_pass ${gatehouse};
    }

    # auth_request discards the auth service's body and answers 403 with nginx's own page
    # (proxy-protocols.md §1.2). To show gatehouse's page (reason, request id, whom to ask), the
    # denied request is asked again as a plain proxied request, whose body nginx passes through.
    # In a cluster, custom-http-errors: "403" with a default backend plays this part. It asks
    # gatehouse, never the application, so nothing can slip through here (the error backend that
    # served content is what made CVE-2026-24513 an auth bypass); and \`error_page 403\` without
    # \`=\` keeps the 403 status whatever this second answer says.
    location ${forbiddenLocation} {
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host ${new URL(gatehouse).hostname};
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Request-ID $req_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_method GET;
      proxy_http_version 1.1;
      # The routed host, as in the auth-url (\`?host=$host\`): without it gatehouse refuses the
      # check. \`proxy_pass\` with a variable sends exactly this URI (gatehouse is an IP here; a
      # DNS name would need a \`resolver\`).
      proxy_pass ${gatehouse}${nginxAuthPath}?host=$host;
    }
`;
  const rendered = renderNginxConfig(
    {
      gatehouseUrl: options.gatehouseUrl,
      upstreamUrl: options.upstreamUrl,
      signInUrl: `${origin}${routesPrefix}/start`,
      responseHeaders: options.responseHeaders,
      serverName: options.host,
      extraLocations,
    },
    { prefix, port: options.port },
  );
  // The 403 handler must sit in the app location itself: error_page is inherited from the server
  // level only by locations that declare none, and the app location declares the 401 one.
  const signInErrorPage = /^( *)error_page 401 = @[0-9a-f]+;$/m;
  const match = signInErrorPage.exec(rendered);
  if (match === null) {
    throw new Error('the ingress-nginx rendition has no `error_page 401` line to extend');
  }
  const indent = match[1] ?? '';
  return rendered.replace(
    signInErrorPage,
    `${match[0]}\n${indent}error_page 403 ${forbiddenLocation};`,
  );
}

const execFileAsync = promisify(execFile);

/** The modules the ingress-nginx rendition loads (set-misc builds `rd`; it needs the NDK). */
const requiredModules = [
  ['/usr/lib/nginx/modules/ndk_http_module.so', 'libnginx-mod-http-ndk'],
  ['/usr/lib/nginx/modules/ngx_http_set_misc_module.so', 'libnginx-mod-http-set-misc'],
] as const;

/**
 * nginx's path, or why it cannot be used (the demo then runs without it, with curl examples).
 */
export function findNginx(): { readonly path: string } | { readonly missing: string } {
  try {
    const path = requireExecutable('nginx');
    for (const [module, packageName] of requiredModules) requireFile(module, packageName);
    return { path };
  } catch (error) {
    return { missing: error instanceof Error ? error.message : String(error) };
  }
}

/** Starts nginx on `127.0.0.1:<port>` with the rendered configuration in a temporary folder. */
export async function startAppIngress(options: AppIngressOptions): Promise<RunningAppIngress> {
  const nginx = requireExecutable('nginx');
  const prefix = await mkdtemp(join(tmpdir(), 'gatehouse-app-ingress-'));
  // Run as root, nginx workers switch to `nobody`, who must reach the temp and cache paths.
  await chmod(prefix, 0o755);
  await mkdir(join(prefix, 'logs'));
  await mkdir(join(prefix, 'cache'));
  const errorLog = join(prefix, 'logs', 'error.log');
  const logs = async () => readFile(errorLog, 'utf8').catch(() => '');
  const cleanUp = () => rm(prefix, { recursive: true, force: true });

  try {
    const config = renderAppIngress(options, prefix);
    const configPath = join(prefix, 'nginx.conf');
    await writeFile(configPath, config);
    const base = ['-p', `${prefix}/`, '-c', configPath, '-e', errorLog];
    try {
      await execFileAsync(nginx, [...base, '-t', '-q']);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(`nginx -t rejected the configuration:\n${stderr}\n${await logs()}`, {
        cause: error,
      });
    }
    const started = await startProcess({
      name: 'nginx',
      command: nginx,
      args: [...base, '-g', 'daemon off;'],
      logPath: join(prefix, 'logs', 'stderr.log'),
      port: options.port,
    }).catch((error: unknown) => {
      throw new Error(`nginx did not start on port ${String(options.port)}: ${String(error)}`, {
        cause: error,
      });
    });
    return {
      origin: appOrigin(options),
      url: `http://127.0.0.1:${String(options.port)}`,
      config,
      logs,
      stop: async () => {
        await started.stop();
        await cleanUp();
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
