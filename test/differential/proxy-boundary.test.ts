/**
 * Security invariant 10, "what gatehouse judges is what the proxy routes", as a differential test
 * through the real proxies: generated raw HTTP/1.1 requests (origin- and absolute-form request
 * lines; Host headers with `?`, `#`, `@`, `\`, `%`, spaces, ports, trailing dots, upper case,
 * IPv6; paths with percent-encodings, literal and encoded dot-segments, `;`, `//`, backslashes,
 * raw non-ASCII bytes; every method including HEAD, OPTIONS and unknown ones; duplicate and
 * conflicting headers) go over raw sockets to nginx as ingress-nginx renders it, plain nginx
 * `auth_request`, Caddy `forward_auth` and Traefik ForwardAuth, each configured as
 * docs/proxy-protocols.md documents, in front of gatehouse and a recording upstream.
 *
 * Property: for every request the upstream receives, gatehouse allowed exactly one check, and the
 * (host, path, method) it judged are the host whose server block / router / site served the
 * request, the path the upstream received, and its method. Paths are compared after decoding
 * percent-encoded unreserved characters and merging repeated slashes: the canonical form policies
 * match on (docs/architecture.md, decision semantics 1), which changes no segment's content.
 * Anything else — a request the proxy or gatehouse refused — is fine.
 *
 * Requests run one at a time, so every log line and every upstream request between two sends
 * belongs to the one request in flight. `make test` sends a few thousand per proxy; `make fuzz`
 * (DIFFERENTIAL_RUNS, default 100,000 there) prints the count and any counterexample, shrunk.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGatehouse } from '../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../fixtures/gatehouse/start.ts';
import { startCaddy } from '../e2e/harness/caddy.ts';
import { startEchoUpstream } from '../e2e/harness/echo-upstream.ts';
import type { EchoUpstream } from '../e2e/harness/echo-upstream.ts';
import { routedServerHeader, startNginx } from '../e2e/harness/nginx.ts';
import { startTraefik } from '../e2e/harness/traefik.ts';
import { rawExchange } from '../security/raw-socket.ts';

const configured = Number(process.env['DIFFERENTIAL_RUNS'] ?? 1500);
const RUNS = Number.isFinite(configured) && configured >= 1 ? Math.floor(configured) : 1500;

const appHost = 'app.test';
const wwwHost = 'www.test';
const identityHeaders = ['X-Auth-Request-User', 'X-Auth-Request-Roles'];

/**
 * Open by default, so that nearly every request is allowed and its facts compared; a few closed
 * paths so that a confused check would let a request through that should have been refused.
 */
const policies = `
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: app, namespace: app }
spec:
  hosts: [${appHost}]
  rules:
    - name: admin
      match: [{ path: { type: PathPrefix, value: /admin } }]
      action: Deny
    - name: secret
      match: [{ path: { type: Exact, value: /secret } }]
      action: Deny
    - name: no-delete
      match: [{ path: { type: PathPrefix, value: /public }, methods: [DELETE] }]
      action: Deny
    - name: rest
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [guest]
---
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: www, namespace: www }
spec:
  hosts: [${wwwHost}]
  rules:
    - name: rest
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [guest]
`;

// ---- the generator ------------------------------------------------------------------------

const methods = fc.constantFrom(
  'GET',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'PROPFIND',
  'get',
  'FOO',
);

/** Segment pieces every proxy passes and gatehouse accepts, so that most requests get through. */
const plainPieces = fc.constantFrom(
  'admin',
  'Admin',
  'ADMIN',
  'public',
  'secret',
  'x',
  '%41dmin',
  '%61dmin',
  '%7e',
  '%7E',
  'caf%C3%A9',
  '%25',
  '%20',
  '~',
  '*',
  "'",
  '@',
  ':',
  '$',
  '.x',
  'x.',
);

/** Pieces whose meaning depends on who reads them: the ones bypasses are made of. */
const trickyPieces = fc.constantFrom(
  '',
  '.',
  '..',
  '%2e',
  '%2E%2E',
  '.%2e',
  '%2F',
  '%2f',
  '%5C',
  '\\',
  ';x',
  '%3B',
  '%C0%AE',
  '%00',
  '%',
  '%zz',
  '\u00e9',
  '"',
  '<',
);

const segmentPieces = fc.oneof(
  { arbitrary: plainPieces, weight: 12 },
  { arbitrary: trickyPieces, weight: 1 },
);

const path = fc
  .tuple(
    fc.array(fc.array(segmentPieces, { minLength: 1, maxLength: 2 }), {
      minLength: 0,
      maxLength: 4,
    }),
    fc.constantFrom('', '', '/', '?q=1', '?/admin', '?x=/../admin', '#frag', '?a#b', '//'),
    fc.boolean(),
  )
  .map(([segments, tail, doubleStart]) => {
    const joined = segments.map((pieces) => pieces.join('')).join('/');
    return `${doubleStart ? '//' : '/'}${joined}${tail}`;
  });

