/**
 * Step-up sign-in per rule (issue #19) through the real flow: gatehouse's check, `/oauth2/start`
 * and callback against the dev OpenID Provider (oidc-provider), whose sign-ins carry `acr` and
 * `amr` and, when `max_age` or `prompt=login` is asked, `auth_time`. A rule with
 * `authentication.maxAge` sends an old (or unknown-age) session back to sign in with
 * `max_age` and `prompt=login`, and the provider asks for the password again; a rule with `acr`
 * admits only the sign-in that carries it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import { DEMO_USERS, devStrongAcr, type DevUser } from '../../../dev/demo-users.ts';
import type { PolicyResource } from '../../../src/policy/resources.ts';
import type { SignInOptions } from '../../../src/oidc/sign-in-options.ts';
import type { StepUpSignInOptions } from '../../../src/oidc/step-up.ts';
import { browserlessLogin } from '../../fixtures/oidc/browserless-login.ts';
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
  testClock,
  testPolicy,
  type Clock,
  type Gatehouse,
} from './harness.ts';

const BILLING_URL = 'https://secure.app.test/billing/invoices';
const VAULT_URL = 'https://secure.app.test/vault';

const securePolicy = {
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'ClusterAccessPolicy',
  metadata: { name: 'secure', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: {
    hosts: ['secure.app.test'],
    rules: [
      {
        name: 'billing',
        match: [{ path: { type: 'PathPrefix', value: '/billing' } }],
        roles: ['authenticated'],
        authentication: { maxAge: '15m' },
      },
      {
        name: 'vault',
        match: [{ path: { type: 'PathPrefix', value: '/vault' } }],
        roles: ['authenticated'],
        authentication: { acr: [devStrongAcr] },
      },
    ],
  },
} as unknown as PolicyResource;

/** bob's twin who signs in "with a security key" (dev/demo-users.ts strongSignIn). */
const kim: DevUser = {
  ...(DEMO_USERS.find((user) => user.username === 'bob') as DevUser),
  username: 'kim',
  password: 'kim',
  subject: 'kim-sub',
  email: 'kim@example.com',
  strongSignIn: true,
};

