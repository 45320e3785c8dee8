/**
 * Several cookie domains (issue #20: `sessions.cookie.domains` with `signInUrls`) through the
 * real sign-in flow against the dev OpenID Provider: one gatehouse serves sign-in on
 * `auth.one.localhost` (its public URL) and `auth.two.localhost`, and a sign-in started on each
 * host ends with a session cookie for that host's domain, which the other domain never
 * receives. The hosts all reach the one test server on 127.0.0.1: the test's fetch sends the
 * `Host` a browser would (RFC 9110 §7.2), as an ingress passes it on.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import type { PolicyResource } from '../../../src/policy/resources.ts';
import { browserlessLogin } from '../../fixtures/oidc/browserless-login.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  check,
  devClient,
  memoryStore,
  providerOptions,
  reserveServer,
  startGatehouse,
  startProvider,
  urlOf,
  type Gatehouse,
} from './harness.ts';

/** `fetch` that reaches every `*.localhost` host on 127.0.0.1, sending its `Host`. */
const loopbackFetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
  const url = new URL(urlOf(input));
  if (!url.hostname.endsWith('.localhost')) return fetch(input, init);
  const headers: Record<string, string> = { host: url.host };
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  return new Promise<Response>((resolve, reject) => {
    const sent = request(
      {
        host: '127.0.0.1',
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: init.method ?? 'GET',
        headers,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(answer.headers)) {
            for (const one of [value ?? []].flat()) responseHeaders.append(name, one);
          }
          resolve(
            new Response(chunks.length === 0 ? null : Buffer.concat(chunks), {
              status: answer.statusCode ?? 500,
              headers: responseHeaders,
            }),
          );
        });
      },
    );
    sent.on('error', reject);
    sent.end(typeof init.body === 'string' ? init.body : undefined);
  });
}) as typeof fetch;

