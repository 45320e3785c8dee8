/**
 * What a person sees of gatehouse: the portal at `/oauth2/` (who am I, until when, sign out), the
 * 403 page (reason, address, request id, whom to ask, and nothing of the policy), and the Grafana
 * dashboard the chart ships (it must only chart metrics gatehouse exports).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../dev/identity-provider.ts';
import type { PolicyResource } from '../../src/policy/resources.ts';
import { pageContentSecurityPolicy } from '../../src/http/pages.ts';
import { humanDuration } from '../../src/http/sign-in/pages.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { browserAccept, forwardAuthCheck, nginxCheck } from '../fixtures/gatehouse/checks.ts';
import { shopHost } from '../fixtures/gatehouse/policies.ts';
import { startTestGatehouse, type TestGatehouse } from '../fixtures/gatehouse/start.ts';
import { startTokenIssuer, type TokenIssuer } from '../fixtures/gatehouse/token-issuer.ts';
import { send } from '../fixtures/gatehouse/http-client.ts';
import { CookieJar } from '../fixtures/oidc/cookie-jar.ts';
import { chartDir, render } from './chart/helm.ts';
import {
  ABSOLUTE_MS,
  APP_URL,
  check,
  devClient,
  flushPrefix,
  memoryStore,
  providerOptions,
  redisStore,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  testClock,
  testPolicy,
  type Clock,
  type Gatehouse,
} from './sign-in/harness.ts';

const prefix = `gatehouse-test:portal:${randomUUID()}:`;

/** A user whose every field would run script if the page did not escape it. */
const mallory = {
  username: 'mallory',
  password: 'mallory',
  subject: 'mallory-0666',
  email: 'mallory+<img src=x onerror=alert(1)>@example.com',
  emailVerified: true,
  name: '<script>alert("name")</script> Mallory',
  givenName: 'Mallory',
  familyName: 'Script',
  groups: ['<b>ops</b>', 'sales,emea'],
};

function expectPageHeaders(response: Response): void {
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  expect(response.headers.get('content-security-policy')).toBe(pageContentSecurityPolicy);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('x-frame-options')).toBe('DENY');
}

/** The page's inline stylesheet is allowed by a hash in its CSP (no 'unsafe-inline'), and is its only one. */
function expectInlineStyleAllowed(html: string, csp: string): void {
  const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1];
  expect(style).toBeDefined();
  const hash = createHash('sha256')
    .update(style ?? '', 'utf8')
    .digest('base64');
  expect(csp).toContain(`style-src 'self' 'sha256-${hash}'`);
  expect(csp).not.toContain('unsafe-inline');
  expect(html).not.toContain('<link rel="stylesheet"');
}

