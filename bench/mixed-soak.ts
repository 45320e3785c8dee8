/**
 * The mixed-traffic soak (issue 9 item 8): real nginx (the ingress-nginx rendition of
 * dev/demo/app-ingress.ts, same-host sign-in topology) in front of the echo application, gatehouse
 * as its own process (Redis sessions, files policy source with watch on), and the development
 * identity provider. For `--minutes`, `--users` virtual users each loop: sign in through nginx
 * (`/private` → 302 to `/oauth2/start` → provider login form → callback → session cookie), make
 * checks on paths whose expected outcome comes from a table kept here (NOT from gatehouse's own
 * decide(), so a decision bug cannot agree with itself), and sign out half of the time (POST with
 * the CSRF token of the confirmation page), after which the browser must be anonymous and the old
 * cookie replayed must be refused. A policy editor rewrites the policy file every `--edit-seconds`
 * (atomically, by rename), toggling three things at once, and switches the expected outcomes only
 * once a canary request shows gatehouse applied the edit; checks that overlapped the switch are
 * judged against either state and counted separately.
 *
 *   node bench/mixed-soak.ts [--minutes 10] [--warmup-minutes 2] [--users 12] [--edit-seconds 20]
 *                            [--checks-per-session 20] [--think-ms 50] [--redis-url URL]
 *                            [--results-dir bench/results]
 *
 * Passes with zero wrong decisions, zero 5xx, every policy edit applied, other errors (timeouts,
 * refused connections, a sign-in step answering something unexpected) under 0.1% of requests, and
 * gatehouse's resident set flat after the warm-up: the largest sample of the last minute less than
 * 10% above the first sample after the warm-up (the rule of bench/soak.ts). RSS is read from
 * /proc every 5 s. Writes `<results-dir>/soak-<date>.json`; exits 1 on a failed verdict, 2 when
 * the stack could not run.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { stringify } from 'yaml';
import { startAppIngress } from '../dev/demo/app-ingress.ts';
import type { RunningAppIngress } from '../dev/demo/app-ingress.ts';
import { startDevIdentityProvider } from '../dev/identity-provider.ts';
import type { DevIdentityProvider } from '../dev/identity-provider.ts';
import { identityHeaders } from '../test/e2e/harness/auth-stack.ts';
import { parseEcho, startEchoUpstream } from '../test/e2e/harness/echo-upstream.ts';
import type { EchoUpstream, EchoedRequest } from '../test/e2e/harness/echo-upstream.ts';
import { findFreePort } from '../test/fixtures/gatehouse/free-port.ts';
import { browserlessLogin } from '../test/fixtures/oidc/browserless-login.ts';
import { CookieJar } from '../test/fixtures/oidc/cookie-jar.ts';
import { parseForms } from '../test/fixtures/oidc/html-form.ts';
import { readMemory } from './proc-stats.ts';
import { startPinnedProcess } from './server-process.ts';
import type { PinnedProcess } from './server-process.ts';
import { deleteKeysWithPrefix } from './session-minter.ts';
import { maximumRssGrowth } from './soak.ts';
import type { RssSample } from './soak.ts';

// --- The policy and the expected outcomes (pure) -------------------------------------------------

/** The two states the policy editor toggles between. */
export type PolicyState = 'closed' | 'open';

export const policyStates: readonly PolicyState[] = ['closed', 'open'];

export function otherState(state: PolicyState): PolicyState {
  return state === 'closed' ? 'open' : 'closed';
}

/** The dev identity provider's demo users (dev/demo-users.ts); password = username. */
export const soakUsers = ['alice', 'bob', 'carol', 'zoe'] as const;
export type SoakUser = (typeof soakUsers)[number];

/** Every path a virtual user checks; each exercises a different rule of the soak policy. */
export const soakPaths = [
  '/public/page',
  '/private',
  '/app/dashboard',
  '/admin/users',
  '/metrics',
  '/staff/roster',
  '/reports/q3',
  '/beta/feature',
] as const;
export type SoakPath = (typeof soakPaths)[number];

/** What a browser must see through nginx. */
export type Expected =
  | { readonly kind: 'allow'; readonly user: SoakUser | null }
  | { readonly kind: 'sign-in' }
  | { readonly kind: 'forbidden' };

/** The path whose outcome for an anonymous caller tells the two states apart (the canary). */
export const canaryPath: SoakPath = '/beta/feature';

const sessionCookieName = '_gatehouse';

/**
 * The policy file in one state: one ClusterAccessPolicy and two ClusterRoleMappings (cluster
 * scope, so namespace tenancy plays no part). An edit changes three things at once: `/reports`
 * goes from admins-only to guest, `/beta` from an explicit Deny to signed-in users, and the
 * staff mapping gains the `example.org` mail domain (carol).
 */