describe('step-up sign-in per rule (issue #19)', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  let clock: Clock;

  /** A second gatehouse whose sign-in knows the destinations' step-up (`stepUpFor`). */
  let wired: Gatehouse;

  beforeAll(async () => {
    const reserved = await reserveServer();
    const reservedWired = await reserveServer();
    idp = await startProvider([devClient([reserved, reservedWired])], { extraUsers: [kim] });
    clock = testClock();
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: memoryStore(clock),
      clock,
      policies: [...testPolicy(), securePolicy],
    });
    // As the composition root would wire it from the policy (oidc/step-up.ts StepUpSignInOptions).
    const stepUpWiring: Partial<SignInOptions> & StepUpSignInOptions = {
      stepUpFor: (rd) =>
        rd.startsWith('https://secure.app.test/billing') ? { maxAge: 900 } : undefined,
    };
    wired = await startGatehouse({
      reserved: reservedWired,
      providers: [providerOptions(idp)],
      store: memoryStore(),
      policies: [...testPolicy(), securePolicy],
      signIn: stepUpWiring,
    });
  });

  afterAll(async () => {
    await wired.close();
    await gatehouse.close();
    await idp.close();
  });

  /** Follows a 401's sign-in URL to the provider: its authorization URL. */
  async function startFrom(jar: CookieJar, signInUrl: string): Promise<URL> {
    const start = await jar.fetch(signInUrl);
    expect(start.status).toBe(302);
    return new URL(start.headers.get('location') ?? '');
  }

  /** Completes a sign-in at the provider and gatehouse's callback; the session cookie. */
  async function complete(jar: CookieJar, authorizationUrl: URL, username: string) {
    const callbackUrl = await browserlessLogin({
      authorizationUrl,
      username,
      password: username,
      jar,
      redirectUri: `${gatehouse.url}/oauth2/callback`,
    });
    const callback = await jar.fetch(callbackUrl.href);
    expect(callback.status).toBe(302);
    return { cookie: jar.cookieHeader(gatehouse.url), location: callback.headers.get('location') };
  }

  it('sends a session of unknown age to sign in again with max_age and prompt=login, then admits it', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob', { rd: APP_URL });
    const before = jar.cookieHeader(gatehouse.url);
    // The first sign-in asked nothing: the provider did not say when it happened.
    expect((await check(gatehouse, before, APP_URL)).status).toBe(200);
    const refused = await check(gatehouse, before, BILLING_URL);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('step-up-required');
    const signInUrl = new URL(refused.headers.get('location') ?? '');
    expect(Object.fromEntries(signInUrl.searchParams)).toMatchObject({
      rd: BILLING_URL,
      max_age: '900',
      prompt: 'login',
    });

    const authorization = await startFrom(jar, signInUrl.href);
    expect(authorization.searchParams.get('max_age')).toBe('900');
    expect(authorization.searchParams.get('prompt')).toBe('login');
    // The provider holds a session for bob, yet asks for the password again (prompt=login).
    const interaction = await jar.fetch(authorization.href);
    const interactionUrl = new URL(interaction.headers.get('location') ?? '', authorization);
    const form = await jar.fetch(interactionUrl.href);
    expect(await form.text()).toContain('id="login-form"');

    const { cookie, location } = await complete(jar, interactionUrl, 'bob');
    expect(location).toBe(BILLING_URL);
    expect(cookie).not.toBe(before);
    expect((await check(gatehouse, cookie, BILLING_URL)).status).toBe(200);

    // Sixteen minutes later the same session is too old for a 15-minute rule, not for the rest.
    clock.advance(16 * 60 * 1000);
    try {
      const stale = await check(gatehouse, cookie, BILLING_URL);
      expect(stale.status).toBe(401);
      expect(await stale.text()).toContain('step-up-required');
      expect((await check(gatehouse, cookie, APP_URL)).status).toBe(200);
    } finally {
      clock.advance(-16 * 60 * 1000);
    }
  });

  it('asks for the acr a rule names, and admits only the sign-in that carries it', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'bob', { rd: APP_URL });
    const refused = await check(gatehouse, jar.cookieHeader(gatehouse.url), VAULT_URL);
    expect(refused.status).toBe(401);
    const signInUrl = new URL(refused.headers.get('location') ?? '');
    expect(signInUrl.searchParams.get('acr_values')).toBe(devStrongAcr);
    const authorization = await startFrom(jar, signInUrl.href);
    expect(authorization.searchParams.get('acr_values')).toBe(devStrongAcr);

    // bob can only sign in with a password: a new sign-in does not meet the rule.
    const bob = await complete(jar, authorization, 'bob');
    expect((await check(gatehouse, bob.cookie, VAULT_URL)).status).toBe(401);

    // kim signs in with a security key: the ID token's acr meets it.
    const kimJar = new CookieJar();
    const kimStart = await startFrom(kimJar, signInUrl.href);
    const kimSession = await complete(kimJar, kimStart, 'kim');
    expect(kimSession.location).toBe(VAULT_URL);
    expect((await check(gatehouse, kimSession.cookie, VAULT_URL)).status).toBe(200);
  });

  it("asks for the destination's step-up when the link carries only rd (ingress-nginx's auth-signin)", async () => {
    const jar = new CookieJar();
    const start = (rd: string) =>
      jar.fetch(`${wired.url}/oauth2/start?${new URLSearchParams({ rd }).toString()}`);
    const billing = new URL((await start(BILLING_URL)).headers.get('location') ?? '');
    expect(billing.searchParams.get('max_age')).toBe('900');
    expect(billing.searchParams.get('prompt')).toBe('login');
    // A link asking for less than the rule gets the rule's request all the same.
    const lowered = await jar.fetch(
      `${wired.url}/oauth2/start?${new URLSearchParams({ rd: BILLING_URL, max_age: '86400' }).toString()}`,
    );
    expect(new URL(lowered.headers.get('location') ?? '').searchParams.get('max_age')).toBe('900');
    const plain = new URL((await start(APP_URL)).headers.get('location') ?? '');
    expect(plain.searchParams.has('max_age')).toBe(false);
    expect(plain.searchParams.has('prompt')).toBe(false);
  });

  it('refuses a start link whose step-up parameters are malformed', async () => {
    const response = await fetch(
      `${gatehouse.url}/oauth2/start?${new URLSearchParams({ rd: BILLING_URL, max_age: '-1' }).toString()}`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('max_age must be a whole number of seconds');
  });
});