describe('portal at /oauth2/ (Redis sessions, dev OpenID Provider)', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  let clock: Clock;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)], { extraUsers: [mallory] });
    clock = testClock();
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 3000, clock),
      clock,
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
    await flushPrefix(prefix);
  });

  it('sends an anonymous visitor to sign in and back to the portal', async () => {
    const portal = await fetch(`${gatehouse.url}/oauth2/`, { redirect: 'manual' });
    expect(portal.status).toBe(302);
    expect(portal.headers.get('location')).toBe(
      `/oauth2/start?rd=${encodeURIComponent(`${gatehouse.url}/oauth2/`)}`,
    );
    const bare = await fetch(`${gatehouse.url}/oauth2`, { redirect: 'manual' });
    expect(bare.status).toBe(302);
    expect(bare.headers.get('location')).toBe('/oauth2/');
  });

  it('comes back to the portal after signing in from it', async () => {
    const jar = new CookieJar();
    const portal = await jar.fetch(`${gatehouse.url}/oauth2/`);
    const rd = new URL(portal.headers.get('location')!, gatehouse.url).searchParams.get('rd')!;
    const { location } = await signIn(gatehouse, jar, 'bob', { rd });
    expect(location).toBe(`${gatehouse.url}/oauth2/`);
    expect((await jar.fetch(location)).status).toBe(200);
  });

  it('shows who is signed in, since when and until when', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'alice');
    const userinfo = (await (await jar.fetch(`${gatehouse.url}/oauth2/userinfo`)).json()) as {
      sessionExpiresAt: string;
    };
    const justSignedIn = await jar.fetch(`${gatehouse.url}/oauth2/`);
    expect(justSignedIn.status).toBe(200);
    expect(await justSignedIn.text()).toMatch(/id="signed-in">just now/);

    clock.advance(5 * 60_000);
    const response = await jar.fetch(`${gatehouse.url}/oauth2/`);
    expect(response.status).toBe(200);
    expectPageHeaders(response);
    const html = await response.text();
    expect(html).toContain('<h1>Signed in as Alice Admin</h1>');
    expect(html).toContain('<dd id="user">alice</dd>');
    expect(html).toContain('<dd id="email">alice@example.com</dd>');
    expect(html).toContain('<code>admins</code>');
    expect(html).toContain('<code>staff</code>');
    for (const role of ['authenticated', 'guest']) expect(html).toContain(`<code>${role}</code>`);
    // The provider as people know it, and no resource kind a person has never heard of.
    expect(html).toContain('<dd id="provider">Dev provider</dd>');
    expect(html).not.toMatch(/RoleMapping|namespace/i);
    expect(html).toMatch(/id="signed-in">5 minutes ago/);
    // The absolute end: 8 hours after sign-in, 5 minutes of which have passed.
    expect(html).toMatch(/id="absolute-expiry">in 7 hours 55 minutes/);
    // Once exactly, to the minute in UTC; the ISO 8601 value only in the attribute.
    const end = userinfo.sessionExpiresAt;
    expect(html).toContain(
      `<time datetime="${end}">${end.slice(0, 10)} ${end.slice(11, 16)} UTC</time>`,
    );
    expect(html.split(end).length - 1).toBe(1);
    expect(html).toMatch(/id="idle-expiry">in (59 minutes|1 hour)/);
    expect(html).not.toMatch(/<script/i);
  });

  it('escapes every value the identity provider supplies', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'mallory');
    const response = await jar.fetch(`${gatehouse.url}/oauth2/`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; Mallory');
    expect(html).toContain('mallory+&lt;img src=x onerror=alert(1)&gt;@example.com');
    expect(html).toContain('<code>&lt;b&gt;ops&lt;/b&gt;</code>');
    expect(html).toContain('<code>sales,emea</code>');
  });

  it('signs out with its button, and a forged form does not', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob');
    const html = await (await jar.fetch(`${gatehouse.url}/oauth2/`)).text();
    expect(html).toMatch(/<form method="post" action="\/oauth2\/sign_out">/);
    // The sign-out form's own token (the session list's forms carry another).
    const csrf =
      /action="\/oauth2\/sign_out">\s*<input type="hidden" name="csrf" value="([^"]*)"/.exec(
        html,
      )?.[1] ?? '';
    expect(csrf).toMatch(/^[\w-]{43}$/);
    const post = (body: string, origin = gatehouse.url) =>
      jar.fetch(`${gatehouse.url}/oauth2/sign_out`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body,
      });

    // Another site's form, and one without the token, are refused; the session survives.
    expect((await post(`csrf=${csrf}`, 'https://evil.test')).status).toBe(403);
    expect((await post('csrf=forged')).status).toBe(403);
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(200);

    const signedOut = await post(new URLSearchParams({ csrf }).toString());
    expect(signedOut.status).toBe(302);
    const landing = signedOut.headers.get('location') ?? '';
    expect(landing).toMatch(/^\/oauth2\/signed-out\?rd=[^&]+&provider=dev$/);
    expect((await check(gatehouse, jar.cookieHeader(gatehouse.url))).status).toBe(401);
    const portal = await jar.fetch(`${gatehouse.url}/oauth2/`);
    expect(portal.status).toBe(302);
    expect(portal.headers.get('location')).toMatch(/^\/oauth2\/start\?rd=/);

    // The provider (endSession off) still has its session: the landing page says so, and links
    // the provider's own sign-out, which comes back to this page.
    const page = await jar.fetch(`${gatehouse.url}${landing}`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('You may still be signed in at <strong>Dev provider</strong>');
    const href = /id="provider-sign-out" href="([^"]+)"/.exec(text)?.[1]?.replaceAll('&amp;', '&');
    const endSession = new URL(href ?? 'missing:');
    const discovered = gatehouse.registry.get('dev')?.config.serverMetadata();
    expect(`${endSession.origin}${endSession.pathname}`).toBe(discovered?.end_session_endpoint);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(
      `${gatehouse.url}/oauth2/signed-out`,
    );
    expect(endSession.searchParams.get('client_id')).toBe(
      gatehouse.registry.get('dev')?.options.clientId,
    );
    // Back from the provider's sign-out (the destination returns as `state`), no warning.
    const back = await (
      await jar.fetch(
        `${gatehouse.url}/oauth2/signed-out?${new URLSearchParams({ state: endSession.searchParams.get('state') ?? '' }).toString()}`,
      )
    ).text();
    expect(back).toContain('You are signed out at the sign-in provider too.');
    expect(back).not.toContain('may still be signed in');
  });

  it('ignores a provider name that is not configured on the signed-out page', async () => {
    const text = await (
      await fetch(
        `${gatehouse.url}/oauth2/signed-out?rd=${encodeURIComponent(APP_URL)}&provider=%3Cb%3Eevil`,
      )
    ).text();
    expect(text).toContain('You may still be signed in at the sign-in provider');
    expect(text).not.toContain('evil');
    expect(text).not.toContain('provider-sign-out');
  });
});