type HostKind =
  | 'app'
  | 'www'
  | 'APP'
  | 'app.'
  | 'app-no-port'
  | 'app?'
  | 'app#'
  | 'app@www'
  | 'app\\'
  | 'app%2e'
  | 'app space'
  | 'ipv6'
  | 'ipv4'
  | 'app?x'
  | 'unknown'
  | 'missing'
  | 'duplicate';

const hostKinds = fc.constantFrom<HostKind>(
  'app',
  'app',
  'app',
  'app',
  'app',
  'app',
  'app',
  'www',
  'www',
  'www',
  'APP',
  'app.',
  'app-no-port',
  'app?',
  'app#',
  'app@www',
  'app\\',
  'app%2e',
  'app space',
  'ipv6',
  'ipv4',
  'app?x',
  'unknown',
  'missing',
  'duplicate',
);

function hostHeaders(kind: HostKind, port: number): string[] {
  const p = String(port);
  switch (kind) {
    case 'app':
      return [`Host: ${appHost}:${p}`];
    case 'www':
      return [`Host: ${wwwHost}:${p}`];
    case 'APP':
      return [`Host: APP.TEST:${p}`];
    case 'app.':
      return [`Host: ${appHost}.:${p}`];
    case 'app-no-port':
      return [`Host: ${appHost}`];
    case 'app?':
      return [`Host: ${appHost}?`];
    case 'app#':
      return [`Host: ${appHost}#`];
    case 'app@www':
      return [`Host: ${appHost}@${wwwHost}:${p}`];
    case 'app\\':
      return [`Host: ${appHost}\\`];
    case 'app%2e':
      return [`Host: app%2etest:${p}`];
    case 'app space':
      return [`Host: ${appHost} x`];
    case 'ipv6':
      return [`Host: [::1]:${p}`];
    case 'ipv4':
      return [`Host: 127.0.0.1:${p}`];
    case 'app?x':
      return [`Host: ${appHost}:${p}?x`];
    case 'unknown':
      return [`Host: unknown.test:${p}`];
    case 'missing':
      return [];
    case 'duplicate':
      return [`Host: ${wwwHost}:${p}`, `Host: ${appHost}:${p}`];
  }
}

/** Headers a client adds to try to steer the check; forwarded by some proxies, never trusted. */
const extraHeaders = fc.subarray(
  [
    'X-Forwarded-Uri: /public/x',
    'X-Forwarded-Host: www.test',
    'X-Forwarded-Method: GET',
    'X-Forwarded-Proto: https',
    'X-Original-URL: http://www.test/public',
    'X-Original-Method: GET',
    'X-Original-URI: /public',
    'X-Rewrite-URL: /public',
    'Connection: X-Forwarded-Host',
  ],
  { maxLength: 3 },
);

interface GeneratedRequest {
  readonly method: string;
  readonly form: 'origin' | 'absolute';
  readonly lineHost: 'app' | 'www' | 'unknown';
  readonly path: string;
  readonly host: HostKind;
  readonly extra: readonly string[];
}

const requests: fc.Arbitrary<GeneratedRequest> = fc.record({
  method: methods,
  form: fc.constantFrom('origin', 'origin', 'absolute'),
  lineHost: fc.constantFrom('app', 'www', 'unknown'),
  path,
  host: hostKinds,
  extra: extraHeaders,
});

