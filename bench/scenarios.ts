/**
 * The benchmark scenarios of issue 8: what server each one starts (pinned to the server core),
 * what request wrk sends, and which status is the only right answer. Shared fixtures (token
 * issuer, identity provider, generated policy sets, the nginx stack of (g)) are started on first
 * use through `BenchContext` and stopped by it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startDevIdentityProvider } from '../dev/identity-provider.ts';
import { findFreePort } from '../test/fixtures/gatehouse/free-port.ts';
import { startTokenIssuer } from '../test/fixtures/gatehouse/token-issuer.ts';
import {
  benchHost,
  benchPolicyManifest,
  generatePolicySet,
  guestPath,
  signedInPath,
  writePolicyFiles,
} from './generate-policies.ts';
import type { PolicySetShape } from './generate-policies.ts';
import { noAuthPrefix, startNginxFront } from './nginx-front.ts';
import { oauth2ProxyAllowedStatus, oauth2ProxyAuthPath, startOAuth2Proxy } from './oauth2-proxy.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { startPinnedProcess } from './server-process.ts';
import type { PinnedProcess } from './server-process.ts';
import { deleteKeysWithPrefix, mintSession } from './session-minter.ts';
import type { WrkRequest } from './wrk.ts';

export interface BenchSettings {
  readonly serverCpu: string | undefined;
  readonly redisUrl: string;
  readonly scratchDirectory: string;
  readonly oauth2ProxyBinary: string;
  /** The half-load generator (bench/openloop.ts); undefined: the Node one (bench/rate-load.ts). */
  readonly openLoopBinary?: string;
  /** Policy set of scenario (f) (the issue: 10,000 × 10 over 5,000 hosts). */
  readonly largePolicySet: PolicySetShape;
}

/** A scenario's servers, started and ready. */
export interface RunningTarget {
  readonly request: WrkRequest;
  /** Processes on the server core whose CPU time is the scenario's cost. */
  cpuPids(): number[];
  /** The process whose peak RSS is reported (gatehouse, or the server standing in for it). */
  readonly memoryPid: number;
  stop(): Promise<void>;
}

export interface Scenario {
  readonly id: string;
  /** The letter of the list this belongs to (`--scenarios` selects by it). */
  readonly group: string;
  readonly label: string;
  /** Also measured at half the saturating rate with the open-loop generator (targets for (b)–(e)). */
  readonly halfLoad: boolean;
  /** Uses Redis on the hot path: its CPU per request is reported too. */
  readonly usesRedis: boolean;
  start(context: BenchContext): Promise<RunningTarget>;
}

/** What ingress-nginx sends with every auth subrequest (proxy-protocols.md §1), minus the URL. */
function ingressHeaders(originalUrl: string): Record<string, string> {
  return {
    'X-Original-URL': originalUrl,
    'X-Original-Method': 'GET',
    'X-Sent-From': 'nginx-ingress-controller',
    'X-Real-IP': '127.0.0.1',
    'X-Forwarded-For': '127.0.0.1',
    'X-Auth-Request-Redirect': new URL(originalUrl).pathname,
    'X-Request-ID': '5f0c6a2e8d1b4f7a9c3e2d1b0a987654',
  };
}

const sessionCookieName = '_gatehouse';

/** Shared fixtures, started on first use, stopped by `close()` (or `releaseGroup()`). */
export class BenchContext {
  readonly settings: BenchSettings;
  readonly runId = randomBytes(4).toString('hex');
  readonly #shared = new Map<
    string,
    { value: unknown; stop: () => Promise<void>; group: boolean }
  >();

  constructor(settings: BenchSettings) {
    this.settings = settings;
  }

  /** The Redis key prefix of this run's gatehouse sessions (deleted at the end). */
  get sessionKeyPrefix(): string {
    return `gatehouse-bench-${this.runId}:`;
  }

  async shared<T>(
    key: string,
    start: () => Promise<T>,
    stop: (value: T) => Promise<void>,
    scope: 'run' | 'group' = 'run',
  ): Promise<T> {
    const found = this.#shared.get(key);
    if (found !== undefined) return found.value as T;
    const value = await start();
    this.#shared.set(key, { value, stop: () => stop(value), group: scope === 'group' });
    return value;
  }

