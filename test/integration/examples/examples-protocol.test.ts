/**
 * Each proxy example asks gatehouse the way its proxy will: the check request is built from the
 * example's own values (endpoint path, query, the headers the proxy is told to set) the way that
 * proxy builds it (docs/proxy-protocols.md), and sent to a real gatehouse. A public path must be
 * allowed and a protected one must lead to sign-in, so a wrong endpoint, a missing `?host=$host`
 * or `X-Original-Method`, or a forward-auth address elsewhere fails here (gatehouse answers 400).
 * The identity headers each proxy copies to the app must be the whole default profile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInProfiles } from '../../../src/identity/header-profiles.ts';
import { send } from '../../fixtures/gatehouse/http-client.ts';
import type { RawResponse } from '../../fixtures/gatehouse/http-client.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { exampleObject } from './examples.ts';
import type { ManifestObject } from './examples.ts';

const appHost = 'app.example.com';
const publicUrl = 'https://auth.example.com';
const profileHeaders = Object.keys(builtInProfiles['x-auth-request'].headers);

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

let gatehouse: TestGatehouse;
beforeAll(async () => {
  gatehouse = await startTestGatehouse({
    policies: policy,
    publicUrl,
    // The forward-auth proxy (Traefik) is this test, on loopback.
    trustedProxies: ['127.0.0.1/32', '::1/128'],
  });
});
afterAll(async () => {
  await gatehouse.close();
});

/** What a browser asks for; `path` is the request target it sends to the proxy. */
interface ClientRequest {
  readonly method: 'GET';
  readonly path: string;
}

const publicAsset: ClientRequest = { method: 'GET', path: '/static/app.css' };
const protectedPage: ClientRequest = { method: 'GET', path: '/orders?page=2' };

/** nginx variables for one request to https://app.example.com (the client sends `Host: app.example.com`). */
function nginxVariables(request: ClientRequest): Record<string, string> {
  return {
    host: appHost,
    http_host: appHost,
    scheme: 'https',
    request_uri: request.path,
    request_method: request.method,
    remote_addr: '203.0.113.7',
  };
}

/** Expands `$name` the way nginx does in a directive value (longest variable name wins). */
function expandNginx(value: string, variables: Record<string, string>): string {
  return value.replace(/\$([a-z_]+)/g, (whole, name: string) => {
    const known = variables[name];
    if (known === undefined)
      throw new Error(`the example uses an nginx variable this test does not know: ${whole}`);
    return known;
  });
}

/** `proxy_set_header Name value;` lines of an nginx snippet, expanded. */
function proxySetHeaders(snippet: string, variables: Record<string, string>): [string, string][] {
  return [...snippet.matchAll(/^\s*proxy_set_header\s+(\S+)\s+(\S+);/gm)]
    .filter(([, name]) => name !== 'Content-Length')
    .map(([, name, value]) => [name!, expandNginx(value!.replace(/^"|"$/g, ''), variables)]);
}

/**
 * The headers an nginx snippet copies from the auth answer onto the proxied request: pairs of
 * `auth_request_set $v $upstream_http_<header>;` and `proxy_set_header <Header> $v;` where both
 * name the same header (nginx spells response header variables lower-case, `-` as `_`).
 */
function copiedIdentityHeaders(snippet: string): string[] {
  const answerHeaderOf = new Map<string, string>();
  for (const [, variable, header] of snippet.matchAll(
    /auth_request_set\s+\$(\S+)\s+\$upstream_http_(\S+);/g,
  )) {
    answerHeaderOf.set(variable!, header!);
  }
  const copied: string[] = [];
  for (const [, name, variable] of snippet.matchAll(/proxy_set_header\s+(\S+)\s+\$(\S+);/g)) {
    if (answerHeaderOf.get(variable!) === name!.toLowerCase().replaceAll('-', '_'))
      copied.push(name!);
  }
  return copied;
}

/** Sends an nginx auth subrequest: always GET, no body, the client's headers plus the ones set. */
function nginxCheck(target: string, headers: [string, string][]): Promise<RawResponse> {
  return send(gatehouse.url(''), { path: target, headers: [['Host', appHost], ...headers] });
}

/** The path and query of a URL such as `http://gatehouse.gatehouse.svc.cluster.local:8080/authz/nginx?host=$host`, expanded. */
function targetOf(url: string, variables: Record<string, string>): string {
  const parsed = new URL(expandNginx(url, variables));
  return `${parsed.pathname}${parsed.search}`;
}

