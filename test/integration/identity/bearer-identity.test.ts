/**
 * What a bearer token's identity keeps (issue 15, findings 1 and 6): real issuers over HTTP (the
 * test token issuer, and the dev OpenID Provider whose own keys sign "its" access tokens).
 * - an unverified e-mail address is dropped, as for sessions (OIDC Core §5.1 `email_verified`);
 * - a bearer issuer that is also a sign-in provider names people as the provider does, so the
 *   same person is `alice` through a browser session and through a token.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startDevIdentityProvider,
  type DevIdentityProvider,
} from '../../../dev/identity-provider.ts';
import type { AuthRequest } from '../../../src/authz/auth-request.ts';
import { BearerTokenAuthenticator, type BearerIssuer } from '../../../src/authn/bearer-token.ts';
import type { Identity } from '../../../src/authz/identity.ts';
import { RoleIndex } from '../../../src/authz/roles.ts';
import { startTokenIssuer, type TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';

const subClaims = { username: 'sub', email: 'email', groups: 'groups', name: 'name' };

function request(token: string): AuthRequest {
  return { credentials: { authorization: `Bearer ${token}` } } as unknown as AuthRequest;
}

async function identityOf(authenticator: BearerTokenAuthenticator, token: string) {
  const result = await authenticator.authenticate(request(token));
  if (result.kind !== 'identified') throw new Error(`not identified: ${JSON.stringify(result)}`);
  return result.identity;
}

function issuerConfig(issuer: string, overrides: Partial<BearerIssuer> = {}): BearerIssuer {
  return {
    name: 'machines',
    issuer,
    audiences: ['shop-api'],
    algorithms: ['RS256'],
    clockSkewSeconds: 30,
    claims: subClaims,
    ...overrides,
  };
}

describe('bearer identities: verified e-mail only', () => {
  let tokens: TokenIssuer;
  beforeAll(async () => {
    tokens = await startTokenIssuer();
  });
  afterAll(async () => {
    await tokens.close();
  });

  const roles = RoleIndex.build([
    { scope: '', roles: ['alice-data'], subjects: [{ kind: 'User', name: 'alice@example.com' }] },
    { scope: '', roles: ['staff-data'], subjects: [{ kind: 'EmailDomain', name: 'example.com' }] },
  ]);

  it('drops an address without email_verified: true, and the roles it would grant', async () => {
    const authenticator = new BearerTokenAuthenticator({
      issuers: [issuerConfig(tokens.issuer)],
      cache: { enabled: false, maxEntries: 10 },
    });
    for (const verified of [undefined, false, 'yes']) {
      const identity: Identity = await identityOf(
        authenticator,
        await tokens.sign({
          email: 'alice@example.com',
          ...(verified === undefined ? {} : { email_verified: verified }),
        }),
      );
      expect(identity.email).toBeUndefined();
      expect(identity.claims['email']).toBeUndefined();
      expect(roles.rolesOf(identity, '')).toEqual(['authenticated', 'guest']);
    }
    const verified = await identityOf(
      authenticator,
      await tokens.sign({ email: 'alice@example.com', email_verified: true }),
    );
    expect(verified.email).toBe('alice@example.com');
    expect(roles.rolesOf(verified, '')).toContain('alice-data');
  });

  it('keeps an unverified address for an issuer configured with allowUnverifiedEmail', async () => {
    const authenticator = new BearerTokenAuthenticator({
      issuers: [issuerConfig(tokens.issuer, { allowUnverifiedEmail: true })],
      cache: { enabled: false, maxEntries: 10 },
    });
    const identity = await identityOf(authenticator, await tokens.sign({ email: 'a@example.com' }));
    expect(identity.email).toBe('a@example.com');
  });
});

describe('bearer identities: one person, one name', () => {
  let idp: DevIdentityProvider;
  beforeAll(async () => {
    idp = await startDevIdentityProvider({ clients: [] });
  });
  afterAll(async () => {
    await idp.close();
  });

  /** An access token the dev provider could have issued for alice (signed with its key). */
  async function aliceToken(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      sub: 'alice-0001',
      preferred_username: 'alice',
      email: 'alice@example.com',
      email_verified: true,
    })
      .setProtectedHeader({ alg: 'RS256', kid: idp.keys.rs256.kid, typ: 'at+jwt' })
      .setIssuer(idp.issuer)
      .setAudience('shop-api')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(idp.keys.rs256.privateKey);
  }

  it('names the user with the provider claim mapping when the issuer is also a provider', async () => {
    const authenticator = new BearerTokenAuthenticator({
      issuers: [issuerConfig(idp.issuer, { name: 'dex' })],
      cache: { enabled: false, maxEntries: 10 },
      providers: [
        {
          name: 'dex',
          // A trailing slash is the same issuer (OpenID Connect Discovery §4.3 compares
          // exactly, but operators write both forms in the two settings).
          issuer: `${idp.issuer}/`,
          claims: {
            username: 'preferred_username',
            email: 'email',
            groups: 'groups',
            name: 'name',
          },
        },
      ],
    });
    const identity = await identityOf(authenticator, await aliceToken());
    expect(identity.user).toBe('alice');
    expect(identity.subject).toBe('alice-0001');
  });

  it('keeps the issuer mapping for an issuer that is no provider', async () => {
    const authenticator = new BearerTokenAuthenticator({
      issuers: [issuerConfig(idp.issuer, { name: 'dex' })],
      cache: { enabled: false, maxEntries: 10 },
      providers: [],
    });
    expect((await identityOf(authenticator, await aliceToken())).user).toBe('alice-0001');
  });
});