describe('the 403 page through /authz/forward-auth', () => {
  const contact = 'Ask #platform-help on chat, or <b>ops</b>@example.com.';
  /** Names that must never reach a denied person: they describe the policy. */
  const internals = [
    'vault-policy-7f3a',
    'team-x9',
    'sealed-rule-q4',
    'keeper-rule-k2',
    'vault-keeper-role',
  ];
  let issuer: TokenIssuer;
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    issuer = await startTokenIssuer({ audience: 'vault' });
    gatehouse = await startTestGatehouse({
      trustedProxies: ['127.0.0.1/32'],
      policies: `
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: vault-policy-7f3a, namespace: team-x9 }
spec:
  hosts: [vault.test]
  rules:
    - name: sealed-rule-q4
      match: [{ path: { type: PathPrefix, value: /sealed } }]
      action: Deny
    - name: keeper-rule-k2
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [vault-keeper-role]
`,
      configYaml: `
pages:
  forbiddenContact: ${JSON.stringify(contact)}
bearer:
  issuers:
    - name: test-idp
      issuer: ${issuer.issuer}
      audiences: [vault]
      algorithms: [RS256]
`,
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await issuer.close();
  });

  it('names the reason, the address, the request id and whom to ask (deny rule)', async () => {
    const response = await forwardAuthCheck(
      gatehouse,
      { host: 'vault.test', uri: '/sealed/box?x=1' },
      [['Accept', browserAccept]],
    );
    expect(response.status).toBe(403);
    expect(response.headers['content-security-policy']).toBe(pageContentSecurityPolicy);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toContain('<code>vault.test/sealed/box</code>');
    expectInlineStyleAllowed(response.body, String(response.headers['content-security-policy']));
    expect(response.body).toContain('<code id="reason">deny-rule</code>');
    expect(response.body).toContain('This address is closed to everyone.');
    // gatehouse's own id, the one it answered with and logged the denial under.
    expect(response.body).toContain(
      `<code id="request-id">${String(response.headers['x-request-id'])}</code>`,
    );
    expect(response.body).toContain(
      'Ask #platform-help on chat, or &lt;b&gt;ops&lt;/b&gt;@example.com.',
    );
    for (const name of internals) expect(response.body).not.toContain(name);
    expect(response.body).not.toMatch(/<script/i);
  });

  it('tells a signed-in user without the role so, without naming the role (missing role)', async () => {
    const token = await issuer.sign({ sub: 'u-1', groups: ['visitors'] });
    const response = await forwardAuthCheck(gatehouse, { host: 'vault.test', uri: '/gold' }, [
      ['Accept', browserAccept],
      ['Authorization', `Bearer ${token}`],
    ]);
    expect(response.status).toBe(403);
    expect(response.body).toContain('<code id="reason">missing-role</code>');
    expect(response.body).toContain('does not hold a role that this page requires');
    expect(response.body).toContain(
      `<code id="request-id">${String(response.headers['x-request-id'])}</code>`,
    );
    for (const name of internals) expect(response.body).not.toContain(name);
  });
});

