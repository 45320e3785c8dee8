import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import { browserlessLogin } from '../../fixtures/oidc/browserless-login.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  APP_URL,
  check,
  devClient,
  gatehouseFetch,
  memoryStore,
  providerOptions,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  startSignIn,
  type Gatehouse,
  urlOf,
} from './harness.ts';

/**
 * Attacks on the login: every one must end on an error page without a session cookie, and none
 * may yield a session (RFC 9700 §4; OpenID Connect Core §3.1.3.7; docs/architecture.md invariant 5).
 */
describe('sign-in attacks', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  /** When set, the token request authenticates as another client (an ID token for another audience). */
  let impersonateOtherClient = false;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([
      devClient(reserved),
      devClient(reserved, { clientId: 'other-client', clientSecret: 'other-secret' }),
    ]);
    const interceptingFetch: typeof fetch = (input, init) => {
      if (impersonateOtherClient && urlOf(input).endsWith('/token')) {
        const headers = new Headers(init?.headers);
        headers.set(
          'authorization',
          `Basic ${Buffer.from('other-client:other-secret').toString('base64')}`,
        );
        return fetch(input, { ...init, headers });
      }
      return fetch(input, init);
    };
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: memoryStore(),
      fetch: interceptingFetch,
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await idp.close();
  });

  /** Signs in at the provider and returns the callback URL without requesting it. */
  async function authorize(
    jar: CookieJar,
    authorizationUrl: string,
    username = 'alice',
  ): Promise<string> {
    const url = await browserlessLogin({
      authorizationUrl,
      username,
      password: username,
      jar,
      redirectUri: `${gatehouse.url}/oauth2/callback`,
    });
    return url.href;
  }

  async function expectRefused(response: Response, status: number, text?: RegExp): Promise<void> {
    expect(response.status).toBe(status);
    expect(response.headers.getSetCookie()).toEqual([]);
    const html = await response.text();
    if (text !== undefined) expect(html).toMatch(text);
    expect(html).not.toMatch(/at \w+ \(|Error:/); // never a stack trace
  }

  async function failures(reason: string): Promise<number> {
    const metric = await gatehouse.metrics.registry
      .getSingleMetric('gatehouse_logins_total')!
      .get();
    return (
      metric.values.find(
        (value) => value.labels.stage === 'failed' && value.labels.reason === reason,
      )?.value ?? 0
    );
  }

  it('refuses a replayed callback: the state is used once', async () => {
    const jar = new CookieJar();
    const callbackUrl = await authorize(jar, await startSignIn(gatehouse, jar, { rd: APP_URL }));
    const first = await gatehouseFetch(jar, callbackUrl);
    expect(first.status).toBe(302);
    await expectRefused(await gatehouseFetch(jar, callbackUrl), 400, /expired or was already used/);
  });

  it('refuses a state started in another browser (login CSRF)', async () => {
    const attacker = new CookieJar();
    const callbackUrl = await authorize(attacker, await startSignIn(gatehouse, attacker), 'carol');
    const victim = new CookieJar();
    await startSignIn(gatehouse, victim); // the victim has a binding cookie of their own
    await expectRefused(
      await gatehouseFetch(victim, callbackUrl),
      403,
      /started in another browser/,
    );
    // Without any binding cookie, too; and the attacker's state is spent either way.
    await expectRefused(await fetch(callbackUrl, { redirect: 'manual' }), 400);
    await expectRefused(await gatehouseFetch(attacker, callbackUrl), 400);
    expect(await failures('other-browser')).toBeGreaterThanOrEqual(1);
  });

  it('refuses a code whose PKCE challenge does not match the stored verifier', async () => {
    const jar = new CookieJar();
    const authorizationUrl = new URL(await startSignIn(gatehouse, jar));
    authorizationUrl.searchParams.set(
      'code_challenge',
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
    await expectRefused(
      await gatehouseFetch(jar, await authorize(jar, authorizationUrl.href)),
      400,
    );
    expect(await failures('token-rejected')).toBeGreaterThanOrEqual(1);
  });

  it('refuses a code from another login of the same browser (wrong verifier)', async () => {
    const jar = new CookieJar();
    const first = new URL(await authorize(jar, await startSignIn(gatehouse, jar)));
    const second = new URL(await authorize(jar, await startSignIn(gatehouse, jar)));
    const swapped = new URL(first);
    swapped.searchParams.set('code', second.searchParams.get('code')!);
    await expectRefused(await gatehouseFetch(jar, swapped.href), 400, /could not be verified/);
  });

  it('refuses an ID token whose nonce is not the one this login sent', async () => {
    const jar = new CookieJar();
    const authorizationUrl = new URL(await startSignIn(gatehouse, jar));
    authorizationUrl.searchParams.set('nonce', 'attacker-chosen-nonce');
    await expectRefused(
      await gatehouseFetch(jar, await authorize(jar, authorizationUrl.href)),
      400,
    );
    expect(await failures('id-token-invalid')).toBeGreaterThanOrEqual(1);
  });

  it('refuses a code used twice, even under a fresh state', async () => {
    const jar = new CookieJar();
    const used = new URL(await authorize(jar, await startSignIn(gatehouse, jar)));
    expect((await gatehouseFetch(jar, used.href)).status).toBe(302);
    const fresh = new URL(await authorize(jar, await startSignIn(gatehouse, jar)));
    fresh.searchParams.set('code', used.searchParams.get('code')!);
    await expectRefused(await gatehouseFetch(jar, fresh.href), 400);
  });

  it('refuses an ID token issued to another client (audience)', async () => {
    const jar = new CookieJar();
    const authorizationUrl = new URL(await startSignIn(gatehouse, jar));
    authorizationUrl.searchParams.set('client_id', 'other-client');
    const callbackUrl = await authorize(jar, authorizationUrl.href);
    const before = await failures('id-token-invalid');
    impersonateOtherClient = true;
    try {
      await expectRefused(await gatehouseFetch(jar, callbackUrl), 400);
    } finally {
      impersonateOtherClient = false;
    }
    expect(await failures('id-token-invalid')).toBe(before + 1);
  });

  it('replaces a session cookie planted before login (fixation)', async () => {
    const attacker = new CookieJar();
    await signIn(gatehouse, attacker, 'carol');
    const planted = attacker.get(gatehouse.url, '_gatehouse')!;
    const victim = new CookieJar();
    victim.setCookie(gatehouse.url, `_gatehouse=${planted}; Path=/`);
    await signIn(gatehouse, victim, 'alice');
    const issued = victim.get(gatehouse.url, '_gatehouse')!;
    expect(issued).not.toBe(planted);
    expect((await check(gatehouse, `_gatehouse=${planted}`)).status).toBe(401);
    const allowed = await check(gatehouse, `_gatehouse=${issued}`);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-auth-request-user')).toBe('alice');
  });

  it('lets two tabs of one browser start at the same time, setting the binding cookie once; the first to finish ends the binding', async () => {
    const jar = new CookieJar();
    const first = await gatehouseFetch(jar, `${gatehouse.url}/oauth2/start`);
    const second = await gatehouseFetch(jar, `${gatehouse.url}/oauth2/start`);
    expect(first.headers.getSetCookie()).toHaveLength(1);
    expect(first.headers.getSetCookie()[0]).toMatch(
      /^_gatehouse_login=[\w-]{43}; Path=\/oauth2; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(second.headers.getSetCookie()).toEqual([]);
    const callbacks = [
      await authorize(jar, first.headers.get('location')!),
      await authorize(jar, second.headers.get('location')!),
    ];
    // The completed sign-in expires the binding cookie, so the other tab's callback no longer
    // proves it came from this browser: it is refused, and starting again signs in at once.
    const [firstCallback, secondCallback] = callbacks.reverse();
    expect((await gatehouseFetch(jar, firstCallback!)).status).toBe(302);
    await expectRefused(await gatehouseFetch(jar, secondCallback!), 403, /started elsewhere/);
    const again = await authorize(jar, await startSignIn(gatehouse, jar));
    expect((await gatehouseFetch(jar, again)).status).toBe(302);
  });

  it('shows a friendly 403 when the user cancels at the provider, and spends the state', async () => {
    const jar = new CookieJar();
    const authorizationUrl = new URL(
      await startSignIn(gatehouse, jar, { rd: 'https://app.test/x' }),
    );
    const state = authorizationUrl.searchParams.get('state')!;
    const denied = await gatehouseFetch(
      jar,
      `${gatehouse.url}/oauth2/callback?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state=${state}`,
    );
    await expectRefused(denied, 403, /cancelled/);
    const page = await gatehouseFetch(
      jar,
      `${gatehouse.url}/oauth2/callback?error=server_error&error_description=%3Cscript%3E&state=${state}`,
    );
    const html = await page.text();
    expect(page.status).toBe(400);
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toContain('<script>');
  });
});
