/**
 * Sign-in per organisation against two real OpenID Providers (two dev oidc-provider instances):
 * a policy naming `spec.authentication.providers` narrows the sign-in for its hosts, a session
 * from another provider gets the 403 page offering an allowed one, and `providers[].domains`
 * sends a typed address straight to its organisation's provider (home-realm discovery).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import type { PolicyResource } from '../../../src/policy/resources.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  APP_URL,
  check,
  devClient,
  memoryStore,
  providerOptions,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  testPolicy,
  type Gatehouse,
} from './harness.ts';

const PARTNER_URL = 'https://partner.app.test/orders';
const PARTNER_PUBLIC = 'https://partner.app.test/public/terms';

const partnerPolicy = {
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'ClusterAccessPolicy',
  metadata: { name: 'partner', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: {
    hosts: ['partner.app.test'],
    authentication: { providers: ['partner'] },
    rules: [
      {
        name: 'public',
        match: [{ path: { type: 'PathPrefix', value: '/public' } }],
        roles: ['guest'],
      },
      {
        name: 'members',
        match: [{ path: { type: 'PathPrefix', value: '/' } }],
        roles: ['authenticated'],
      },
    ],
  },
} as unknown as PolicyResource;

describe('sign-in per organisation (two OpenID Providers)', () => {
  let corpIdp: DevIdentityProvider;
  let partnerIdp: DevIdentityProvider;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    const reserved = await reserveServer();
    corpIdp = await startProvider([devClient(reserved)]);
    partnerIdp = await startProvider([devClient(reserved)]);
    gatehouse = await startGatehouse({
      reserved,
      providers: [
        providerOptions(corpIdp, { name: 'corp', displayName: 'Corporate' }),
        providerOptions(partnerIdp, {
          name: 'partner',
          displayName: 'Partner Ltd',
          domains: ['partner.com'],
        }),
      ],
      store: memoryStore(),
      policies: [...testPolicy(), partnerPolicy],
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await corpIdp.close();
    await partnerIdp.close();
  });

  const start = (params: Record<string, string>) =>
    fetch(`${gatehouse.url}/oauth2/start?${new URLSearchParams(params).toString()}`, {
      redirect: 'manual',
    });

  it("names the one allowed provider in the 401's sign-in URL", async () => {
    const response = await check(gatehouse, undefined, PARTNER_URL);
    expect(response.status).toBe(401);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.searchParams.get('provider')).toBe('partner');
    expect(location.searchParams.get('rd')).toBe(PARTNER_URL);
    // Unrestricted hosts keep the plain sign-in URL.
    const app = new URL((await check(gatehouse, undefined, APP_URL)).headers.get('location') ?? '');
    expect(app.searchParams.has('provider')).toBe(false);
  });

  it('goes straight to the one allowed provider for that rd, with no chooser', async () => {
    const response = await start({ rd: PARTNER_URL });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toMatch(new RegExp(`^${partnerIdp.issuer}`));
    // Elsewhere both providers are offered.
    const chooser = await start({ rd: APP_URL });
    expect(chooser.status).toBe(200);
    const html = await chooser.text();
    expect(html).toContain('Sign in with Corporate');
    expect(html).toContain('Sign in with Partner Ltd');
  });

  it('refuses to start a sign-in with a provider the destination does not allow', async () => {
    const response = await start({ rd: PARTNER_URL, provider: 'corp' });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Partner Ltd only');
  });

  it('refuses a corporate session on the partner host with a 403 page offering the partner sign-in', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob', { rd: APP_URL, provider: 'corp' });
    const cookie = jar.cookieHeader(gatehouse.url);
    expect((await check(gatehouse, cookie, APP_URL)).status).toBe(200);

    const page = await fetch(`${gatehouse.url}/authz/nginx?host=partner.app.test`, {
      headers: {
        'x-original-url': PARTNER_URL,
        'x-original-method': 'GET',
        accept: 'text/html',
        ...(cookie === undefined ? {} : { cookie }),
      },
    });
    expect(page.status).toBe(403);
    const html = await page.text();
    expect(html).toContain('<code id="reason">provider-not-allowed</code>');
    const offer = /<a class="button" href="([^"]+)">Sign in with Partner Ltd<\/a>/.exec(html);
    expect(offer).not.toBeNull();
    const href = new URL((offer?.[1] ?? '').replaceAll('&amp;', '&'));
    expect(href.searchParams.get('provider')).toBe('partner');
    expect(href.searchParams.get('rd')).toBe(PARTNER_URL);

    // A guest path of the partner host stays open, as to anyone: no identity is sent for it.
    const guest = await check(gatehouse, cookie, PARTNER_PUBLIC);
    expect(guest.status).toBe(200);
    expect(guest.headers.get('x-auth-request-user')).toBe('');

    // Signing in with the partner provider (from the offer) replaces the session: allowed.
    const signedIn = await signIn(gatehouse, jar, 'carol', {
      rd: PARTNER_URL,
      provider: 'partner',
    });
    expect(signedIn.location).toBe(PARTNER_URL);
    const allowed = await check(gatehouse, jar.cookieHeader(gatehouse.url), PARTNER_URL);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-auth-request-user')).toBe('carol');
  });

  it('home-realm discovery: an address at partner.com goes straight to the partner provider with login_hint', async () => {
    const chooser = await start({ rd: APP_URL });
    expect(await chooser.text()).toContain('name="login_hint"');

    const response = await start({ rd: APP_URL, login_hint: ' pat@Partner.COM ' });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.href.startsWith(partnerIdp.issuer)).toBe(true);
    expect(location.searchParams.get('login_hint')).toBe('pat@Partner.COM');
  });

  it('home-realm discovery: an unknown domain or a non-address shows the chooser again, saying why', async () => {
    const unknown = await start({ rd: APP_URL, login_hint: 'kim@elsewhere.org' });
    expect(unknown.status).toBe(200);
    expect(await unknown.text()).toContain(
      'No organisation here signs in with addresses at elsewhere.org',
    );
    const junk = await start({ rd: APP_URL, login_hint: 'not an address' });
    expect(junk.status).toBe(200);
    expect(await junk.text()).toContain('That is not an e-mail address');
  });
});