describe('the 403 page for nginx error_page (/oauth2/forbidden)', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)]);
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: memoryStore(),
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
  });

  const forbidden = (query: Record<string, string>, requestId = 'req-nginx-403') =>
    fetch(`${gatehouse.url}/oauth2/forbidden?${new URLSearchParams(query).toString()}`, {
      headers: { 'x-request-id': requestId },
    });

  it('shows the denied address, the reason and the request id nginx sent', async () => {
    const response = await forbidden({
      rd: 'https://app.test/reports/q3?download=1',
      reason: 'missing-role',
    });
    expect(response.status).toBe(403);
    expectPageHeaders(response);
    const html = await response.text();
    expect(html).toContain('<code>app.test/reports/q3</code>');
    expect(html).toContain('<code id="reason">missing-role</code>');
    // The harness trusts 127.0.0.1: the id is the proxy's, not the page request's own.
    expect(html).toContain('<code id="request-id">req-nginx-403</code>');
    expect(response.headers.get('x-request-id')).not.toBe('req-nginx-403');
    // The configuration schema's default contact text, and a way out for the wrong account.
    expect(html).toContain('ask the owner of this application or your platform team');
    // nginx shows the page on the application's host: links are absolute, the style is inline.
    expect(html).toContain(
      `href="${gatehouse.url}/oauth2/sign_out?${new URLSearchParams({ rd: 'https://app.test/reports/q3?download=1' }).toString()}"`,
    );
    expect(html).toContain(`href="${gatehouse.url}/oauth2/"`);
    expectInlineStyleAllowed(html, response.headers.get('content-security-policy') ?? '');
    // Without a session cookie it claims nobody.
    expect(html).not.toContain('id="signed-in-as"');
  });

  it('says whose account was refused, and offers to switch account', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'alice');
    const rd = 'https://app.test/reports/q3';
    const html = await (
      await jar.fetch(
        `${gatehouse.url}/oauth2/forbidden?${new URLSearchParams({ rd, reason: 'missing-role' }).toString()}`,
      )
    ).text();
    expect(html).toContain(
      '<p id="signed-in-as">Signed in as <strong>alice@example.com</strong> via Dev provider.</p>',
    );
    expect(html).toContain(
      `<a class="button" id="switch-account" href="${gatehouse.url}/oauth2/sign_out?${new URLSearchParams({ rd }).toString()}">Switch account</a>`,
    );
  });

  it('cannot be made to say what an attacker wants', async () => {
    const html = await (
      await forbidden({ rd: 'https://evil.test/<script>', reason: '<script>alert(1)</script>' })
    ).text();
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('evil.test');
    expect(html).toContain('<code id="reason">unknown</code>');
    expect(html).toContain('You are not allowed to open this address.');
    const spoofed = await (
      await forbidden({ rd: 'https://app.test/', reason: 'Call 555-0100' })
    ).text();
    expect(spoofed).not.toContain('555-0100');
  });

  it.each([
    ['spaces', 'id with spaces'],
    ['300 characters', 'a'.repeat(300)],
    ['markup', '"><b>req</b>'],
  ])(
    'shows its own request id, not an X-Request-ID with %s from the proxy',
    async (_what, unsafe) => {
      const response = await forbidden({ rd: 'https://app.test/', reason: 'deny-rule' }, unsafe);
      const html = await response.text();
      const own = response.headers.get('x-request-id') ?? '';
      expect(own).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(html).toContain(`<code id="request-id">${own}</code>`);
      expect(html).not.toContain(unsafe);
    },
  );
});

