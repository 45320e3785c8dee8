/**
 * A real nginx configured the way ingress-nginx renders an Ingress with the external-auth
 * annotations (rootfs/etc/nginx/template/nginx.tmpl at kubernetes/ingress-nginx@dbb11b9), on
 * plain Debian nginx + libnginx-mod-http-set-misc. The structure follows the verified
 * rendition in docs/proxy-protocols.md §1.3; proxy-protocols.md §1 explains
 * each directive.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findFreePort } from '../../fixtures/gatehouse/free-port.ts';
import { requireExecutable, requireFile, startProcess } from './process.ts';

const modulesDirectory = '/usr/lib/nginx/modules';
const setMiscModule = `${modulesDirectory}/ngx_http_set_misc_module.so`;
/** set-misc is built on the Nginx Development Kit, which must be loaded first. */
const developmentKitModule = `${modulesDirectory}/ndk_http_module.so`;

/** ingress-nginx's gatehouse endpoint for `auth-url` (docs/architecture.md, Endpoints). */
export const nginxAuthPath = '/authz/nginx';

export interface NginxOptions {
  /** gatehouse main listener, `http://127.0.0.1:<port>`; `auth-url` = this + /authz/nginx. */
  readonly gatehouseUrl: string;
  /** The application, `http://127.0.0.1:<port>`. */
  readonly upstreamUrl: string;
  /** `auth-signin`, e.g. `https://auth.app.test/oauth2/start`. */
  readonly signInUrl: string;
  /** `auth-response-headers`: copied from the auth answer onto the upstream request. */
  readonly responseHeaders: readonly string[];
  /**
   * `auth-cache-key`: an nginx expression such as `$cookie__gatehouse$http_authorization`.
   * Turns on the auth cache with ingress-nginx's default `auth-cache-duration`.
   */
  readonly authCacheKey?: string;
  /** `auth-method`: the method of the auth subrequest (nginx default: GET). */
  readonly authMethod?: string;
  /** Raw nginx text added inside the `server` block (extra locations). */
  readonly extraLocations?: string;
  /** `server_name`; default `app.test`. Requests name it in their `Host` header. */
  readonly serverName?: string;
  /** More hosts, each its own `server` block with the same locations (one Ingress per host). */
  readonly extraServerNames?: readonly string[];
  /**
   * `ingress-nginx` (default): the auth location as ingress-nginx renders `auth-url`. `plain`: the
   * minimal `auth_request` setup docs/proxy-protocols.md documents for nginx without a controller.
   */
  readonly style?: 'ingress-nginx' | 'plain';
  /**
   * Append `?host=$host` to the auth URL (default true), as the documented `auth-url` does.
   * False renders the unsafe form of 0.1.0, for the tests that show why it is needed.
   */
  readonly routedHost?: boolean;
  /** `plain` only: leave out `X-Original-Method`, as plain setups written before 0.2 did. */
  readonly omitOriginalMethod?: boolean;
}

/** Test instrumentation (not part of any documented setup): which server block routed a request. */
export const routedServerHeader = 'X-E2e-Routed-Server';

export interface RenderedPaths {
  /** Scratch folder for pid, logs, temp files and the cache. */
  readonly prefix: string;
  readonly port: number;
}

/** Name of the auth location (`buildAuthLocation`): base64url of the Ingress path + path type. */
function authLocationName(ingressPath: string, pathType: string): string {
  return `/_external-auth-${Buffer.from(ingressPath).toString('base64url')}-${pathType}`;
}

/** Name of the sign-in location (`buildAuthSignURLLocation`): `@` + sha1(path + signin URL). */
function signInLocationName(ingressPath: string, signInUrl: string): string {
  return `@${createHash('sha1').update(ingressPath).update(signInUrl).digest('hex')}`;
}

/**
 * The redirect target (`buildAuthSignURL`): `rd` is appended with `?` or `&` unless the
 * sign-in URL already carries it. Scheme and host stay unescaped, the URI is escaped by
 * set-misc's `set_escape_uri` (observed: `rd=http://app.test%2Fa%2Fb%3Fx%3D1`).
 */
export function authSignInUrl(signInUrl: string, redirectParam = 'rd'): string {
  const url = new URL(signInUrl);
  if (url.searchParams.has(redirectParam)) return signInUrl;
  const separator = url.search === '' ? '?' : '&';
  return `${signInUrl}${separator}${redirectParam}=$pass_access_scheme://$http_host$escaped_request_uri`;
}

