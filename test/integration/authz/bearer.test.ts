/**
 * Bearer JWTs (RFC 6750) through the nginx dialect against a real JWKS and discovery endpoint.
 * Every way a token can be wrong is a 401 with `WWW-Authenticate: Bearer error="invalid_token"`
 * (RFC 6750 §3.1); algorithm confusion (`none`, HS256 keyed with the public key: CVE-2015-9235,
 * RFC 8725 §2.1) is refused; an unreachable JWKS fails closed and fast (security invariant 1).
 */
import { createServer } from 'node:http';
import { exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import { shopHost, shopOperatorsGroup } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import {
  closeServer,
  listenOnLoopback,
  startTokenIssuer,
} from '../../fixtures/gatehouse/token-issuer.ts';
import type { TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';

let idp: TokenIssuer;
let gatehouse: TestGatehouse;
/** Accepts connections and never answers: a JWKS endpoint that hangs. */
const hangingJwks = createServer(() => undefined);
let hangingIssuer: string;

beforeAll(async () => {
  idp = await startTokenIssuer({ audience: 'shop-api' });
  hangingIssuer = await listenOnLoopback(hangingJwks);
  gatehouse = await startTestGatehouse({
    configYaml: `
# Unqualified RoleMapping subjects (shop-operators) are test-idp's users (issue 15).
authz: { unqualifiedSubjectSources: [issuer/test-idp] }
bearer:
  issuers:
    - name: test-idp
      issuer: ${idp.issuer}
      audiences: [shop-api]
      algorithms: [RS256]
      claims: { username: preferred_username }
    - name: hanging-idp
      issuer: ${hangingIssuer}
      jwksUri: ${hangingIssuer}/jwks.json
      audiences: [shop-api]
      algorithms: [RS256]
`,
  });
});
afterAll(async () => {
  await gatehouse.close();
  await Promise.all([idp.close(), closeServer(hangingJwks)]);
});

function checkWithToken(path: string, token: string) {
  return nginxCheck(gatehouse, `https://${shopHost}${path}`, [
    ['Authorization', `Bearer ${token}`],
  ]);
}

const operator = {
  sub: 'user-1001',
  preferred_username: 'olivia',
  email: 'olivia@example.com',
  email_verified: true,
  groups: [shopOperatorsGroup, 'staff'],
};

describe('valid tokens', () => {
  it('lets a member of shop-operators reach /admin with her identity in the headers', async () => {
    const response = await checkWithToken('/admin/orders', await idp.sign(operator));
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-request-user']).toBe('olivia');
    expect(response.headers['x-auth-request-email']).toBe('olivia@example.com');
    expect(response.headers['x-auth-request-groups']).toBe('shop-operators,staff');
    expect(response.headers['x-auth-request-preferred-username']).toBe('olivia');
    expect(String(response.headers['x-auth-request-roles']).split(',')).toEqual(
      expect.arrayContaining(['authenticated', 'guest', 'shop-admin']),
    );
  });

  it('answers a signed-in user without the role 403 missing-role, and lets her in elsewhere', async () => {
    const token = await idp.sign({
      ...operator,
      preferred_username: 'carl',
      groups: ['customers'],
    });
    const admin = await checkWithToken('/admin', token);
    expect(admin.status).toBe(403);
    expect(admin.body).toBe('missing-role\n');
    const app = await checkWithToken('/orders', token);
    expect(app.status).toBe(200);
    expect(app.headers['x-auth-request-user']).toBe('carl');
  });

  it('attaches the identity on a guest path too', async () => {
    const response = await checkWithToken('/public/catalogue', await idp.sign(operator));
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-request-user']).toBe('olivia');
  });
});

describe('refused tokens: 401 invalid_token', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: readonly (readonly [string, () => Promise<string>])[] = [
    [
      'alg none',
      () =>
        Promise.resolve(
          new UnsecuredJWT({ ...operator, aud: 'shop-api' })
            .setIssuer(idp.issuer)
            .setExpirationTime('10m')
            .encode(),
        ),
    ],
    [
      'HS256 keyed with the public key',
      async () =>
        new SignJWT({ ...operator, iss: idp.issuer, aud: 'shop-api', exp: now() + 600 })
          .setProtectedHeader({ alg: 'HS256', kid: idp.kid })
          .sign(new TextEncoder().encode(await exportSPKI(idp.publicKey))),
    ],
    ['an unknown issuer', () => idp.sign({ ...operator, iss: 'https://evil.test' })],
    ['a wrong audience', () => idp.sign({ ...operator, aud: 'other-api' })],
    ['an expired token', () => idp.sign({ ...operator, iat: now() - 7200, exp: now() - 3600 })],
    ['a token not valid yet', () => idp.sign({ ...operator, nbf: now() + 3600 })],
    [
      'an unknown kid',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return idp.sign(operator, { kid: 'key-unknown', key: privateKey });
      },
    ],
    [
      'a signature by another key under the known kid',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return idp.sign(operator, { key: privateKey });
      },
    ],
    ['a token without sub', () => idp.sign(operator, { without: ['sub'] })],
    ['a token that is not a JWT', () => Promise.resolve('not-a-jwt')],
  ];

  it.each(cases)('%s', async (_what, makeToken) => {
    const response = await checkWithToken('/public/catalogue', await makeToken());
    expect(response.status).toBe(401);
    expect(response.body).toBe('invalid-credentials\n');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    expect(response.headers).not.toHaveProperty('x-auth-request-user');
  });
});

describe('JWKS unreachable', () => {
  it('fails closed with 503, and fast once the failure is known', async () => {
    const token = await new SignJWT({ ...operator, iss: hangingIssuer, aud: 'shop-api' })
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setExpirationTime('10m')
      .sign((await generateKeyPair('RS256')).privateKey);
    const first = await checkWithToken('/public/catalogue', token);
    expect(first.status).toBe(503);
    expect(first.headers).not.toHaveProperty('x-auth-request-user');

    const started = performance.now();
    const second = await checkWithToken('/public/catalogue', token);
    const elapsed = performance.now() - started;
    expect(second.status).toBe(503);
    expect(elapsed).toBeLessThan(200);
  });
});