describe('branded pages (pages.title, colour, footer, logoFile)', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  let folder: string;
  // The smallest valid PNG header is enough: the browser test shows a real logo.
  const logo = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'gatehouse-branding-'));
    await writeFile(join(folder, 'logo.png'), logo);
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)]);
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: memoryStore(),
      policies: [
        ...testPolicy(),
        {
          apiVersion: 'gatehouse.dev/v1alpha1',
          kind: 'ClusterAccessPolicy',
          metadata: { name: 'vault', creationTimestamp: '2025-01-01T00:00:00Z' },
          spec: {
            hosts: ['vault.test'],
            rules: [
              {
                name: 'keepers',
                match: [{ path: { type: 'PathPrefix', value: '/' } }],
                roles: ['vault-keeper'],
              },
            ],
          },
        } as unknown as PolicyResource,
      ],
      pages: {
        title: 'Acme <Corp>',
        colour: '#ffcc00',
        footer: 'Help: IT desk, 555-0100 <script>',
        logoFile: join(folder, 'logo.png'),
      },
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
    await rm(folder, { recursive: true, force: true });
  });

  function expectBranded(html: string, csp: string): void {
    expect(html).toContain('<span id="brand-title">Acme &lt;Corp&gt;</span>');
    expect(html).toContain(`<img id="logo" src="data:image/png;base64,${logo.toString('base64')}"`);
    expect(html).toContain(
      '<footer class="muted" id="footer">Help: IT desk, 555-0100 &lt;script&gt;</footer>',
    );
    expect(html).toMatch(/<style>:root \{ --accent: #ffcc00; --on-accent: #111; \}/);
    expectInlineStyleAllowed(html, csp);
    expect(csp).toContain("img-src 'self' data:;");
  }

  it('brands the portal, the 403 page, the signed-out page and a sign-in error', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob');
    for (const url of [
      `${gatehouse.url}/oauth2/`,
      `${gatehouse.url}/oauth2/forbidden?reason=missing-role`,
      `${gatehouse.url}/oauth2/signed-out?rd=${encodeURIComponent(APP_URL)}`,
      `${gatehouse.url}/oauth2/callback?state=nope`,
    ]) {
      const response = await jar.fetch(url);
      expect(response.headers.get('content-type'), url).toMatch(/^text\/html/);
      expectBranded(await response.text(), response.headers.get('content-security-policy') ?? '');
    }
  });

  // Traefik, Caddy and Envoy show the check's own 403 body to the browser (issue #18 part 7):
  // branded like the other pages, naming the refused account, offering to switch it.
  it('brands the 403 page a check answers itself, and names the account it refused', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob');
    const response = await send(gatehouse.url, {
      path: '/authz/ext-authz/deposits?box=7',
      headers: {
        host: 'vault.test',
        accept: browserAccept,
        cookie: jar.cookieHeader(gatehouse.url) ?? '',
      },
    });
    expect(response.status).toBe(403);
    const html = response.body;
    expectBranded(html, String(response.headers['content-security-policy']));
    expect(html).toContain('<code id="reason">missing-role</code>');
    expect(html).toMatch(
      /<p id="signed-in-as">Signed in as <strong>bob@example\.com<\/strong> via Dev provider\.<\/p>/,
    );
    // Switch account: sign out, then back to the refused address.
    const switchHref = /id="switch-account" href="([^"]*)"/
      .exec(html)?.[1]
      ?.replaceAll('&amp;', '&');
    expect(switchHref).toBeDefined();
    const signOut = new URL(switchHref ?? '');
    expect(`${signOut.origin}${signOut.pathname}`).toBe(`${gatehouse.url}/oauth2/sign_out`);
    expect(signOut.searchParams.get('rd')).toMatch(/^https?:\/\/vault\.test\/deposits\?box=7$/);
  });
});

