/**
 * What a browser session keeps of the provider's claims (issue 15, findings 1, 3 and 6), with a
 * real OpenID Provider (oidc-provider, dev/identity-provider.ts) and the real sign-in flow:
 * - an e-mail address the provider has not verified is dropped (OIDC Core §5.1 `email_verified`),
 *   unless the provider is configured with `allowUnverifiedEmail`;
 * - group names are compared exactly as issued (no trimming, no splitting);
 * - `/oauth2/userinfo` exposes `preferredUsername`, as oauth2-proxy does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import type { DevUser } from '../../../dev/demo-users.ts';
import { RoleIndex } from '../../../src/authz/roles.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  check,
  devClient,
  gatehouseFetch,
  memoryStore,
  providerOptions,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  type Gatehouse,
} from './harness.ts';

/** Claims alice's address at a provider that never verified it, and odd group names. */
const mallory: DevUser = {
  username: 'mallory',
  password: 'mallory',
  subject: 'mallory-0666',
  email: 'alice@example.com',
  emailVerified: false,
  name: 'Mallory',
  givenName: 'Mallory',
  familyName: 'M',
  groups: ['admins ', 'Domain admins'],
};

/** Roles mapped to alice's address, her mail domain, and the `admins` group. */
const roles = RoleIndex.build([
  { scope: '', roles: ['alice-data'], subjects: [{ kind: 'User', name: 'alice@example.com' }] },
  { scope: '', roles: ['staff-data'], subjects: [{ kind: 'EmailDomain', name: 'example.com' }] },
  { scope: '', roles: ['admin'], subjects: [{ kind: 'Group', name: 'admins' }] },
]);

describe('identity claims of browser sessions (dev OpenID Provider)', () => {
  let idp: DevIdentityProvider;
  let strict: Gatehouse;
  let lenient: Gatehouse;

  beforeAll(async () => {
    const strictServer = await reserveServer();
    const lenientServer = await reserveServer();
    idp = await startProvider([devClient([strictServer, lenientServer])], {
      extraUsers: [mallory],
    });
    const rolesOf = (identity: Parameters<RoleIndex['rolesOf']>[0]) => roles.rolesOf(identity, '');
    strict = await startGatehouse({
      reserved: strictServer,
      providers: [providerOptions(idp)],
      store: memoryStore(),
      signIn: { rolesOf },
    });
    lenient = await startGatehouse({
      reserved: lenientServer,
      providers: [providerOptions(idp, { allowUnverifiedEmail: true })],
      store: memoryStore(),
      signIn: { rolesOf },
    });
  });

  afterAll(async () => {
    await strict.close();
    await lenient.close();
    await idp.close();
  });

  async function userinfo(gatehouse: Gatehouse, username: string) {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, username);
    const response = await gatehouseFetch(jar, `${gatehouse.url}/oauth2/userinfo`);
    expect(response.status).toBe(200);
    const checked = await check(gatehouse, jar.cookieHeader(gatehouse.url));
    return { body: (await response.json()) as Record<string, unknown>, checked };
  }

  it('drops an unverified e-mail address: no address upstream, no roles through it', async () => {
    const { body, checked } = await userinfo(strict, 'mallory');
    expect(body['email']).toBeNull();
    expect(body['roles']).not.toContain('alice-data');
    expect(body['roles']).not.toContain('staff-data');
    expect(checked.status).toBe(200);
    expect(checked.headers.get('x-auth-request-user')).toBe('mallory');
    expect(checked.headers.get('x-auth-request-email') ?? '').toBe('');
  });

  it('keeps a verified address', async () => {
    const { body, checked } = await userinfo(strict, 'alice');
    expect(body['email']).toBe('alice@example.com');
    expect(body['roles']).toEqual(expect.arrayContaining(['alice-data', 'staff-data']));
    expect(checked.headers.get('x-auth-request-email')).toBe('alice@example.com');
  });

  it('keeps an unverified address where the provider allows it (allowUnverifiedEmail)', async () => {
    const { body } = await userinfo(lenient, 'mallory');
    expect(body['email']).toBe('alice@example.com');
  });

  it('compares group names exactly as issued: "admins " and "Domain admins" are not admins', async () => {
    const { body } = await userinfo(strict, 'mallory');
    expect(body['groups']).toEqual(['admins ', 'Domain admins']);
    expect(body['roles']).not.toContain('admin');
    const alice = await userinfo(strict, 'alice');
    expect(alice.body['roles']).toContain('admin');
  });

  it('exposes preferredUsername in /oauth2/userinfo, as oauth2-proxy does', async () => {
    const { body } = await userinfo(strict, 'alice');
    expect(body['preferredUsername']).toBe('alice');
  });
});