export function soakPolicyManifest(state: PolicyState, host: string): string {
  const prefix = (value: string) => [{ path: { type: 'PathPrefix', value } }];
  const policy = {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ClusterAccessPolicy',
    metadata: { name: 'soak-app' },
    spec: {
      hosts: [host],
      identityHeaders: 'x-auth-request',
      rules: [
        { name: 'public', match: prefix('/public'), roles: ['guest'] },
        { name: 'admin', match: prefix('/admin'), roles: ['soak-admin'] },
        { name: 'metrics', match: prefix('/metrics'), action: 'Deny' },
        { name: 'staff', match: prefix('/staff'), roles: ['soak-staff'] },
        {
          name: 'reports',
          match: prefix('/reports'),
          roles: state === 'closed' ? ['soak-admin'] : ['guest'],
        },
        state === 'closed'
          ? { name: 'beta', match: prefix('/beta'), action: 'Deny' }
          : { name: 'beta', match: prefix('/beta'), roles: ['authenticated'] },
        { name: 'app', match: prefix('/'), roles: ['authenticated'] },
      ],
    },
  };
  const admins = {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ClusterRoleMapping',
    metadata: { name: 'soak-admins' },
    spec: { roles: ['soak-admin'], subjects: [{ kind: 'Group', name: 'admins' }] },
  };
  const staff = {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ClusterRoleMapping',
    metadata: { name: 'soak-staff' },
    spec: {
      roles: ['soak-staff'],
      subjects: [
        { kind: 'Group', name: 'staff' },
        ...(state === 'open' ? [{ kind: 'EmailDomain', name: 'example.org' }] : []),
      ],
    },
  };
  return [
    `# gatehouse mixed soak (bench/mixed-soak.ts), state: ${state}`,
    ...[policy, admins, staff].map((document) => stringify(document)),
  ].join('\n---\n');
}

const signIn: Expected = { kind: 'sign-in' };
const forbidden: Expected = { kind: 'forbidden' };
const allow = (user: SoakUser | null): Expected => ({ kind: 'allow', user });

/** Signed-in users among `holders` pass; other signed-in users are forbidden; anonymous signs in. */
function requireOneOf(user: SoakUser | null, holders: readonly SoakUser[]): Expected {
  if (user === null) return signIn;
  return holders.includes(user) ? allow(user) : forbidden;
}

/**
 * The expected outcome, written out by hand from the demo users' groups (alice: admins, staff;
 * bob: staff; carol: none, mail at example.org; zoe: staff) and the policy above. Deliberately
 * a table and not gatehouse's decide(): the unit test checks that the two agree, the soak checks
 * that gatehouse behind nginx agrees with the table.
 */
export function expectedOutcome(
  state: PolicyState,
  user: SoakUser | null,
  path: SoakPath,
): Expected {
  switch (path) {
    case '/public/page':
      return allow(user);
    case '/private':
    case '/app/dashboard':
      return user === null ? signIn : allow(user);
    case '/admin/users':
      return requireOneOf(user, ['alice']);
    case '/metrics':
      // A Deny rule denies everyone, anonymous callers included (docs/architecture.md semantics 5).
      return forbidden;
    case '/staff/roster':
      return requireOneOf(user, state === 'closed' ? ['alice', 'bob', 'zoe'] : soakUsers);
    case '/reports/q3':
      return state === 'closed' ? requireOneOf(user, ['alice']) : allow(user);
    case '/beta/feature':
      if (state === 'closed') return forbidden;
      return user === null ? signIn : allow(user);
  }
}

/** The direct answer of gatehouse's `/authz/nginx` to an anonymous canary in each state. */
export function canaryStatus(state: PolicyState): number {
  const expected = expectedOutcome(state, null, canaryPath);
  return expected.kind === 'forbidden' ? 403 : expected.kind === 'sign-in' ? 401 : 200;
}

/** What came back through nginx. */
export interface ObservedAnswer {
  readonly status: number;
  readonly location: string | null;
  /** For a 200 from the echo application: the path and user header that reached it. */
  readonly echo?: {
    readonly path: string;
    /** `X-Auth-Request-User` as the application received it; nginx drops an empty one. */
    readonly user: string | undefined;
  };
}

export type CheckVerdict = 'right' | 'wrong' | 'server-error';

/** Whether one answer is what `expected` says, for a request to `path`. */
export function answerMatches(
  expected: Expected,
  observed: ObservedAnswer,
  path: string,
  signInPrefix: string,
): boolean {
  switch (expected.kind) {
    case 'allow':
      return (
        observed.status === 200 &&
        observed.echo !== undefined &&
        observed.echo.path === path &&
        // Anonymous on a guest rule: the header is set empty (docs/architecture.md "Identity"),
        // which nginx does not forward at all.
        (observed.echo.user ?? '') === (expected.user ?? '')
      );
    case 'sign-in':
      return observed.status === 302 && (observed.location ?? '').startsWith(signInPrefix);
    case 'forbidden':
      return observed.status === 403;
  }
}

/** Right when the answer matches any acceptable expectation; a 5xx is never a decision. */
export function judgeCheck(
  acceptable: readonly Expected[],
  observed: ObservedAnswer,
  path: string,
  signInPrefix: string,
): CheckVerdict {
  if (observed.status >= 500) return 'server-error';
  return acceptable.some((expected) => answerMatches(expected, observed, path, signInPrefix))
    ? 'right'
    : 'wrong';
}