const browser: [string, string][] = [['Accept', 'text/html']];

describe('ingress-nginx (examples/ingress-nginx)', () => {
  const ingress = exampleObject('examples/ingress-nginx', 'Ingress', 'app') as ManifestObject & {
    metadata: { annotations: Record<string, string> };
  };
  const annotations = ingress.metadata.annotations;
  /** ingress-nginx's auth location: X-Original-URL, X-Original-Method (proxy-protocols.md §1.2). */
  const check = (
    request: ClientRequest,
    authUrl = annotations['nginx.ingress.kubernetes.io/auth-url']!,
  ) => {
    const variables = nginxVariables(request);
    return nginxCheck(targetOf(authUrl, variables), [
      ['X-Original-URL', `https://${appHost}${request.path}`],
      ['X-Original-Method', request.method],
    ]);
  };

  it('allows a public path and answers 401 with the sign-in URL for a protected one', async () => {
    expect((await check(publicAsset)).status).toBe(200);
    const denied = await check(protectedPage);
    expect(denied.status).toBe(401);
    expect(denied.headers.location).toMatch(/^https:\/\/auth\.example\.com\/oauth2\/start\?rd=/);
    expect(annotations['nginx.ingress.kubernetes.io/auth-signin']).toBe(
      `${publicUrl}/oauth2/start`,
    );
  });

  it('is refused without ?host=$host, so the check above proves the query is there', async () => {
    const withoutHost = annotations['nginx.ingress.kubernetes.io/auth-url']!.replace(
      '?host=$host',
      '',
    );
    expect((await check(publicAsset, withoutHost)).status).toBe(400);
  });

  it('copies every identity header of the default profile', () => {
    expect(annotations['nginx.ingress.kubernetes.io/auth-response-headers']!.split(',')).toEqual(
      profileHeaders,
    );
  });
});

