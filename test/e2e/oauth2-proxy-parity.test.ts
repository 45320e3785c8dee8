/**
 * Parity of gatehouse's `/oauth2/auth` with oauth2-proxy's own (issue #19): the same checks,
 * replayed against oauth2-proxy v7.15.6 (built from its Go module by scripts/oauth2-proxy/build.sh)
 * and gatehouse, with the same users signed in to both through the same development OpenID
 * Provider, must get the same status (202 / 401 / 403) and, when allowed, the same
 * `X-Auth-Request-User`, `-Email`, `-Groups` and `-Preferred-Username`. That is what lets a team
 * move one Ingress at a time by changing only the Service in its `auth-url`
 * (docs/migrating-from-oauth2-proxy.md).
 *
 * The checks are the documented oauth2-proxy annotation patterns: `auth-url: …/oauth2/auth`,
 * with `?allowed_groups=`, `?allowed_emails=`, `?allowed_email_domains=` and a mix, sent as
 * ingress-nginx's auth location sends them (docs/proxy-protocols.md §1.2), for a user in and out
 * of each list and for an anonymous caller; then one pattern through real nginx in the
 * ingress-nginx rendition (test/e2e/harness/nginx.ts), once in front of each.
 *
 * Both are configured alike where their defaults differ: gatehouse's user name is the `sub`
 * claim (`providers[].claims.username: sub`), oauth2-proxy's default; oauth2-proxy answers with
 * `--set-xauthrequest`. oauth2-proxy leaves out a header it has no value for, gatehouse sends it
 * empty: both reach the upstream as no header (nginx drops an empty `proxy_set_header`).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIdentityProvider } from '../../dev/identity-provider.ts';
import type { DevIdentityProvider } from '../../dev/identity-provider.ts';
import { findFreePort } from '../fixtures/gatehouse/free-port.ts';
import { send } from '../fixtures/gatehouse/http-client.ts';
import type { RawResponse } from '../fixtures/gatehouse/http-client.ts';
import { signInThrough } from '../fixtures/gatehouse/sign-in.ts';
import { startTestGatehouse, testPublicUrl } from '../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../fixtures/gatehouse/start.ts';
import { browserlessLogin } from '../fixtures/oidc/browserless-login.ts';
import { CookieJar } from '../fixtures/oidc/cookie-jar.ts';
import { parseEcho, startEchoUpstream } from './harness/echo-upstream.ts';
import type { EchoUpstream } from './harness/echo-upstream.ts';
import { renderNginxConfig } from './harness/nginx.ts';
import { requireExecutable, startProcess } from './harness/process.ts';
import type { StartedProcess } from './harness/process.ts';

const execFileAsync = promisify(execFile);
const buildScript = resolve(import.meta.dirname, '../../scripts/oauth2-proxy/build.sh');

/** The cached binary, or an Error that says how to build it (tests fail, never skip). */
async function oauth2ProxyBinary(): Promise<string> {
  const { stdout } = await execFileAsync('bash', [buildScript, '--print-path']);
  const path = stdout.trim();
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `oauth2-proxy is not built (${path}): run \`bash scripts/oauth2-proxy/build.sh\` (it builds ` +
        'the pinned version from its Go module, about 5 minutes once, then cached in GATEHOUSE_TOOLS_DIR)',
    );
  }
  return path;
}

/** The identity headers both send with `--set-xauthrequest` / the `x-auth-request` profile. */
const comparedHeaders = [
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
] as const;

/** The demo users (dev/demo-users.ts): alice admins+staff, bob staff, carol no group and example.org. */
const users = ['alice', 'bob', 'carol'] as const;
type User = (typeof users)[number];

const gatehouseClient = { clientId: 'gatehouse', clientSecret: 'gatehouse-secret' };
const oauth2ProxyClient = {
  clientId: 'oauth2-proxy',
  clientSecret: randomBytes(24).toString('hex'),
};

let idp: DevIdentityProvider;
let gatehouse: TestGatehouse;
let oauth2Proxy: StartedProcess;
let oauth2ProxyUrl: string;
/** What beforeAll started, stopped in reverse order (also when it failed half-way). */
const closers: (() => Promise<void>)[] = [];
/** The `Cookie` header of each user, holding both sessions (each reads only its own cookie). */
const cookies = new Map<User, string>();