/**
 * The expected policy as the runner knows it: `applied` is what gatehouse serves; `pending` is
 * the state written to disk but not yet confirmed by the canary. `epoch` changes at every step.
 */
export interface PolicyView {
  readonly epoch: number;
  readonly applied: PolicyState;
  readonly pending: PolicyState | null;
}

/**
 * The states a request may have been decided in, from the views before it was sent and after
 * its answer came: one state when no switch overlapped it, else every state involved (the
 * request is then "in the switch window" and counted separately).
 */
export function acceptableStates(
  before: PolicyView,
  after: PolicyView,
): { readonly states: readonly PolicyState[]; readonly inSwitchWindow: boolean } {
  const states = new Set<PolicyState>([before.applied, after.applied]);
  if (before.pending !== null) states.add(before.pending);
  if (after.pending !== null) states.add(after.pending);
  const inSwitchWindow = before.epoch !== after.epoch || before.pending !== null;
  return { states: policyStates.filter((state) => states.has(state)), inSwitchWindow };
}

// --- The verdict (pure) --------------------------------------------------------------------------

export interface SoakCounts {
  /** Every HTTP request sent (checks, sign-in and sign-out steps, canaries). */
  readonly requests: number;
  /** Requests whose decision was judged. */
  readonly checks: number;
  /** Checks that overlapped a policy switch (judged against either state). */
  readonly checksInSwitchWindow: number;
  readonly logins: number;
  readonly logouts: number;
  readonly policyEdits: number;
  /** Edits the canary never saw applied within the deadline. */
  readonly policyEditsNotApplied: number;
  readonly wrongDecisions: number;
  /** Answers 500-599, from anything in the stack. */
  readonly serverErrors: number;
  /** Timeouts, refused connections, unexpected sign-in/sign-out answers. */
  readonly otherErrors: number;
}

export interface MixedSoakVerdict {
  readonly passed: boolean;
  readonly baselineRssBytes: number;
  readonly finalRssBytes: number;
  readonly growth: number;
  /**
   * Not judged, for the reader: the largest sample of the last minute against the largest of the
   * first minute after the warm-up. V8 returns memory in large steps (a compacting collection
   * dropped RSS by 45% in a 4-minute trial run), so a baseline sample that falls in such a trough
   * inflates `growth`; a leak raises both peaks alike.
   */
  readonly peakGrowth: number;
  readonly reasons: readonly string[];
}

/** Share of requests that may fail for reasons other than a decision or a 5xx. */
export const maximumOtherErrorRate = 0.001;

/** Judges a mixed soak from its counts and gatehouse's RSS samples (pure). */
export function judgeMixedSoak(
  counts: SoakCounts,
  samples: readonly RssSample[],
  warmupSeconds: number,
  totalSeconds: number,
): MixedSoakVerdict {
  const reasons: string[] = [];
  if (counts.checks === 0) reasons.push('no decision was checked');
  if (counts.wrongDecisions > 0) reasons.push(`${String(counts.wrongDecisions)} wrong decisions`);
  if (counts.serverErrors > 0) reasons.push(`${String(counts.serverErrors)} answers were 5xx`);
  if (counts.policyEditsNotApplied > 0) {
    reasons.push(`${String(counts.policyEditsNotApplied)} policy edits were never applied`);
  }
  if (counts.otherErrors > counts.requests * maximumOtherErrorRate) {
    reasons.push(
      `${String(counts.otherErrors)} other errors in ${String(counts.requests)} requests (limit ${String(maximumOtherErrorRate * 100)}%)`,
    );
  }
  const baseline = samples.find((sample) => sample.atSeconds >= warmupSeconds);
  const lastMinute = samples.filter(
    (sample) => sample.atSeconds >= Math.max(totalSeconds - 60, warmupSeconds),
  );
  if (baseline === undefined || lastMinute.length === 0) {
    reasons.push('not enough RSS samples to judge growth');
    return {
      passed: false,
      baselineRssBytes: 0,
      finalRssBytes: 0,
      growth: Number.NaN,
      peakGrowth: Number.NaN,
      reasons,
    };
  }
  const final = Math.max(...lastMinute.map((sample) => sample.rssBytes));
  const growth = (final - baseline.rssBytes) / baseline.rssBytes;
  const firstPeak = Math.max(
    ...samples
      .filter(
        (sample) => sample.atSeconds >= warmupSeconds && sample.atSeconds < warmupSeconds + 60,
      )
      .map((sample) => sample.rssBytes),
  );
  const peakGrowth = (final - firstPeak) / firstPeak;
  if (growth >= maximumRssGrowth) {
    reasons.push(
      `RSS grew ${(growth * 100).toFixed(1)}% after the warm-up (limit ${String(maximumRssGrowth * 100)}%)`,
    );
  }
  return {
    passed: reasons.length === 0,
    baselineRssBytes: baseline.rssBytes,
    finalRssBytes: final,
    growth,
    peakGrowth,
    reasons,
  };
}

// --- The stack -----------------------------------------------------------------------------------