function render(request: GeneratedRequest, port: number): string {
  const lineHost = { app: appHost, www: wwwHost, unknown: 'unknown.test' }[request.lineHost];
  const target =
    request.form === 'absolute'
      ? `http://${lineHost}:${String(port)}${request.path}`
      : request.path;
  const body = ['POST', 'PUT', 'PATCH'].includes(request.method) ? ['Content-Length: 0'] : [];
  const lines = [
    `${request.method} ${target} HTTP/1.1`,
    ...hostHeaders(request.host, port),
    ...request.extra,
    ...body,
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

// ---- the oracle ---------------------------------------------------------------------------

const unreserved = /[A-Za-z0-9\-._~]/;

/**
 * The path an upstream received, in the canonical form policies match on: the query and any
 * fragment cut off, raw bytes >= 0x80 percent-encoded, escapes of unreserved characters decoded
 * (RFC 3986 §2.3) and other escapes upper-cased (§6.2.2.1), repeated slashes merged.
 */
export function canonicalPath(received: string): string {
  const end = received.search(/[?#]/);
  const raw = end === -1 ? received : received.slice(0, end);
  let out = '';
  for (let index = 0; index < raw.length; index++) {
    const char = raw.charAt(index);
    const code = raw.charCodeAt(index);
    if (char === '%' && /^[0-9A-Fa-f]{2}$/.test(raw.slice(index + 1, index + 3))) {
      const decoded = String.fromCharCode(Number.parseInt(raw.slice(index + 1, index + 3), 16));
      out += unreserved.test(decoded)
        ? decoded
        : `%${raw.slice(index + 1, index + 3).toUpperCase()}`;
      index += 2;
    } else if (code >= 0x80) {
      out += `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
    } else {
      out += char;
    }
  }
  return out.replace(/\/{2,}/g, '/');
}

function withoutPort(host: string): string {
  const colon = host.lastIndexOf(':');
  return colon === -1 || host.endsWith(']') ? host : host.slice(0, colon);
}

interface Facts {
  readonly host: string;
  readonly path: string;
  readonly method: string;
}

// ---- the proxies --------------------------------------------------------------------------

interface Proxy {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

let gatehouse: TestGatehouse;
let upstream: EchoUpstream;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gatehouse = await startTestGatehouse({
    policies,
    publicUrl: 'https://auth.app.test',
    // Every allow is a debug line with the facts gatehouse judged.
    logLevel: 'debug',
    trustedProxies: ['127.0.0.1'],
  });
});
afterAll(async () => {
  await gatehouse.close();
  await upstream.close();
});

const proxies: Record<string, () => Promise<Proxy>> = {
  'nginx (ingress-nginx auth-url)': async () => {
    const nginx = await startNginx({
      gatehouseUrl: gatehouse.url(''),
      upstreamUrl: upstream.url,
      signInUrl: 'https://auth.app.test/oauth2/start',
      responseHeaders: identityHeaders,
      extraServerNames: [wwwHost],
    });
    return { name: 'nginx-ingress', ...nginx };
  },
  'nginx (plain auth_request)': async () => {
    const nginx = await startNginx({
      gatehouseUrl: gatehouse.url(''),
      upstreamUrl: upstream.url,
      signInUrl: 'https://auth.app.test/oauth2/start',
      responseHeaders: identityHeaders,
      extraServerNames: [wwwHost],
      style: 'plain',
    });
    return { name: 'nginx-plain', ...nginx };
  },
  'Caddy forward_auth': async () => {
    const caddy = await startCaddy({
      gatehouseUrl: gatehouse.url(''),
      upstreamUrl: upstream.url,
      copyHeaders: identityHeaders,
      extraHosts: [wwwHost],
    });
    return { name: 'caddy', ...caddy };
  },
  'Traefik ForwardAuth': async () => {
    const traefik = await startTraefik({
      gatehouseUrl: gatehouse.url(''),
      upstreamUrl: upstream.url,
      authResponseHeaders: identityHeaders,
      hosts: [appHost, wwwHost],
    });
    return { name: 'traefik', ...traefik };
  },
};

for (const [label, start] of Object.entries(proxies)) {
  describe(`${label}: what gatehouse judges is what the proxy routes`, () => {
    let proxy: Proxy | undefined;
    beforeAll(async () => {
      proxy = await start();
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it(
      `holds for ${String(RUNS)} generated raw requests`,
      async () => {
        if (proxy === undefined) throw new Error(`${label} did not start`);
        const running = proxy;
        let sent = 0;
        let reached = 0;
        await fc.assert(
          fc.asyncProperty(requests, async (request) => {
            const before = upstream.received.length;
            gatehouse.logs.clear();
            const raw = render(request, running.port);
            const exchange = await rawExchange(running.url, { chunks: raw, timeoutMs: 5000 });
            sent++;
            const served = upstream.received.slice(before);
            const allowed = gatehouse.logs.entries().filter((entry) => entry['msg'] === 'allowed');
            const context = `request:\n${raw}\nproxy answered: ${exchange.received.split('\r\n')[0] ?? ''}`;
            expect(served.length, context).toBeLessThanOrEqual(1);
            for (const received of served) {
              reached++;
              expect(
                allowed,
                `${context}\nthe upstream got it, but gatehouse allowed no check`,
              ).toHaveLength(1);
              const judgedEntry = allowed[0] ?? {};
              const judged: Facts = {
                host: withoutPort(String(judgedEntry['host'])),
                path: String(judgedEntry['path']),
                method: String(judgedEntry['method']),
              };
              const routed: Facts = {
                host: String(received.headers[routedServerHeader.toLowerCase()]),
                path: canonicalPath(received.url),
                method: received.method,
              };
              expect(
                judged,
                `${context}\nupstream received ${received.method} ${received.url}`,
              ).toEqual(routed);
            }
          }),
          { numRuns: RUNS, endOnFailure: true },
        );
        // The count, printed so a run shows how much it proved (`make fuzz` records it).
        console.log(
          `[differential] ${running.name}: ${String(sent)} requests, ${String(reached)} reached the upstream, 0 mismatches`,
        );
        // A generator that never got past the proxy would prove nothing.
        expect(reached).toBeGreaterThan(RUNS / 5);
      },
      Math.max(120_000, RUNS * 40),
    );
  });
}

describe('canonicalPath (the oracle)', () => {
  it.each([
    ['/a/b?x=1', '/a/b'],
    ['/%61dmin', '/admin'],
    ['/a%2fb', '/a%2Fb'],
    ['//a///b', '/a/b'],
    ['/caf\u00e9', '/caf%E9'],
    ['/a#b?c', '/a'],
  ])('%s → %s', (received, expected) => {
    expect(canonicalPath(received)).toBe(expected);
  });
});