describe('the request id on the nginx 403 page and on the audit trail', () => {
  let trusted: TestGatehouse;
  let untrusted: TestGatehouse;

  beforeAll(async () => {
    [trusted, untrusted] = await Promise.all([
      startTestGatehouse({ trustedProxies: ['127.0.0.1/32'], logLevel: 'info' }),
      startTestGatehouse({ logLevel: 'info' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([trusted.close(), untrusted.close()]);
  });

  const forbiddenPage = (gatehouse: TestGatehouse, requestId: string) =>
    fetch(gatehouse.url(`/oauth2/forbidden?reason=deny-rule`), {
      headers: { 'x-request-id': requestId },
    });

  it("shows nginx's $req_id, the proxyRequestId of the denial on the audit trail", async () => {
    // nginx sends the same $req_id with the auth subrequest and with the error_page request.
    const reqId = '5f0c2a9e7b1d4c3e8a6f9b2d1c0e7a4f';
    const check = await nginxCheck(trusted, `https://${shopHost}/metrics`, [
      ['X-Request-ID', reqId],
    ]);
    expect(check.status).toBe(403);
    const denials = trusted.logs.matching({
      logger: 'gatehouse.audit',
      event: 'deny',
      proxyRequestId: reqId,
    });
    expect(denials).toHaveLength(1);
    expect(denials[0]?.['requestId']).toBe(String(check.headers['x-request-id']));

    const page = await forbiddenPage(trusted, reqId);
    expect(page.status).toBe(403);
    expect(await page.text()).toContain(`<code id="request-id">${reqId}</code>`);
    expect(page.headers.get('x-request-id')).not.toBe(reqId);
  });

  it('shows its own request id when the X-Request-ID does not come from a trusted proxy', async () => {
    const sentId = 'req-from-a-client';
    const page = await forbiddenPage(untrusted, sentId);
    expect(page.status).toBe(403);
    const html = await page.text();
    const own = page.headers.get('x-request-id') ?? '';
    expect(own).not.toBe(sentId);
    expect(html).toContain(`<code id="request-id">${own}</code>`);
    expect(html).not.toContain(sentId);
  });
});

describe('durations in words', () => {
  it.each([
    [0, 'less than a minute'],
    [29_000, 'less than a minute'],
    [59_000, '1 minute'],
    [60_000, '1 minute'],
    [5 * 60_000, '5 minutes'],
    [ABSOLUTE_MS - 5 * 60_000, '7 hours 55 minutes'],
    [60 * 60_000, '1 hour'],
    [(3 * 24 + 4) * 60 * 60_000 + 7 * 60_000, '3 days 4 hours'],
    [24 * 60 * 60_000 + 5 * 60_000, '1 day'],
  ])('%d ms is "%s"', (ms, words) => {
    expect(humanDuration(ms)).toBe(words);
  });
});

describe('Grafana dashboard (charts/gatehouse/dashboards/gatehouse.json)', () => {
  const dashboardPath = resolve(chartDir, 'dashboards/gatehouse.json');

  it('charts only metrics that gatehouse exports', async () => {
    const text = await readFile(dashboardPath, 'utf8');
    const dashboard = JSON.parse(text) as {
      panels: { id: number; targets?: { expr: string }[] }[];
    };
    const exported = new Set(
      new Metrics().registry.getMetricsAsArray().map((metric) => metric.name),
    );
    const referenced = new Set(text.match(/gatehouse_[a-z0-9_]+/g) ?? []);
    expect(referenced.size).toBeGreaterThan(20);
    const unknown = [...referenced].filter(
      (name) =>
        !exported.has(name) &&
        !['_bucket', '_sum', '_count'].some(
          (suffix) => name.endsWith(suffix) && exported.has(name.slice(0, -suffix.length)),
        ),
    );
    expect(unknown).toEqual([]);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('covers decisions, latency, logins, Redis and the Kubernetes watches', async () => {
    const text = await readFile(dashboardPath, 'utf8');
    for (const name of [
      'gatehouse_decisions_total',
      'gatehouse_decision_duration_seconds_bucket',
      'gatehouse_logins_total',
      'gatehouse_session_store_duration_seconds_bucket',
      'gatehouse_session_store_errors_total',
      'gatehouse_dependency_up',
      'gatehouse_kubernetes_watch_last_event_timestamp_seconds',
      'gatehouse_kubernetes_watch_errors_total',
    ]) {
      expect(text).toContain(name);
    }
  });

  it(
    'is rendered into a ConfigMap for the Grafana sidecar only when enabled',
    { timeout: 120_000 },
    async () => {
      const byDefault = await render();
      expect(byDefault.some((object) => object.metadata.name === 'gatehouse-dashboard')).toBe(
        false,
      );

      const objects = await render({
        set: ['dashboards.enabled=true', 'dashboards.annotations.grafana_folder=Platform'],
      });
      const configMap = objects.find(
        (object) => object.kind === 'ConfigMap' && object.metadata.name === 'gatehouse-dashboard',
      );
      expect(configMap?.metadata.labels?.['grafana_dashboard']).toBe('1');
      expect((configMap?.metadata as { annotations?: Record<string, string> }).annotations).toEqual(
        {
          grafana_folder: 'Platform',
        },
      );
      const data = configMap?.['data'] as Record<string, string>;
      expect(data['gatehouse.json']).toBe(await readFile(dashboardPath, 'utf8'));
    },
  );
});