/**
 * fetch for `*.localhost` origins without DNS (the machine may not resolve them): the request goes
 * to 127.0.0.1 on the URL's port with the URL's `Host`, as a browser addresses the app. Every
 * other URL (the identity provider on 127.0.0.1) goes to the platform fetch. Never follows
 * redirects; the cookie jar sees every hop.
 */
export function createLoopbackFetch(agent: Agent): typeof globalThis.fetch {
  return async (input, init = {}) => {
    if (input instanceof Request) throw new Error('loopback fetch takes a URL, not a Request');
    const url = new URL(input);
    if (!url.hostname.endsWith('.localhost')) {
      return globalThis.fetch(url, { ...init, redirect: 'manual' });
    }
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    headers['host'] = url.host;
    const body = typeof init.body === 'string' ? init.body : undefined;
    if (init.body !== undefined && init.body !== null && body === undefined) {
      throw new Error('loopback fetch sends string bodies only');
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise<Response>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port: url.port,
          method: init.method ?? 'GET',
          path: `${url.pathname}${url.search}`,
          headers,
          agent,
          timeout: 30_000,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(incoming.headers)) {
              if (value === undefined) continue;
              for (const item of Array.isArray(value) ? value : [value]) {
                responseHeaders.append(name, item);
              }
            }
            const status = incoming.statusCode ?? 0;
            const nullBody = status === 204 || status === 304;
            resolve(
              new Response(nullBody ? null : Buffer.concat(chunks), {
                status,
                headers: responseHeaders,
              }),
            );
          });
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error('request timed out after 30 s')));
      outgoing.on('error', reject);
      init.signal?.addEventListener('abort', () => outgoing.destroy(new Error('aborted')));
      outgoing.end(body);
    });
  };
}

interface Stack {
  /** `http://app.localhost:<port>`. */
  readonly origin: string;
  readonly gatehouse: PinnedProcess;
  readonly operationsUrl: string;
  readonly policyFile: string;
  readonly upstream: EchoUpstream;
  close(): Promise<void>;
}

const appHost = 'app.localhost';
const routesPrefix = '/oauth2';