  /** Stops fixtures shared only within one group (the nginx stack), before the next group. */
  async releaseGroup(): Promise<void> {
    for (const [key, entry] of [...this.#shared].reverse()) {
      if (!entry.group) continue;
      this.#shared.delete(key);
      await entry.stop();
    }
  }

  async close(): Promise<void> {
    for (const [key, entry] of [...this.#shared].reverse()) {
      this.#shared.delete(key);
      try {
        await entry.stop();
      } catch (error) {
        process.stderr.write(`bench: stopping ${key} failed: ${String(error)}\n`);
      }
    }
  }

  tokenIssuer() {
    return this.shared(
      'token-issuer',
      () => startTokenIssuer({ audience: 'bench-api' }),
      (issuer) => issuer.close(),
    );
  }

  /** A bearer token valid for the whole run. */
  bearerToken(): Promise<string> {
    return this.shared(
      'bearer-token',
      async () =>
        (await this.tokenIssuer()).sign(
          { sub: 'bench-api-client', email: 'client@example.com', groups: ['staff'] },
          { expiresIn: 6 * 3600 },
        ),
      () => Promise.resolve(),
    );
  }

  /** The OpenID Provider named in gatehouse's configuration for the session scenarios. */
  identityProvider() {
    return this.shared(
      'identity-provider',
      () =>
        startDevIdentityProvider({
          clients: [
            {
              clientId: 'gatehouse-bench',
              clientSecret: randomBytes(24).toString('base64url'),
              redirectUris: ['http://auth.bench.test/oauth2/callback'],
            },
          ],
        }),
      (provider) => provider.close(),
    );
  }

  /** The collector the traced scenario exports to (in this process, off the server core). */
  otlpSink() {
    return this.shared(
      'otlp-sink',
      () => startOtlpSink(),
      (sink) => sink.close(),
    );
  }

  /**
   * gatehouse compiled as the image and the npm package ship it (`tsc -p tsconfig.build.json`,
   * the Dockerfile's `npm run build`), so the servers run what is deployed. Running the
   * TypeScript sources instead makes Node strip types at load, which keeps its WebAssembly
   * stripper and every module's source text in memory: 13 MB more RSS at rest (issue #17), which
   * Koa's (a′) server, one small file, barely pays. Built once per run, into the scratch
   * directory, beside a copy of package.json (ES modules; build-info reads the version) and a
   * link to node_modules.
   */
  gatehouseBuild(): Promise<string> {
    return this.shared(
      'gatehouse-build',
      async () => {
        const root = join(this.settings.scratchDirectory, 'gatehouse-build');
        const dist = join(root, 'dist');
        await mkdir(root, { recursive: true });
        await copyFile(join(repositoryRoot, 'package.json'), join(root, 'package.json'));
        await symlink(join(repositoryRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
        const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
        await promisify(execFile)(
          process.execPath,
          [tsc, '-p', join(repositoryRoot, 'tsconfig.build.json'), '--outDir', dist],
          { cwd: repositoryRoot },
        );
        return dist;
      },
      () => Promise.resolve(),
    );
  }

  /** The small policy directory of (b)–(e) and (g). */
  benchPolicyDirectory(): Promise<string> {
    return this.shared(
      'policy-small',
      async () => {
        const directory = join(this.settings.scratchDirectory, 'policies-small');
        await mkdir(directory, { recursive: true });
        await writeFile(join(directory, 'bench.yaml'), benchPolicyManifest());
        return directory;
      },
      () => Promise.resolve(),
    );
  }

  /** A generated policy set (scenario (f)), its directory and its sample request URLs. */
  policySet(name: string, shape: PolicySetShape) {
    return this.shared(
      // Not `policy-${name}`, nor its directory: the small directory of (b)–(e) is shared as
      // 'policy-small' in policies-small/, and a full run reached (f) with that path in place of
      // the set ("reading '0'" of undefined), its files written beside bench.yaml.
      `policy-set-${name}`,
      async () => {
        const directory = join(this.settings.scratchDirectory, `policy-set-${name}`);
        const set = generatePolicySet(shape);
        await writePolicyFiles(directory, set.files);
        const samplesFile = join(this.settings.scratchDirectory, `samples-${name}.json`);
        await writeFile(samplesFile, JSON.stringify(set.sampleUrls));
        return { directory, sampleUrls: set.sampleUrls, samplesFile };
      },
      () => Promise.resolve(),
    );
  }
}

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

/** Environment for a child: ours, without any GATEHOUSE_* of the person running the suite. */
/**
 * V8 flags every Node server under test runs with: the ones the image and the chart set
 * (Dockerfile `NODE_OPTIONS`, chart `heap.maxSemiSpaceMiB`), so the figures are the deployed
 * configuration's, and (a)/(a′) run with them too. bench/deployed-node-flags.test.ts keeps the
 * three in step. (The chart's old-space limit is left out: it follows the container's memory
 * limit, and the benchmark servers have none.)
 */
export const deployedNodeFlags: readonly string[] = ['--max-semi-space-size=8'];

/**
 * Node flags for the servers under test only (not the runner), from `BENCH_SERVER_NODE_OPTIONS`,
 * to profile a scenario: `BENCH_SERVER_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof'`. They
 * are passed on the command line, so flags Node refuses in NODE_OPTIONS (`--trace-gc`) work too.
 */
function serverNodeFlags(): string[] {
  const extra = process.env['BENCH_SERVER_NODE_OPTIONS']?.trim() ?? '';
  return [...deployedNodeFlags, ...(extra === '' ? [] : extra.split(/\s+/))];
}

/** The runner's environment without its `GATEHOUSE_*` settings, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('GATEHOUSE_') && name !== 'BENCH_SERVER_NODE_OPTIONS') env[name] = value;
  }
  return { ...env, ...extra };
}

let logCounter = 0;

async function startNodeServer(
  context: BenchContext,
  name: string,
  script: string,
  env: Record<string, string>,
): Promise<PinnedProcess> {
  logCounter++;
  return startPinnedProcess({
    name,
    command: process.execPath,
    args: [...serverNodeFlags(), new URL(script, import.meta.url).pathname],
    env: cleanEnv(env),
    cpu: context.settings.serverCpu,
    logPath: join(
      context.settings.scratchDirectory,
      `${String(logCounter).padStart(2, '0')}-${name}.log`,
    ),
    ready: { kind: 'line' },
  });
}

interface GatehouseVariant {
  readonly policyDirectory: string;
  readonly sessions?: { readonly cacheTtl: string };
  readonly bearerCache?: boolean;
  /** `tracing.enabled` with this collector URL (issue #20). */
  readonly tracingEndpoint?: string;
}

/** Starts gatehouse (servers/gatehouse.ts) with a configuration written for the variant. */
async function startGatehouse(context: BenchContext, name: string, variant: GatehouseVariant) {
  const config: Record<string, unknown> = {
    publicUrl: 'http://auth.bench.test',
    listeners: { main: { host: '127.0.0.1' }, operations: { host: '127.0.0.1' } },
    trustedProxies: ['127.0.0.1/32'],
    log: { level: 'info' },
    // The Kubernetes source has no file polling; nor does this (watch off).
    policy: { source: 'files', files: { directory: variant.policyDirectory, watch: false } },
    server: { shutdownDelay: 0, shutdownTimeout: '2s' },
    redirects: { allowedDomains: ['.bench.test'] },
    // Plain http on loopback; a Secure cookie would need an https publicUrl.
    sessions: { cookie: { name: sessionCookieName, secure: false } },
  };
  const env: Record<string, string> = {
    GATEHOUSE_LISTENERS__MAIN__PORT: String(await findFreePort()),
    GATEHOUSE_LISTENERS__OPERATIONS__PORT: String(await findFreePort()),
  };
  if (variant.sessions !== undefined) {
    const provider = await context.identityProvider();
    config['sessions'] = {
      store: 'redis',
      cookie: { name: sessionCookieName, secure: false },
      redis: { url: context.settings.redisUrl, keyPrefix: context.sessionKeyPrefix },
      // The minted session has no tokens, so the provider could not re-validate it: without
      // this, the first check after 5 minutes (the default interval) turns into a refused
      // re-validation and the checks waiting on it into 503s (seen in the 10-minute soak). What
      // is measured is the check, as with token refresh (session-minter.ts).
      revalidateInterval: '0s',
    };
    config['providers'] = [
      {
        name: 'bench',
        issuer: provider.issuer,
        clientId: 'gatehouse-bench',
        clientSecret: 'unused-in-checks',
      },
    ];
    env['GATEHOUSE_SESSIONS__CACHE__TTL'] = variant.sessions.cacheTtl;
  }
  if (variant.bearerCache !== undefined) {
    const issuer = await context.tokenIssuer();
    config['bearer'] = {
      issuers: [
        {
          name: 'bench',
          issuer: issuer.issuer,
          audiences: ['bench-api'],
          jwksUri: `${issuer.issuer}/jwks.json`,
          algorithms: ['RS256'],
        },
      ],
    };
    env['GATEHOUSE_BEARER__CACHE__ENABLED'] = String(variant.bearerCache);
  }
  if (variant.tracingEndpoint !== undefined) {
    config['tracing'] = { enabled: true, endpoint: variant.tracingEndpoint, sampleRatio: 1 };
  }
  const configPath = join(context.settings.scratchDirectory, `${name}.yaml`);
  await writeFile(configPath, stringify(config));
  return startNodeServer(context, name, './servers/gatehouse.ts', {
    ...env,
    BENCH_CONFIG: configPath,
    BENCH_GATEHOUSE_BUILD: await context.gatehouseBuild(),
  });
}

function single(server: PinnedProcess, request: WrkRequest): RunningTarget {
  return { request, cpuPids: () => [server.pid], memoryPid: server.pid, stop: () => server.stop() };
}

/**
 * The documented `auth-url`, `/authz/nginx?host=$host`: nginx sends the routed host, without a
 * port, with every check (docs/proxy-protocols.md).
 */
function authzPathFor(originalUrl: string): string {
  return `/authz/nginx?host=${new URL(originalUrl).hostname}`;
}
const authzPath = authzPathFor(`http://${benchHost}/`);
const guestUrl = `http://${benchHost}${guestPath}`;
const signedInUrl = `http://${benchHost}${signedInPath}`;

/** (g): upstream, gatehouse and nginx, all on the server core, shared by the three (g) targets. */
async function nginxStack(context: BenchContext) {
  return context.shared(
    'nginx-stack',
    async () => {
      const upstream = await startNodeServer(context, 'g-upstream', './servers/bare-http.ts', {});
      const gatehouse = await startGatehouse(context, 'g-gatehouse', {
        policyDirectory: await context.benchPolicyDirectory(),
        bearerCache: true,
      });
      const nginx = await startNginxFront({
        gatehouseUrl: gatehouse.url,
        upstreamUrl: upstream.url,
        serverName: benchHost,
        cpu: context.settings.serverCpu,
      });
      return { upstream, gatehouse, nginx };
    },
    async ({ upstream, gatehouse, nginx }) => {
      await nginx.stop();
      await gatehouse.stop();
      await upstream.stop();
    },
    'group',
  );
}

async function nginxTarget(context: BenchContext, path: string, headers: Record<string, string>) {
  const { upstream, gatehouse, nginx } = await nginxStack(context);
  return {
    request: {
      url: `${nginx.url}${path}`,
      headers: { Host: benchHost, ...headers },
      expectedStatus: 200,
    },
    cpuPids: () => [...nginx.pids(), gatehouse.pid, upstream.pid],
    memoryPid: gatehouse.pid,
    stop: () => Promise.resolve(), // the stack is shared; released after the group
  };
}

/**
 * A sampled W3C `traceparent` (ingress-nginx with `enable-opentelemetry`): with tracing on,
 * every check of the traced scenario is recorded and exported, the dearest case.
 */
const proxyTraceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

async function sessionScenario(
  context: BenchContext,
  name: string,
  cacheTtl: string,
  traced = false,
): Promise<RunningTarget> {
  const server = await startGatehouse(context, name, {
    policyDirectory: await context.benchPolicyDirectory(),
    sessions: { cacheTtl },
    ...(traced ? { tracingEndpoint: (await context.otlpSink()).url } : {}),
  });
  const session = await mintSession({
    redisUrl: context.settings.redisUrl,
    keyPrefix: context.sessionKeyPrefix,
    provider: 'bench',
  });
  const target = single(server, {
    url: `${server.url}${authzPath}`,
    headers: {
      ...ingressHeaders(signedInUrl),
      Cookie: `${sessionCookieName}=${session.ticket}`,
      ...(traced ? { traceparent: proxyTraceparent } : {}),
    },
    expectedStatus: 200,
  });
  if (!traced) return target;
  const sink = await context.otlpSink();
  let counted = false;
  return {
    ...target,
    stop: async () => {
      // gatehouse exports what is queued at shutdown; a run whose spans never left it would
      // report the speed of something else, so it fails like a wrong answer (once: the runner
      // stops a failed target a second time).
      await target.stop();
      if (counted) return;
      counted = true;
      const { requests, bytes } = sink.exports();
      if (requests === 0) throw new Error('tracing on, but gatehouse exported no span');
      process.stderr.write(
        `[bench] ${name}: ${String(requests)} OTLP exports, ${String(Math.round(bytes / 1024))} KiB\n`,
      );
    },
  };
}

async function bearerScenario(
  context: BenchContext,
  name: string,
  cache: boolean,
): Promise<RunningTarget> {
  const server = await startGatehouse(context, name, {
    policyDirectory: await context.benchPolicyDirectory(),
    bearerCache: cache,
  });
  return single(server, {
    url: `${server.url}${authzPath}`,
    headers: {
      ...ingressHeaders(signedInUrl),
      Authorization: `Bearer ${await context.bearerToken()}`,
    },
    expectedStatus: 200,
  });
}

async function policyScaleScenario(
  context: BenchContext,
  name: string,
  shape: PolicySetShape,
): Promise<RunningTarget> {
  const set = await context.policySet(name, shape);
  const server = await startGatehouse(context, `f-gatehouse-${name}`, {
    policyDirectory: set.directory,
  });
  const first = set.sampleUrls[0] ?? guestUrl;
  return single(server, {
    url: `${server.url}${authzPath}`,
    headers: ingressHeaders(first),
    rotate: {
      header: 'X-Original-URL',
      values: set.sampleUrls,
      paths: set.sampleUrls.map(authzPathFor),
    },
    expectedStatus: 200,
  });
}

/** The 10-policy baseline of (f): same shape, two policies per host. */
export const smallPolicySet: PolicySetShape = { policies: 10, rulesPerPolicy: 10, hosts: 5 };

export const scenarios: readonly Scenario[] = [
  {
    id: 'a',
    group: 'a',
    label: '(a) bare node:http 200',
    // Measured at half load too (issue #17): the floor every half-load tail is compared with.
    halfLoad: true,
    usesRedis: false,
    async start(context) {
      const server = await startNodeServer(context, 'a-bare-http', './servers/bare-http.ts', {});
      return single(server, {
        url: `${server.url}${authzPath}`,
        headers: ingressHeaders(guestUrl),
        expectedStatus: 200,
      });
    },
  },
  {
    id: 'a2',
    group: 'a2',
    label: '(a′) Koa + router, 200 + one header',
    halfLoad: true,
    usesRedis: false,
    async start(context) {
      const server = await startNodeServer(
        context,
        'a2-koa-minimal',
        './servers/koa-minimal.ts',
        {},
      );
      return single(server, {
        url: `${server.url}${authzPath}`,
        headers: ingressHeaders(guestUrl),
        expectedStatus: 200,
      });
    },
  },
  {
    id: 'b',
    group: 'b',
    label: '(b) /authz/nginx, guest rule',
    halfLoad: true,
    usesRedis: false,
    async start(context) {
      const server = await startGatehouse(context, 'b-gatehouse', {
        policyDirectory: await context.benchPolicyDirectory(),
      });
      return single(server, {
        url: `${server.url}${authzPath}`,
        headers: ingressHeaders(guestUrl),
        expectedStatus: 200,
      });
    },
  },
  {
    id: 'c',
    group: 'c',
    label: '(c) session, cache hit',
    halfLoad: true,
    usesRedis: true,
    start: (context) => sessionScenario(context, 'c-gatehouse', '5s'),
  },
  {
    // Not in the default suite: `--scenarios c,t` compares it with (c). Tracing off costs
    // nothing by construction (no SDK loaded, one `undefined` test per check), so (c) is the
    // "off" figure; this is "on", with every check sampled.
    id: 'c-traced',
    group: 't',
    label: '(c) session, cache hit, tracing on (every check sampled and exported)',
    halfLoad: true,
    usesRedis: true,
    start: (context) => sessionScenario(context, 'c-traced-gatehouse', '5s', true),
  },
  {
    id: 'd',
    group: 'd',
    label: '(d) session, cache off (Redis per check)',
    halfLoad: true,
    usesRedis: true,
    start: (context) => sessionScenario(context, 'd-gatehouse', '0'),
  },
  {
    id: 'e',
    group: 'e',
    label: '(e) bearer JWT, verified-token cache on',
    halfLoad: true,
    usesRedis: false,
    start: (context) => bearerScenario(context, 'e-gatehouse', true),
  },
  {
    id: 'e-nocache',
    group: 'e',
    label: '(e) bearer JWT, cache off',
    halfLoad: true,
    usesRedis: false,
    start: (context) => bearerScenario(context, 'e-nocache-gatehouse', false),
  },
  {
    id: 'f-10',
    group: 'f',
    label: '(f) 10 policies × 10 rules, host mix',
    halfLoad: false,
    usesRedis: false,
    start: (context) => policyScaleScenario(context, 'small', smallPolicySet),
  },
  {
    id: 'f-10k',
    group: 'f',
    label: '(f) 10,000 policies × 10 rules / 5,000 hosts',
    halfLoad: false,
    usesRedis: false,
    start: (context) => policyScaleScenario(context, 'large', context.settings.largePolicySet),
  },
  {
    id: 'g-none',
    group: 'g',
    label: '(g) nginx → upstream, no auth',
    halfLoad: false,
    usesRedis: false,
    start: (context) => nginxTarget(context, `${noAuthPrefix}index.html`, {}),
  },
  {
    id: 'g-guest',
    group: 'g',
    label: '(g) nginx auth_request → gatehouse, guest',
    halfLoad: false,
    usesRedis: false,
    start: (context) => nginxTarget(context, guestPath, {}),
  },
  {
    id: 'g-bearer',
    group: 'g',
    label: '(g) nginx auth_request → gatehouse, bearer',
    halfLoad: false,
    usesRedis: false,
    async start(context) {
      return nginxTarget(context, signedInPath, {
        Authorization: `Bearer ${await context.bearerToken()}`,
      });
    },
  },
  {
    id: 'h',
    group: 'h',
    label: '(h) oauth2-proxy /oauth2/auth, Redis session',
    halfLoad: false,
    usesRedis: true,
    async start(context) {
      const proxy = await startOAuth2Proxy({
        binary: context.settings.oauth2ProxyBinary,
        cpu: context.settings.serverCpu,
        redisUrl: context.settings.redisUrl,
        scratchDirectory: context.settings.scratchDirectory,
      });
      const target = single(proxy.process, {
        url: `${proxy.process.url}${oauth2ProxyAuthPath}`,
        headers: { ...ingressHeaders(signedInUrl), Cookie: proxy.cookie },
        expectedStatus: oauth2ProxyAllowedStatus,
      });
      return {
        ...target,
        stop: async () => {
          await proxy.stop();
          await deleteKeysWithPrefix(context.settings.redisUrl, proxy.redisKeyPrefix);
        },
      };
    },
  },
];

/** `a,c,e` → the scenarios of those groups, in the suite's order. */
export function selectScenarios(groups: readonly string[]): Scenario[] {
  const known = new Set(scenarios.map((scenario) => scenario.group));
  const unknown = groups.filter((group) => !known.has(group));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }
  return scenarios.filter((scenario) => groups.includes(scenario.group));
}