/** Only the two sessions: the provider's own cookies share the jar (cookies ignore ports). */
function sessionCookies(header: string | undefined): string {
  return (header ?? '')
    .split('; ')
    .filter((cookie) => cookie.startsWith('_oauth2_proxy') || cookie.startsWith('_gatehouse'))
    .join('; ');
}

async function signInToOauth2Proxy(user: User, callback: string): Promise<string> {
  const jar = new CookieJar();
  const start = await jar.fetch(`${oauth2ProxyUrl}/oauth2/start?rd=%2F`);
  const authorization = start.headers.get('location');
  await start.body?.cancel();
  if (start.status !== 302 || authorization === null) {
    throw new Error(`oauth2-proxy /oauth2/start answered ${String(start.status)}`);
  }
  const back = await browserlessLogin({
    authorizationUrl: authorization,
    username: user,
    password: user,
    jar,
    redirectUri: callback,
  });
  const finished = await jar.fetch(back);
  await finished.body?.cancel();
  const header = sessionCookies(jar.cookieHeader(oauth2ProxyUrl));
  if (header === '') throw new Error(`oauth2-proxy set no session cookie for ${user}`);
  return header;
}

beforeAll(async () => {
  const binary = await oauth2ProxyBinary();
  const scratch = await mkdtemp(join(tmpdir(), 'gatehouse-oauth2-proxy-parity-'));
  closers.push(() => rm(scratch, { recursive: true, force: true }));
  const port = await findFreePort();
  oauth2ProxyUrl = `http://127.0.0.1:${String(port)}`;
  const oauth2ProxyCallback = `${oauth2ProxyUrl}/oauth2/callback`;
  const gatehouseCallback = `${testPublicUrl}/oauth2/callback`;
  idp = await startDevIdentityProvider({
    clients: [
      { ...gatehouseClient, redirectUris: [gatehouseCallback] },
      { ...oauth2ProxyClient, redirectUris: [oauth2ProxyCallback] },
    ],
  });
  closers.push(() => idp.close());
  gatehouse = await startTestGatehouse({
    // No policy: without `host=` none applies, which is the point.
    policies: '',
    configYaml: `
providers:
  - name: dev
    issuer: ${idp.issuer}
    clientId: ${gatehouseClient.clientId}
    clientSecret: ${gatehouseClient.clientSecret}
    claims: { username: sub }
`,
  });
  closers.push(() => gatehouse.close());
  oauth2Proxy = await startProcess({
    name: 'oauth2-proxy',
    command: binary,
    args: [
      `--http-address=127.0.0.1:${String(port)}`,
      '--provider=oidc',
      `--oidc-issuer-url=${idp.issuer}`,
      `--client-id=${oauth2ProxyClient.clientId}`,
      `--client-secret=${oauth2ProxyClient.clientSecret}`,
      `--redirect-url=${oauth2ProxyCallback}`,
      '--code-challenge-method=S256',
      '--skip-provider-button=true',
      '--email-domain=*',
      '--set-xauthrequest=true',
      '--upstream=static://200',
      `--cookie-secret=${randomBytes(16).toString('hex')}`,
      '--cookie-secure=false',
      '--request-logging=false',
    ],
    logPath: join(scratch, 'oauth2-proxy.log'),
    port,
  });
  closers.push(() => oauth2Proxy.stop());
  for (const user of users) {
    const gatehouseJar = await signInThrough(gatehouse, user, gatehouseCallback);
    const gatehouseCookie = sessionCookies(gatehouseJar.cookieHeader(gatehouse.url('/')));
    cookies.set(
      user,
      `${await signInToOauth2Proxy(user, oauth2ProxyCallback)}; ${gatehouseCookie}`,
    );
  }
}, 60_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** One ingress-nginx auth subrequest, as the controller's auth location sends it (§1.2). */
function authSubrequest(baseUrl: string, query: string, user: User | null): Promise<RawResponse> {
  const headers: [string, string][] = [
    ['X-Request-ID', randomBytes(16).toString('hex')],
    ['X-Original-URL', 'https://app.test/orders?page=2'],
    ['X-Original-Method', 'GET'],
    ['X-Sent-From', 'nginx-ingress-controller'],
    ['X-Real-IP', '198.51.100.23'],
    ['X-Forwarded-For', '198.51.100.23'],
    ['X-Auth-Request-Redirect', '/orders?page=2'],
    ['Accept', 'text/html,application/xhtml+xml'],
  ];
  if (user !== null) headers.push(['Cookie', cookies.get(user) ?? '']);
  return send(baseUrl, { path: `/oauth2/auth${query}`, headers });
}

/** What an allow hands the upstream: each compared header, absent and empty alike. */
function identityOf(response: RawResponse): Record<string, string> {
  return Object.fromEntries(
    comparedHeaders.map((name) => [name, String(response.headers[name] ?? '')]),
  );
}

/** The documented `auth-url` queries, and what oauth2-proxy answers each user (checked below). */
const patterns: readonly {
  readonly query: string;
  readonly expected: Readonly<Record<User | 'anonymous', number>>;
}[] = [
  { query: '', expected: { anonymous: 401, alice: 202, bob: 202, carol: 202 } },
  {
    query: '?allowed_groups=admins',
    expected: { anonymous: 401, alice: 202, bob: 403, carol: 403 },
  },
  {
    query: '?allowed_groups=admins,staff',
    expected: { anonymous: 401, alice: 202, bob: 202, carol: 403 },
  },
  {
    query: '?allowed_emails=bob@example.com,carol@example.org',
    expected: { anonymous: 401, alice: 403, bob: 202, carol: 202 },
  },
  {
    query: '?allowed_email_domains=example.org',
    expected: { anonymous: 401, alice: 403, bob: 403, carol: 202 },
  },
  {
    query: '?allowed_groups=staff&allowed_emails=alice@example.com',
    expected: { anonymous: 401, alice: 202, bob: 403, carol: 403 },
  },
];

describe('the documented auth-url patterns, sent straight to both', () => {
  for (const { query, expected } of patterns) {
    for (const who of ['anonymous', ...users] as const) {
      it(`/oauth2/auth${query} for ${who}: oauth2-proxy ${String(expected[who])}, gatehouse the same`, async () => {
        const user = who === 'anonymous' ? null : who;
        const [reference, candidate] = await Promise.all([
          authSubrequest(oauth2ProxyUrl, query, user),
          authSubrequest(gatehouse.url(''), query, user),
        ]);
        expect(reference.status, 'oauth2-proxy').toBe(expected[who]);
        expect(candidate.status, 'gatehouse').toBe(reference.status);
        if (reference.status === 202) {
          expect(identityOf(candidate)).toEqual(identityOf(reference));
          // Not vacuous: the user's own name and address are in both.
          expect(identityOf(reference)['x-auth-request-email']).toMatch(new RegExp(`^${who}@`));
        }
      });
    }
  }

  it('sends the values oauth2-proxy sends: sub as the user, groups comma-joined', async () => {
    const response = await authSubrequest(gatehouse.url(''), '', 'alice');
    expect(identityOf(response)).toEqual({
      'x-auth-request-user': 'alice-0001',
      'x-auth-request-email': 'alice@example.com',
      'x-auth-request-groups': 'admins,staff',
      'x-auth-request-preferred-username': 'alice',
    });
  });

  // Where oauth2-proxy reads a restriction as none at all, gatehouse refuses the check (400,
  // nginx 500) instead of opening the application: the one deliberate difference.
  it.each([
    ['an empty list', '?allowed_groups='],
    ['a misspelt parameter', '?allowed_group=admins'],
    ['a ";" in the query', '?allowed_groups=admins;x'],
  ])('opens nothing on %s, which oauth2-proxy reads as no restriction', async (_what, query) => {
    const [reference, candidate] = await Promise.all([
      authSubrequest(oauth2ProxyUrl, query, 'bob'),
      authSubrequest(gatehouse.url(''), query, 'bob'),
    ]);
    expect(reference.status, 'oauth2-proxy lets bob in').toBe(202);
    expect(candidate.status, 'gatehouse refuses the auth URL').toBe(400);
  });
});

describe('through nginx as ingress-nginx renders auth-url, switching only the Service', () => {
  const signInUrl = 'https://auth.app.test/oauth2/start';
  let upstream: EchoUpstream;
  /** The upstream and the nginx instances, stopped in reverse order. */
  const ingresses: { stop: () => Promise<void> }[] = [];
  let viaOauth2Proxy: string;
  let viaGatehouse: string;

  /**
   * nginx with the ingress-nginx rendition of an Ingress whose `auth-url` is `authUrl`: the
   * harness renders `…/authz/nginx`, and the Ingress under test names another Service and path,
   * so only the `set $target` line (ingress-nginx's rendering of `auth-url`) is replaced.
   */
  async function startIngress(authUrl: string): Promise<string> {
    const nginx = requireExecutable('nginx');
    const prefix = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-parity-nginx-'));
    await chmod(prefix, 0o755);
    await mkdir(join(prefix, 'logs'));
    await mkdir(join(prefix, 'cache'));
    const port = await findFreePort();
    const rendered = renderNginxConfig(
      {
        gatehouseUrl: new URL(authUrl).origin,
        upstreamUrl: upstream.url,
        signInUrl,
        responseHeaders: comparedHeaders.map((name) =>
          name.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase()),
        ),
        routedHost: false,
      },
      { prefix, port },
    );
    const targets = rendered.match(/set \$target "[^"]*";/g) ?? [];
    expect(targets, 'one auth-url in the rendition').toHaveLength(1);
    const config = rendered.replace(/set \$target "[^"]*";/, `set $target "${authUrl}";`);
    const configPath = join(prefix, 'nginx.conf');
    await writeFile(configPath, config);
    const errorLog = join(prefix, 'logs', 'error.log');
    const started = await startProcess({
      name: 'nginx',
      command: nginx,
      args: ['-p', `${prefix}/`, '-c', configPath, '-e', errorLog, '-g', 'daemon off;'],
      logPath: join(prefix, 'logs', 'stderr.log'),
      port,
    });
    ingresses.push({
      stop: async () => {
        await started.stop();
        await rm(prefix, { recursive: true, force: true });
      },
    });
    return `http://127.0.0.1:${String(port)}`;
  }

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    ingresses.push({ stop: () => upstream.close() });
    viaOauth2Proxy = await startIngress(`${oauth2ProxyUrl}/oauth2/auth?allowed_groups=admins`);
    viaGatehouse = await startIngress(`${gatehouse.url('')}/oauth2/auth?allowed_groups=admins`);
  }, 30_000);
  afterAll(async () => {
    for (const started of ingresses.reverse()) await started.stop();
  });

  function browse(ingress: string, user: User | null): Promise<RawResponse> {
    const headers: [string, string][] = [
      ['Host', `app.test:${new URL(ingress).port}`],
      ['Accept', 'text/html'],
    ];
    if (user !== null) headers.push(['Cookie', cookies.get(user) ?? '']);
    return send(ingress, { path: '/orders?page=2', headers });
  }

  it('gives an admin the same identity headers upstream, and refuses the others alike', async () => {
    const reference = await browse(viaOauth2Proxy, 'alice');
    const candidate = await browse(viaGatehouse, 'alice');
    expect(reference.status).toBe(200);
    expect(candidate.status).toBe(200);
    const received = (response: RawResponse) =>
      Object.fromEntries(
        comparedHeaders.map((name) => [name, String(parseEcho(response.body).headers[name] ?? '')]),
      );
    expect(received(candidate)).toEqual(received(reference));
    expect(received(candidate)['x-auth-request-user']).toBe('alice-0001');

    expect((await browse(viaOauth2Proxy, 'bob')).status).toBe(403);
    expect((await browse(viaGatehouse, 'bob')).status).toBe(403);

    // Both send the browser to auth-signin with `rd` the original URL (each on its own port).
    for (const ingress of [viaOauth2Proxy, viaGatehouse]) {
      const anonymous = await browse(ingress, null);
      expect(anonymous.status, ingress).toBe(302);
      // ingress-nginx: rd=$scheme://$host:$port$escaped_request_uri (only the URI escaped).
      const original = `http://app.test:${new URL(ingress).port}${encodeURIComponent('/orders?page=2')}`;
      expect(anonymous.headers.location).toBe(`${signInUrl}?rd=${original}`);
    }
  });
});