/** `auth_request_set` can only read `$upstream_http_<lower_snake>` variables. */
function upstreamVariable(header: string): string {
  return `$upstream_http_${header.toLowerCase().replaceAll('-', '_')}`;
}

/** nginx double-quoted string: only `"` and `\` need escaping. */
function quoted(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function renderNginxConfig(options: NginxOptions, paths: RenderedPaths): string {
  const serverNames = [options.serverName ?? 'app.test', ...(options.extraServerNames ?? [])];
  const { prefix } = paths;
  const servers = serverNames
    .map((name) =>
      options.style === 'plain'
        ? renderPlainServer(options, paths, name)
        : renderIngressNginxServer(options, paths, name),
    )
    .join('\n');

  return `# Rendered by test/e2e/harness/nginx.ts (${options.style ?? 'ingress-nginx'} style) for
# ${serverNames.join(', ')}.
load_module ${developmentKitModule};
load_module ${setMiscModule};
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log info;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log ${prefix}/logs/access.log;
  client_body_temp_path ${prefix}/cache/body;
  proxy_temp_path ${prefix}/cache/proxy;
  fastcgi_temp_path ${prefix}/cache/fcgi;
  uwsgi_temp_path ${prefix}/cache/uwsgi;
  scgi_temp_path ${prefix}/cache/scgi;
  proxy_cache_path ${prefix}/cache/auth levels=1:2 keys_zone=auth_cache:10m max_size=128m inactive=30m use_temp_path=off;

  map $http_x_request_id $req_id { default $http_x_request_id; "" $request_id; }

  # A request for a host no Ingress names reaches no application (ingress-nginx's default server
  # answers from its default backend).
  server {
    listen 127.0.0.1:${String(paths.port)} default_server;
    server_name _;
    location / { return 404; }
  }
${servers}
}
`;
}

/** The auth URL: gatehouse's endpoint, with the routed host unless the test wants it left out. */
function authUrlOf(options: NginxOptions): string {
  const url = new URL(nginxAuthPath, options.gatehouseUrl).href;
  return options.routedHost === false ? url : `${url}?host=$host`;
}

const indent = (lines: readonly string[], depth: number) =>
  lines.map((line) => `${' '.repeat(depth)}${line}`).join('\n');

function renderIngressNginxServer(
  options: NginxOptions,
  paths: RenderedPaths,
  serverName: string,
): string {
  const ingressPath = '/';
  const authLocation = authLocationName(ingressPath, 'Prefix');
  const signInLocation = signInLocationName(ingressPath, options.signInUrl);
  const authUrl = new URL(nginxAuthPath, options.gatehouseUrl);

  const authMethod =
    options.authMethod === undefined
      ? []
      : [
          `proxy_method ${options.authMethod};`,
          'proxy_set_header X-Original-URI $request_uri;',
          'proxy_set_header X-Scheme $pass_access_scheme;',
        ];
  // ingress-nginx hashes host + auth path + value in Lua; the plain key is equivalent for a test.
  const authCache =
    options.authCacheKey === undefined
      ? ['proxy_buffering off;']
      : [
          'proxy_buffering on;',
          'proxy_cache auth_cache;',
          'proxy_cache_valid 200 202 401 5m;',
          `proxy_cache_key ${quoted(`${serverName}${authLocation}${options.authCacheKey}`)};`,
        ];
  const responseHeaders = options.responseHeaders.flatMap((header, index) => [
    `auth_request_set $authHeader${String(index)} ${upstreamVariable(header)};`,
    `proxy_set_header '${header}' $authHeader${String(index)};`,
  ]);

  return `
  # ingress-nginx auth-url / auth-signin / auth-response-headers${options.authCacheKey === undefined ? '' : ' / auth-cache-key'} for ${serverName}.
  server {
    listen 127.0.0.1:${String(paths.port)};
    server_name ${serverName};

    # auth-url (ingress-nginx: location = /_external-auth-<base64url(path)>-<pathType>)
    location = ${authLocation} {
      internal;
      access_log off;
${indent(authCache, 6)}
      proxy_intercept_errors off;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Proto "";
      proxy_set_header X-Request-ID $req_id;
${indent(authMethod, 6)}
      proxy_set_header Host ${authUrl.hostname};
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Sent-From "nginx-ingress-controller";
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Auth-Request-Redirect $request_uri;
      proxy_ssl_server_name on;
      proxy_pass_request_headers on;
      proxy_http_version 1.1;
      set $target ${quoted(authUrlOf(options))};
      proxy_pass $target;
    }

    # auth-signin (ingress-nginx: location @<sha1(path + signin URL)>)
    location ${signInLocation} {
      internal;
      add_header Set-Cookie $auth_cookie;
      return 302 ${authSignInUrl(options.signInUrl)};
    }

${options.extraLocations ?? ''}

    location ${ingressPath} {
      set $pass_access_scheme $scheme;

      auth_request ${authLocation};
      auth_request_set $auth_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $auth_cookie;
${indent(responseHeaders, 6)}

      set_escape_uri $escaped_request_uri $request_uri;
      error_page 401 = ${signInLocation};

      proxy_set_header Host $http_host;
      proxy_set_header X-Request-ID $req_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $pass_access_scheme;
      proxy_set_header ${routedServerHeader} ${serverName};
      proxy_http_version 1.1;
      proxy_pass ${options.upstreamUrl};
    }
  }`;
}

/**
 * The plain nginx setup docs/proxy-protocols.md documents: `auth_request` to a location that
 * proxies to `/authz/nginx?host=$host` with `X-Original-URL` and `X-Original-Method`, and the
 * 401's `Location` used for the redirect (no set-misc needed).
 */
function renderPlainServer(options: NginxOptions, paths: RenderedPaths, serverName: string) {
  const responseHeaders = options.responseHeaders.flatMap((header, index) => [
    `auth_request_set $identity${String(index)} ${upstreamVariable(header)};`,
    `proxy_set_header ${header} $identity${String(index)};`,
  ]);
  return `
  # plain nginx auth_request for ${serverName}.
  server {
    listen 127.0.0.1:${String(paths.port)};
    server_name ${serverName};

    location = /_gatehouse {
      internal;
      proxy_pass ${authUrlOf(options)};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      ${options.omitOriginalMethod === true ? '' : 'proxy_set_header X-Original-Method $request_method;'}
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
    }

${options.extraLocations ?? ''}

    location / {
      auth_request /_gatehouse;
      auth_request_set $signin $upstream_http_location;
      error_page 401 =302 $signin;
${indent(responseHeaders, 6)}
      proxy_set_header ${routedServerHeader} ${serverName};
      proxy_pass ${options.upstreamUrl};
    }
  }`;
}

export interface RunningNginx {
  /** `http://127.0.0.1:<port>`; send requests with `Host: <serverName>:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The rendered configuration, for failure messages. */
  readonly config: string;
  /** The error log (auth failures are logged there: "auth request unexpected status"). */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);

export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const nginx = requireExecutable('nginx');
  requireFile(setMiscModule, 'libnginx-mod-http-set-misc');
  requireFile(developmentKitModule, 'libnginx-mod-http-ndk');

  const prefix = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-nginx-'));
  // Run as root, nginx workers switch to `nobody`, who must reach the temp and cache paths.
  await chmod(prefix, 0o755);
  await mkdir(join(prefix, 'logs'));
  await mkdir(join(prefix, 'cache'));
  const errorLog = join(prefix, 'logs', 'error.log');
  const logs = async () => {
    try {
      return await readFile(errorLog, 'utf8');
    } catch {
      return '';
    }
  };

  // The port is chosen before nginx binds it, so another process may take it in between:
  // try a few ports before giving up.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await findFreePort();
    const config = renderNginxConfig(options, { prefix, port });
    const configPath = join(prefix, 'nginx.conf');
    await writeFile(configPath, config);
    // `-e` keeps even the messages before the config is read out of /var/log/nginx.
    const base = ['-p', `${prefix}/`, '-c', configPath, '-e', errorLog];
    try {
      await execFileAsync(nginx, [...base, '-t', '-q']);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      const errorLogText = await logs();
      await rm(prefix, { recursive: true, force: true });
      throw new Error(
        `nginx -t rejected the rendered configuration:\n${stderr}\n--- error.log ---\n${errorLogText}\n--- nginx.conf ---\n${config}`,
        { cause: error },
      );
    }
    try {
      const started = await startProcess({
        name: 'nginx',
        command: nginx,
        args: [...base, '-g', 'daemon off;'],
        logPath: join(prefix, 'logs', 'stderr.log'),
        port,
      });
      return {
        url: `http://127.0.0.1:${String(port)}`,
        port,
        config,
        logs,
        stop: async () => {
          await started.stop();
          await rm(prefix, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = new Error(`${String(error)}\n--- error.log ---\n${await logs()}`, {
        cause: error,
      });
    }
  }
  await rm(prefix, { recursive: true, force: true });
  throw lastError;
}