describe('NGINX Gateway Fabric (examples/nginx-gateway-fabric)', () => {
  const filter = exampleObject('examples/nginx-gateway-fabric', 'SnippetsFilter');
  const snippets = new Map(
    (filter.spec as { snippets: { context: string; value: string }[] }).snippets.map((snippet) => [
      snippet.context,
      snippet.value,
    ]),
  );
  const server = snippets.get('http.server') ?? '';
  const location = snippets.get('http.server.location') ?? '';

  const check = (request: ClientRequest) => {
    const variables = nginxVariables(request);
    const proxyPass = /proxy_pass\s+(\S+);/.exec(server)?.[1] ?? '';
    return nginxCheck(targetOf(proxyPass, variables), proxySetHeaders(server, variables));
  };

  it('wires the upstream, the internal location and auth_request together', () => {
    const upstream = /upstream\s+(\S+)\s*\{/.exec(snippets.get('http') ?? '')?.[1];
    expect(upstream).toBeDefined();
    expect(server).toContain(`proxy_pass http://${upstream!}/`);
    const internal = /location\s*=\s*(\S+)\s*\{/.exec(server)?.[1];
    expect(location).toContain(`auth_request ${internal!};`);
    // The route uses this filter.
    const route = exampleObject('examples/nginx-gateway-fabric', 'HTTPRoute', 'app');
    expect(JSON.stringify(route.spec)).toContain(
      JSON.stringify({
        group: 'gateway.nginx.org',
        kind: 'SnippetsFilter',
        name: filter.metadata.name,
      }),
    );
  });

  it('allows a public path and answers 401 with the sign-in URL for a protected one', async () => {
    expect((await check(publicAsset)).status).toBe(200);
    const denied = await check(protectedPage);
    expect(denied.status).toBe(401);
    expect(denied.headers.location).toMatch(/^https:\/\/auth\.example\.com\/oauth2\/start\?rd=/);
    expect(location).toMatch(
      /auth_request_set \$(\S+) \$upstream_http_location;\s+error_page 401 =302 \$\1;/,
    );
  });

  it('copies every identity header of the default profile', () => {
    expect(copiedIdentityHeaders(location)).toEqual(profileHeaders);
  });
});

describe('F5 NGINX Ingress Controller (examples/f5-nginx-ingress)', () => {
  const policy = (
    exampleObject('examples/f5-nginx-ingress', 'Policy').spec as {
      externalAuth: { authURI: string; authSnippets: string };
    }
  ).externalAuth;
  const virtualServer = exampleObject('examples/f5-nginx-ingress', 'VirtualServer', 'app').spec as {
    routes: { policies: { name: string }[]; 'location-snippets': string }[];
  };

  /** The controller's auth location: `Host: $host`, the client's headers, then authSnippets. */
  const check = (request: ClientRequest) => {
    const variables = nginxVariables(request);
    return nginxCheck(
      expandNginx(policy.authURI, variables),
      proxySetHeaders(policy.authSnippets, variables),
    );
  };

  it('allows a public path and answers 401 with the sign-in URL for a protected one', async () => {
    expect((await check(publicAsset)).status).toBe(200);
    const denied = await check(protectedPage);
    expect(denied.status).toBe(401);
    expect(denied.headers.location).toMatch(/^https:\/\/auth\.example\.com\/oauth2\/start\?rd=/);
    const route = virtualServer.routes[0]!;
    expect(route.policies).toEqual([{ name: 'gatehouse' }]);
    expect(route['location-snippets']).toMatch(
      /auth_request_set \$(\S+) \$upstream_http_location;\s+error_page 401 =302 \$\1;/,
    );
  });

  it('copies every identity header of the default profile', () => {
    expect(copiedIdentityHeaders(virtualServer.routes[0]!['location-snippets'])).toEqual(
      profileHeaders,
    );
  });
});

describe('Envoy Gateway (examples/gateway-api/envoy-gateway)', () => {
  const extAuth = (
    exampleObject('examples/gateway-api/envoy-gateway', 'SecurityPolicy').spec as {
      extAuth: {
        failOpen: boolean;
        headersToExtAuth: string[];
        http: { path: string; headersToBackend: string[] };
      };
    }
  ).extAuth;

  /** Envoy's HTTP ext_authz check: the original method, `path` + the original path, the original Host. */
  const check = (request: ClientRequest) =>
    send(gatehouse.url(''), {
      method: request.method,
      path: `${extAuth.http.path}${request.path}`,
      headers: [
        ['Host', appHost],
        // Only the listed client headers reach gatehouse.
        ...browser.filter(([name]) => extAuth.headersToExtAuth.includes(name.toLowerCase())),
      ],
    });

  it('allows a public path and redirects a browser to sign in for a protected one', async () => {
    expect((await check(publicAsset)).status).toBe(200);
    const denied = await check(protectedPage);
    expect(denied.status).toBe(302);
    expect(denied.headers.location).toMatch(/^https:\/\/auth\.example\.com\/oauth2\/start\?rd=/);
    expect(extAuth.failOpen).toBe(false);
    expect(extAuth.headersToExtAuth).toContain('cookie');
  });

  it('copies every identity header of the default profile', () => {
    expect(extAuth.http.headersToBackend).toEqual(profileHeaders);
  });
});

describe('Traefik on the Gateway API (examples/gateway-api/traefik)', () => {
  const middleware = exampleObject('examples/gateway-api/traefik', 'Middleware');
  const forwardAuth = (
    middleware.spec as {
      forwardAuth: { address: string; trustForwardHeader: boolean; authResponseHeaders: string[] };
    }
  ).forwardAuth;

  /** Traefik's ForwardAuth: a GET to `address`, X-Forwarded-* describing the routed request. */
  const check = (request: ClientRequest) =>
    send(gatehouse.url(''), {
      path: new URL(forwardAuth.address).pathname,
      headers: [
        ['Host', new URL(forwardAuth.address).host],
        ...browser,
        ['X-Forwarded-Method', request.method],
        ['X-Forwarded-Proto', 'https'],
        ['X-Forwarded-Host', appHost],
        ['X-Forwarded-Uri', request.path],
      ],
    });

  it('allows a public path and redirects a browser to sign in for a protected one', async () => {
    expect((await check(publicAsset)).status).toBe(200);
    const denied = await check(protectedPage);
    expect(denied.status).toBe(302);
    expect(denied.headers.location).toMatch(/^https:\/\/auth\.example\.com\/oauth2\/start\?rd=/);
    expect(forwardAuth.trustForwardHeader).toBe(false);
  });

  it('is the Middleware the HTTPRoute names, in its namespace', () => {
    const route = exampleObject('examples/gateway-api/traefik', 'HTTPRoute', 'app');
    expect(route.metadata.namespace).toBe(middleware.metadata.namespace);
    expect(JSON.stringify(route.spec)).toContain(
      JSON.stringify({ group: 'traefik.io', kind: 'Middleware', name: middleware.metadata.name }),
    );
  });

  it('copies every identity header of the default profile', () => {
    expect(forwardAuth.authResponseHeaders).toEqual(profileHeaders);
  });
});