async function startStack(options: {
  readonly scratch: string;
  readonly redisUrl: string;
  readonly keyPrefix: string;
}): Promise<Stack> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    // nginx's port is part of gatehouse's public URL and of the provider's redirect URI, so it
    // is chosen first (as test/e2e/browser/sign-in-stack.ts does).
    const port = await findFreePort();
    const origin = `http://${appHost}:${String(port)}`;
    const client = {
      clientId: 'gatehouse-soak',
      clientSecret: randomBytes(16).toString('hex'),
      redirectUris: [`${origin}${routesPrefix}/callback`],
      postLogoutRedirectUris: [`${origin}${routesPrefix}/signed-out`],
    };
    const idp: DevIdentityProvider = await startDevIdentityProvider({ clients: [client] });
    closers.push(() => idp.close());
    const upstream = await startEchoUpstream();
    closers.push(() => upstream.close());

    const policyDirectory = join(options.scratch, 'policies');
    await mkdir(policyDirectory);
    const policyFile = join(policyDirectory, 'soak.yaml');
    await writeFile(policyFile, soakPolicyManifest('closed', appHost));

    const operationsPort = await findFreePort();
    const config = {
      publicUrl: origin,
      listeners: { main: { host: '127.0.0.1' }, operations: { host: '127.0.0.1' } },
      trustedProxies: ['127.0.0.1/32'],
      log: { level: 'warn' },
      policy: { source: 'files', files: { directory: policyDirectory, watch: true } },
      server: { shutdownDelay: 0, shutdownTimeout: '2s' },
      redirects: { allowedDomains: [appHost] },
      // The default Secure cookie, as in production: *.localhost is a secure context.
      sessions: { store: 'redis', redis: { url: options.redisUrl, keyPrefix: options.keyPrefix } },
      providers: [
        {
          name: 'dev',
          issuer: idp.issuer,
          clientId: client.clientId,
          clientSecret: client.clientSecret,
        },
      ],
    };
    const configPath = join(options.scratch, 'gatehouse.yaml');
    await writeFile(configPath, stringify(config));
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (!name.startsWith('GATEHOUSE_')) env[name] = value;
    }
    // A separate process, so its memory is its own in /proc.
    const gatehouse = await startPinnedProcess({
      name: 'gatehouse',
      command: process.execPath,
      args: [new URL('./servers/gatehouse.ts', import.meta.url).pathname],
      env: {
        ...env,
        BENCH_CONFIG: configPath,
        GATEHOUSE_LISTENERS__MAIN__PORT: String(await findFreePort()),
        GATEHOUSE_LISTENERS__OPERATIONS__PORT: String(operationsPort),
      },
      cpu: undefined,
      logPath: join(options.scratch, 'gatehouse.log'),
      ready: { kind: 'line' },
    });
    closers.push(() => gatehouse.stop());

    const ingress: RunningAppIngress = await startAppIngress({
      host: appHost,
      port,
      gatehouseUrl: gatehouse.url,
      upstreamUrl: upstream.url,
      routesPrefix,
      responseHeaders: identityHeaders,
    });
    closers.push(() => ingress.stop());
    return {
      origin,
      gatehouse,
      operationsUrl: `http://127.0.0.1:${String(operationsPort)}`,
      policyFile,
      upstream,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

// --- The traffic ---------------------------------------------------------------------------------

interface Example {
  readonly kind: 'wrong-decision' | 'server-error' | 'other-error';
  readonly atSeconds: number;
  readonly detail: string;
}

/** Mutable counters shared by the virtual users and the editor (one event loop, no races). */
class Recorder {
  requests = 0;
  checks = 0;
  checksInSwitchWindow = 0;
  logins = 0;
  logouts = 0;
  policyEdits = 0;
  policyEditsNotApplied = 0;
  wrongDecisions = 0;
  serverErrors = 0;
  otherErrors = 0;
  canaryRequests = 0;
  readonly applyLatenciesMs: number[] = [];
  readonly examples: Example[] = [];
  readonly #started: number;
  readonly #say: (message: string) => void;

  constructor(started: number, say: (message: string) => void) {
    this.#started = started;
    this.#say = say;
  }

  note(kind: Example['kind'], detail: string): void {
    if (kind === 'other-error') this.otherErrors++;
    if (kind === 'wrong-decision') this.wrongDecisions++;
    // 5xx are counted where every response passes (countingFetch); here they are only described.
    if (this.examples.length < 50) {
      const atSeconds = (Date.now() - this.#started) / 1000;
      this.examples.push({ kind, atSeconds, detail });
      this.#say(`${kind} at ${atSeconds.toFixed(1)} s: ${detail}`);
    }
  }

  counts(): SoakCounts {
    return {
      requests: this.requests,
      checks: this.checks,
      checksInSwitchWindow: this.checksInSwitchWindow,
      logins: this.logins,
      logouts: this.logouts,
      policyEdits: this.policyEdits,
      policyEditsNotApplied: this.policyEditsNotApplied,
      wrongDecisions: this.wrongDecisions,
      serverErrors: this.serverErrors,
      otherErrors: this.otherErrors,
    };
  }
}

/** The runner's knowledge of the serving policy (see PolicyView). */
class PolicyTracker {
  #view: PolicyView = { epoch: 0, applied: 'closed', pending: null };

  view(): PolicyView {
    return this.#view;
  }

  beginSwitch(to: PolicyState): void {
    this.#view = { epoch: this.#view.epoch + 1, applied: this.#view.applied, pending: to };
  }

  /** The canary saw `state` served. */
  applied(state: PolicyState): void {
    this.#view = { epoch: this.#view.epoch + 1, applied: state, pending: null };
  }
}

/** A step of the sign-in or sign-out flow answered something a browser could not go on from. */
class FlowError extends Error {}

interface Traffic {
  readonly origin: string;
  readonly signInPrefix: string;
  readonly fetch: typeof globalThis.fetch;
  readonly recorder: Recorder;
  readonly policy: PolicyTracker;
  readonly deadline: number;
  readonly thinkMs: number;
  readonly checksPerSession: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

function urlOf(input: string | URL | Request): string {
  if (typeof input === 'string') return input;
  return input instanceof URL ? input.href : input.url;
}

/** Counts every request and every 5xx, whoever sent it. */
function countingFetch(
  inner: typeof globalThis.fetch,
  recorder: Recorder,
): typeof globalThis.fetch {
  return async (input, init) => {
    recorder.requests++;
    const response = await inner(input, init);
    if (response.status >= 500) {
      recorder.serverErrors++;
      recorder.note(
        'server-error',
        `${init?.method ?? 'GET'} ${urlOf(input)} answered ${String(response.status)}`,
      );
    }
    return response;
  };
}

async function observe(response: Response): Promise<ObservedAnswer> {
  const body = await response.text();
  const location = response.headers.get('location');
  if (response.status !== 200) return { status: response.status, location };
  let echoed: EchoedRequest;
  try {
    echoed = parseEcho(body);
  } catch {
    return { status: response.status, location };
  }
  const user = echoed.headers['x-auth-request-user'];
  return {
    status: response.status,
    location,
    echo: { path: echoed.url, user: Array.isArray(user) ? user.join(',') : user },
  };
}

/**
 * One judged request through nginx as `user` (null: anonymous). `cookie` overrides the jar's
 * (the replay of a signed-out ticket). Returns the answer, or null when the request failed.
 */
async function check(
  traffic: Traffic,
  jar: CookieJar,
  user: SoakUser | null,
  path: SoakPath,
  cookie?: string,
): Promise<ObservedAnswer | null> {
  const before = traffic.policy.view();
  let observed: ObservedAnswer;
  try {
    const url = `${traffic.origin}${path}`;
    const response =
      cookie === undefined
        ? await jar.fetch(url)
        : await traffic.fetch(url, { headers: { cookie } });
    observed = await observe(response);
  } catch (error) {
    traffic.recorder.note(
      'other-error',
      `GET ${path} as ${user ?? 'anonymous'}: ${describeError(error)}`,
    );
    return null;
  }
  const after = traffic.policy.view();
  const { states, inSwitchWindow } = acceptableStates(before, after);
  const acceptable = states.map((state) => expectedOutcome(state, user, path));
  const verdict = judgeCheck(acceptable, observed, path, traffic.signInPrefix);
  traffic.recorder.checks++;
  if (inSwitchWindow) traffic.recorder.checksInSwitchWindow++;
  if (verdict === 'wrong') {
    traffic.recorder.note(
      'wrong-decision',
      `GET ${path} as ${user ?? 'anonymous'}${cookie === undefined ? '' : ' (replayed signed-out cookie)'} ` +
        `in policy ${states.join('|')}: expected ${JSON.stringify(acceptable)}, got ${String(observed.status)}` +
        (observed.location === null ? '' : ` → ${observed.location}`) +
        (observed.echo === undefined
          ? ''
          : ` upstream saw ${observed.echo.path} as "${observed.echo.user ?? ''}"`),
    );
  }
  return observed;
}

async function expectRedirect(response: Response, step: string): Promise<string> {
  await response.body?.cancel();
  const location = response.headers.get('location');
  if (response.status < 300 || response.status >= 400 || location === null) {
    throw new FlowError(`${step}: expected a redirect, got ${String(response.status)}`);
  }
  return location;
}

/** Signs `user` in through nginx the way a browser does; the jar then holds the session. */
async function signInThroughNginx(
  traffic: Traffic,
  jar: CookieJar,
  user: SoakUser,
): Promise<boolean> {
  const landing = await check(traffic, jar, null, '/private');
  if (landing?.status !== 302 || landing.location === null) return false;
  const start = new URL(landing.location, traffic.origin);
  const toProvider = await expectRedirect(await jar.fetch(start), 'sign-in start');
  const callback = await browserlessLogin({
    authorizationUrl: new URL(toProvider, start),
    username: user,
    password: user,
    jar,
    redirectUri: `${traffic.origin}${routesPrefix}/callback`,
  });
  const back = await expectRedirect(await jar.fetch(callback), 'callback');
  if (jar.get(traffic.origin, sessionCookieName) === undefined) {
    throw new FlowError('callback: no session cookie');
  }
  if (new URL(back, traffic.origin).href !== `${traffic.origin}/private`) {
    throw new FlowError(`callback: redirected to ${back}, not back to /private`);
  }
  traffic.recorder.logins++;
  await check(traffic, jar, user, '/private');
  return true;
}

/** Signs out with the confirmation form; the browser and the old ticket must then be anonymous. */
async function signOutThroughNginx(traffic: Traffic, jar: CookieJar): Promise<void> {
  const ticket = jar.get(traffic.origin, sessionCookieName);
  const pageUrl = `${traffic.origin}${routesPrefix}/sign_out`;
  const page = await jar.fetch(pageUrl);
  const html = await page.text();
  const form = parseForms(html, pageUrl).find((candidate) => candidate.fields.has('csrf'));
  if (page.status !== 200 || form === undefined || form.fields.get('csrf') === '') {
    throw new FlowError(`sign-out page: got ${String(page.status)} without a CSRF token`);
  }
  const confirmed = await jar.fetch(form.action, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: traffic.origin,
    },
    body: form.fields.toString(),
  });
  await expectRedirect(confirmed, 'sign-out');
  if (jar.get(traffic.origin, sessionCookieName) !== undefined) {
    throw new FlowError('sign-out: the session cookie was not cleared');
  }
  traffic.recorder.logouts++;
  await check(traffic, jar, null, '/private');
  // The ticket itself must be dead, not only forgotten by this browser.
  if (ticket !== undefined) {
    await check(traffic, jar, null, '/app/dashboard', `${sessionCookieName}=${ticket}`);
  }
}

function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

async function virtualUser(traffic: Traffic, index: number): Promise<void> {
  let round = 0;
  while (Date.now() < traffic.deadline) {
    const user = soakUsers[(index + round) % soakUsers.length] ?? 'alice';
    round++;
    // A new browser every round: the provider asks for the password, as for a new visitor.
    const jar = new CookieJar({ fetch: traffic.fetch });
    try {
      for (let i = 0; i < 2 && Date.now() < traffic.deadline; i++) {
        await check(traffic, jar, null, pick(soakPaths));
        await sleep(traffic.thinkMs);
      }
      if (!(await signInThroughNginx(traffic, jar, user))) continue;
      for (let i = 0; i < traffic.checksPerSession && Date.now() < traffic.deadline; i++) {
        await sleep(traffic.thinkMs);
        await check(traffic, jar, user, pick(soakPaths));
      }
      // Half the sessions end with a sign-out, the others are abandoned (idle timeout).
      if (Math.random() < 0.5 && Date.now() < traffic.deadline) {
        await signOutThroughNginx(traffic, jar);
      }
    } catch (error) {
      traffic.recorder.note(
        'other-error',
        `${user}, round ${String(round)}: ${describeError(error)}`,
      );
      await sleep(500);
    }
  }
}

/** Rewrites the policy file atomically: a hidden temporary file renamed over it (rename(2)). */
async function writePolicy(policyFile: string, state: PolicyState, serial: number): Promise<void> {
  const temporary = join(policyFile, '..', `.soak-${String(serial)}.tmp`);
  await writeFile(temporary, soakPolicyManifest(state, appHost));
  await rename(temporary, policyFile);
}

/** Asks gatehouse directly, as nginx's auth subrequest would, what an anonymous canary gets. */
async function canary(traffic: Traffic, gatehouseUrl: string): Promise<number> {
  traffic.recorder.canaryRequests++;
  const routedHost = new URL(traffic.origin).hostname;
  const response = await traffic.fetch(`${gatehouseUrl}/authz/nginx?host=${routedHost}`, {
    headers: {
      'x-original-url': `${traffic.origin}${canaryPath}`,
      'x-original-method': 'GET',
      'x-sent-from': 'nginx-ingress-controller',
    },
  });
  await response.body?.cancel();
  return response.status;
}

async function policyEditor(
  traffic: Traffic,
  stack: Stack,
  editSeconds: number,
  say: (message: string) => void,
): Promise<void> {
  const applyDeadlineMs = 30_000;
  let serial = 0;
  while (Date.now() + editSeconds * 1000 < traffic.deadline) {
    await sleep(editSeconds * 1000);
    const next = otherState(traffic.policy.view().applied);
    serial++;
    traffic.policy.beginSwitch(next);
    const written = Date.now();
    await writePolicy(stack.policyFile, next, serial);
    traffic.recorder.policyEdits++;
    let applied = false;
    while (Date.now() - written < applyDeadlineMs) {
      try {
        if ((await canary(traffic, stack.gatehouse.url)) === canaryStatus(next)) {
          applied = true;
          break;
        }
      } catch (error) {
        traffic.recorder.note('other-error', `canary: ${describeError(error)}`);
      }
      await sleep(50);
    }
    if (applied) {
      traffic.recorder.applyLatenciesMs.push(Date.now() - written);
      traffic.policy.applied(next);
      say(
        `policy edit ${String(serial)}: ${next}, applied after ${String(Date.now() - written)} ms`,
      );
    } else {
      traffic.recorder.policyEditsNotApplied++;
      say(
        `policy edit ${String(serial)}: ${next} NOT applied within ${String(applyDeadlineMs)} ms`,
      );
      // Keep judging against either state rather than inventing which one is served.
      return;
    }
  }
}

/** `gatehouse_policy_reloads_total` by result, from the operations listener. */
async function policyReloads(operationsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${operationsUrl}/metrics`)).text();
  const reloads: Record<string, number> = {};
  for (const match of text.matchAll(
    /^gatehouse_policy_reloads_total\{[^}]*result="(\w+)"[^}]*\} (\S+)$/gm,
  )) {
    const [, result, value] = match;
    if (result !== undefined) reloads[result] = (reloads[result] ?? 0) + Number(value);
  }
  return reloads;
}

// --- The run -------------------------------------------------------------------------------------

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      'warmup-minutes': { type: 'string', default: '2' },
      users: { type: 'string', default: '12' },
      'edit-seconds': { type: 'string', default: '20' },
      'checks-per-session': { type: 'string', default: '20' },
      'think-ms': { type: 'string', default: '50' },
      'redis-url': {
        type: 'string',
        default: process.env['GATEHOUSE_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      },
      'results-dir': {
        type: 'string',
        default: new URL('./results', import.meta.url).pathname,
      },
    },
    strict: true,
  });
  const number = (name: keyof typeof values, minimum: number): number => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < minimum) {
      throw new Error(`--${name} must be a number >= ${String(minimum)}, got ${values[name]}`);
    }
    return value;
  };
  const totalSeconds = number('minutes', 0.1) * 60;
  const warmupSeconds = number('warmup-minutes', 0) * 60;
  const users = number('users', 1);
  const editSeconds = number('edit-seconds', 1);
  if (warmupSeconds >= totalSeconds) throw new Error('--warmup-minutes must be below --minutes');
  const say = (message: string) => process.stderr.write(`[mixed-soak] ${message}\n`);

  const scratch = await mkdtemp(join(tmpdir(), 'gatehouse-mixed-soak-'));
  const keyPrefix = `gatehouse-soak-${randomBytes(4).toString('hex')}:`;
  const redisUrl = values['redis-url'];
  let stack: Stack | undefined;
  const agent = new Agent({ keepAlive: true });
  try {
    stack = await startStack({ scratch, redisUrl, keyPrefix });
    say(`stack up: ${stack.origin} (nginx) → gatehouse pid ${String(stack.gatehouse.pid)}`);
    const started = Date.now();
    const recorder = new Recorder(started, say);
    const traffic: Traffic = {
      origin: stack.origin,
      signInPrefix: `${stack.origin}${routesPrefix}/start?rd=`,
      fetch: countingFetch(createLoopbackFetch(agent), recorder),
      recorder,
      policy: new PolicyTracker(),
      deadline: started + totalSeconds * 1000,
      thinkMs: number('think-ms', 0),
      checksPerSession: number('checks-per-session', 1),
    };
    const gatehousePid = stack.gatehouse.pid;
    const upstream = stack.upstream;
    const samples: RssSample[] = [];
    const sample = () => {
      samples.push({
        atSeconds: (Date.now() - started) / 1000,
        rssBytes: readMemory(gatehousePid).rssBytes,
      });
    };
    sample();
    const sampler = setInterval(() => {
      sample();
      // The echo application keeps every request it saw; the soak needs none of them.
      (upstream.received as EchoedRequest[]).length = 0;
    }, 5_000);
    const progress = setInterval(() => {
      const last = samples.at(-1);
      say(
        `${((Date.now() - started) / 1000).toFixed(0)} s: ${String(recorder.checks)} checks, ${String(recorder.logins)} logins, ` +
          `${String(recorder.logouts)} logouts, ${String(recorder.policyEdits)} edits, ${String(recorder.wrongDecisions)} wrong, ` +
          `${String(recorder.serverErrors)} 5xx, ${String(recorder.otherErrors)} other; RSS ${last === undefined ? '?' : (last.rssBytes / 2 ** 20).toFixed(0)} MB`,
      );
    }, 30_000);
    try {
      await Promise.all([
        ...Array.from({ length: users }, (_, index) => virtualUser(traffic, index)),
        policyEditor(traffic, stack, editSeconds, say),
      ]);
    } finally {
      clearInterval(sampler);
      clearInterval(progress);
    }
    sample();
    const elapsedSeconds = (Date.now() - started) / 1000;
    const reloads = await policyReloads(stack.operationsUrl).catch(() => ({}));
    const counts = recorder.counts();
    const verdict = judgeMixedSoak(counts, samples, warmupSeconds, elapsedSeconds);
    const latencies = [...recorder.applyLatenciesMs].sort((a, b) => a - b);
    const document = {
      startedAt: new Date(started).toISOString(),
      minutes: totalSeconds / 60,
      warmupMinutes: warmupSeconds / 60,
      users,
      editSeconds,
      checksPerSession: traffic.checksPerSession,
      thinkMs: traffic.thinkMs,
      elapsedSeconds,
      counts,
      canaryRequests: recorder.canaryRequests,
      policyApplyMs: { p50: percentile(latencies, 0.5), max: latencies.at(-1) ?? Number.NaN },
      gatehousePolicyReloads: reloads,
      examples: recorder.examples,
      samples,
      verdict,
    };
    const resultsDirectory = values['results-dir'];
    await mkdir(resultsDirectory, { recursive: true });
    const path = join(
      resultsDirectory,
      `soak-${new Date(started).toISOString().replaceAll(':', '-')}.json`,
    );
    // Formatted as `make lint` (prettier --check .) expects, so a recorded result can be committed.
    const text = await format(JSON.stringify(document, null, 2), {
      ...(await resolveConfig(path)),
      parser: 'json',
    });
    await writeFile(path, text);
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    const peak = Math.max(...samples.map((entry) => entry.rssBytes));
    process.stdout.write(
      `\n## mixed soak through nginx: ${String(users)} users, ${(totalSeconds / 60).toFixed(1)} min (warm-up ${(warmupSeconds / 60).toFixed(1)} min)\n\n` +
        `requests ${String(counts.requests)} (${(counts.requests / elapsedSeconds).toFixed(0)}/s), checks ${String(counts.checks)} ` +
        `(${String(counts.checksInSwitchWindow)} in a switch window), logins ${String(counts.logins)}, logouts ${String(counts.logouts)}, ` +
        `policy edits ${String(counts.policyEdits)} (applied p50 ${percentile(latencies, 0.5).toFixed(0)} ms, max ${(latencies.at(-1) ?? Number.NaN).toFixed(0)} ms; not applied ${String(counts.policyEditsNotApplied)})\n` +
        `wrong decisions ${String(counts.wrongDecisions)}, 5xx ${String(counts.serverErrors)}, other errors ${String(counts.otherErrors)}; ` +
        `gatehouse policy reloads ${JSON.stringify(reloads)}\n` +
        `RSS ${mb(verdict.baselineRssBytes)} MB after warm-up → ${mb(verdict.finalRssBytes)} MB max of the last minute (${(verdict.growth * 100).toFixed(1)}%; peak to peak ${(verdict.peakGrowth * 100).toFixed(1)}%), highest ${mb(peak)} MB\n` +
        `${verdict.passed ? 'Mixed soak: PASSED' : `Mixed soak: FAILED\n- ${verdict.reasons.join('\n- ')}`}\nResults: ${path}\n`,
    );
    if (!verdict.passed)
      process.stderr.write(`--- gatehouse log (tail) ---\n${await stack.gatehouse.logTail(30)}\n`);
    return verdict.passed ? 0 : 1;
  } finally {
    agent.destroy();
    await stack?.close();
    const deleted = await deleteKeysWithPrefix(redisUrl, keyPrefix).catch(() => 0);
    say(`deleted ${String(deleted)} Redis keys under ${keyPrefix}`);
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (error) {
    process.stderr.write(`[mixed-soak] ERROR: ${describeError(error)}\n`);
    process.exitCode = 2;
  }
}