const appsPolicy = {
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'ClusterAccessPolicy',
  metadata: { name: 'apps', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: {
    hosts: ['app.one.localhost', 'app.two.localhost'],
    rules: [
      {
        name: 'app',
        match: [{ path: { type: 'PathPrefix', value: '/' } }],
        roles: ['authenticated'],
      },
    ],
  },
} as unknown as PolicyResource;

describe('sign-in with several cookie domains', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  /** `http://<name>.localhost:<port>`, all on the test server. */
  let at: (name: string) => string;

  beforeAll(async () => {
    const reserved = await reserveServer();
    const port = new URL(reserved.url).port;
    at = (name) => `http://${name}.localhost:${port}`;
    const signInHosts = [at('auth.one'), at('auth.two')];
    // Each sign-in host's callback is registered at the provider (operator-guide.md).
    idp = await startProvider([
      devClient(reserved, {
        redirectUris: signInHosts.map((origin) => `${origin}/oauth2/callback`),
        postLogoutRedirectUris: signInHosts.map((origin) => `${origin}/oauth2/signed-out`),
      }),
    ]);
    gatehouse = await startGatehouse({
      reserved,
      publicUrl: at('auth.one'),
      providers: [providerOptions(idp)],
      store: memoryStore(),
      // Unset: the cookie domains with their subdomains are the allowed destinations.
      allowedRedirectDomains: [],
      cookie: { domains: ['one.localhost', 'two.localhost'], signInUrls: [at('auth.two')] },
      policies: [appsPolicy],
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await idp.close();
  });

  const newJar = () => new CookieJar({ fetch: loopbackFetch });

  /** Starts on `signInHost`, signs in at the provider, follows the callback. */
  async function signInOn(jar: CookieJar, signInHost: string, rd: string, username: string) {
    const start = await jar.fetch(
      `${signInHost}/oauth2/start?${new URLSearchParams({ rd }).toString()}`,
    );
    expect(start.status).toBe(302);
    const authorizationUrl = new URL(start.headers.get('location') ?? '');
    expect(authorizationUrl.searchParams.get('redirect_uri')).toBe(`${signInHost}/oauth2/callback`);
    const callbackUrl = await browserlessLogin({
      authorizationUrl,
      username,
      password: username,
      jar,
      redirectUri: `${signInHost}/oauth2/callback`,
    });
    const callback = await jar.fetch(callbackUrl);
    return { start, callback };
  }

  it.each([
    ['auth.one', 'app.one', 'one.localhost'],
    ['auth.two', 'app.two', 'two.localhost'],
  ])(
    'a sign-in started on %s gets a session cookie for its domain, sent to %s only',
    async (signInName, appName, domain) => {
      const jar = newJar();
      const app = `${at(appName)}/page`;
      const { start, callback } = await signInOn(jar, at(signInName), app, 'bob');

      // The login binding stays host-only on the sign-in host (no Domain).
      const binding = start.headers.getSetCookie();
      expect(binding).toHaveLength(1);
      expect(binding[0]).toMatch(/^_gatehouse_login=[^;]+; Path=\/oauth2; Max-Age=\d+; HttpOnly/);
      expect(binding[0]).not.toMatch(/Domain=/i);

      expect(callback.status).toBe(302);
      expect(callback.headers.get('location')).toBe(app);
      const session = callback.headers.getSetCookie().find((c) => c.startsWith('_gatehouse='));
      expect(session).toContain(`; Domain=${domain};`);

      // The app in that domain lets bob in; the app in the other domain never sees the cookie.
      expect((await check(gatehouse, jar.cookieHeader(app), app)).status).toBe(200);
      const otherApp = `${at(appName === 'app.one' ? 'app.two' : 'app.one')}/page`;
      expect(jar.cookieHeader(otherApp)).toBeUndefined();
      expect((await check(gatehouse, undefined, otherApp)).status).toBe(401);
    },
  );

  it("sends a sign-in for an app under the other domain to that domain's sign-in host, storing nothing", async () => {
    const jar = newJar();
    const rd = `${at('app.two')}/reports?q=1`;
    const start = await jar.fetch(
      `${at('auth.one')}/oauth2/start?${new URLSearchParams({ rd, provider: 'dev' }).toString()}`,
    );
    expect(start.status).toBe(302);
    const moved = new URL(start.headers.get('location') ?? '');
    expect(moved.origin).toBe(at('auth.two'));
    expect(moved.pathname).toBe('/oauth2/start');
    expect(moved.searchParams.get('rd')).toBe(rd);
    expect(moved.searchParams.get('provider')).toBe('dev');
    expect(start.headers.getSetCookie()).toEqual([]);

    // Followed, it signs in there, and the provider's single sign-on makes a second domain
    // a redirect without a password.
    const first = await signInOn(jar, at('auth.two'), rd, 'alice');
    expect(first.callback.headers.get('location')).toBe(rd);
    const appOne = `${at('app.one')}/`;
    const second = await jar.fetch(
      `${at('auth.one')}/oauth2/start?${new URLSearchParams({ rd: appOne }).toString()}`,
    );
    const callbackUrl = await browserlessLogin({
      authorizationUrl: second.headers.get('location') ?? '',
      username: 'nobody',
      password: 'not-asked',
      jar,
      redirectUri: `${at('auth.one')}/oauth2/callback`,
    });
    const callback = await jar.fetch(callbackUrl);
    expect(callback.headers.get('location')).toBe(appOne);
    expect((await check(gatehouse, jar.cookieHeader(appOne), appOne)).status).toBe(200);
    expect((await check(gatehouse, jar.cookieHeader(rd), rd)).status).toBe(200);
  });

  it('refuses sign-in on a host that is not a configured sign-in host with 421, naming the setting', async () => {
    for (const host of [at('app.one'), at('evil'), gatehouse.url]) {
      const response = await newJar().fetch(`${host}/oauth2/start?rd=${at('app.one')}/`);
      expect(response.status, host).toBe(421);
      expect(response.headers.getSetCookie()).toEqual([]);
      const page = await response.text();
      expect(page).toContain('sessions.cookie.signInUrls');
      expect(page).toContain('auth.one.localhost, auth.two.localhost');
    }
  });

  it('does not complete on one sign-in host a sign-in started on the other (the binding is host-only)', async () => {
    const jar = newJar();
    const start = await jar.fetch(
      `${at('auth.one')}/oauth2/start?${new URLSearchParams({ rd: `${at('app.one')}/` }).toString()}`,
    );
    const callbackUrl = await browserlessLogin({
      authorizationUrl: start.headers.get('location') ?? '',
      username: 'bob',
      password: 'bob',
      jar,
      redirectUri: `${at('auth.one')}/oauth2/callback`,
    });
    // The same answer delivered to the other host: its state is found, the binding is not there.
    const elsewhere = await jar.fetch(
      `${at('auth.two')}/oauth2/callback${new URL(callbackUrl).search}`,
    );
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers.getSetCookie()).toEqual([]);
  });

  it("signs out of one domain only, clearing that domain's cookie", async () => {
    const jar = newJar();
    const appOne = `${at('app.one')}/`;
    const appTwo = `${at('app.two')}/`;
    await signInOn(jar, at('auth.one'), appOne, 'bob');
    // Single sign-on at the provider: the second domain's sign-in asks nothing.
    const start = await jar.fetch(
      `${at('auth.two')}/oauth2/start?${new URLSearchParams({ rd: appTwo }).toString()}`,
    );
    const callbackUrl = await browserlessLogin({
      authorizationUrl: start.headers.get('location') ?? '',
      username: 'nobody',
      password: 'not-asked',
      jar,
      redirectUri: `${at('auth.two')}/oauth2/callback`,
    });
    await jar.fetch(callbackUrl);

    const form = await (await jar.fetch(`${at('auth.two')}/oauth2/sign_out`)).text();
    const csrf = /name="csrf" value="([^"]*)"/.exec(form)?.[1] ?? '';
    const signedOut = await jar.fetch(`${at('auth.two')}/oauth2/sign_out`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: at('auth.two'),
      },
      body: new URLSearchParams({ csrf, rd: appTwo }).toString(),
    });
    expect(signedOut.status).toBe(302);
    expect(signedOut.headers.getSetCookie()[0]).toMatch(
      /^_gatehouse=; Path=\/; Domain=two\.localhost; Max-Age=0;/,
    );
    expect(jar.cookieHeader(appTwo)).toBeUndefined();
    expect((await check(gatehouse, jar.cookieHeader(appOne), appOne)).status).toBe(200);
  });
});
