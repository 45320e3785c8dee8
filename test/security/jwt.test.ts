/**
 * Attack suite, part 2: bearer JWTs (docs/architecture.md security invariant 7: explicit algorithm list,
 * issuer and audience required, bounded clock skew). The issuer here publishes an RSA and an EC
 * key, so every algorithm trick reaches real signature verification; the attacker runs a key
 * server of their own, to show gatehouse never fetches keys a token points at.
 */
import { createServer } from 'node:http';
import {
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../fixtures/gatehouse/checks.ts';
import { shopHost } from '../fixtures/gatehouse/policies.ts';
import { startTestGatehouse, type TestGatehouse } from '../fixtures/gatehouse/start.ts';
import { closeServer, listenOnLoopback } from '../fixtures/gatehouse/free-port.ts';

interface KeyServer {
  readonly url: string;
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

/** Serves discovery and `keys` at /jwks.json, and counts every request by path. */
async function startKeyServer(keys: () => JWK[]): Promise<KeyServer> {
  const hits = new Map<string, number>();
  let url = '';
  const server = createServer((request, response) => {
    const path = request.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    response.setHeader('Content-Type', 'application/json');
    if (path === '/.well-known/openid-configuration') {
      response.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks.json` }));
    } else {
      response.end(JSON.stringify({ keys: keys() }));
    }
  });
  url = await listenOnLoopback(server);
  return { url, hits, close: () => closeServer(server) };
}

let issuer: KeyServer;
let attacker: KeyServer;
let gatehouse: TestGatehouse;
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
let attackerKey: { privateKey: CryptoKey; publicKey: CryptoKey };
let attackerJwk: JWK;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  attackerKey = await generateKeyPair('RS256', { extractable: true });
  const published: JWK[] = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  attackerJwk = { ...(await exportJWK(attackerKey.publicKey)), kid: 'rsa-1', alg: 'RS256' };
  issuer = await startKeyServer(() => published);
  attacker = await startKeyServer(() => [attackerJwk]);
  gatehouse = await startTestGatehouse({
    configYaml: `
bearer:
  issuers:
    - name: idp
      issuer: ${issuer.url}
      audiences: [shop-api]
      algorithms: [RS256, ES256]
      clockSkew: 30s
      claims: { username: preferred_username }
`,
  });
});
afterAll(async () => {
  await gatehouse.close();
  await Promise.all([issuer.close(), attacker.close()]);
});

function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer.url,
    aud: 'shop-api',
    sub: 'user-1',
    preferred_username: 'olivia',
    iat: now,
    exp: now + 300,
    ...overrides,
  };
}

function sign(
  payload: JWTPayload,
  header: Record<string, unknown>,
  key: CryptoKey | Uint8Array,
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1', ...header })
    .sign(key);
}

/** Checks a guarded path with the token: 200 only for a token gatehouse believes. */
async function checkToken(token: string, path = '/private') {
  return nginxCheck(gatehouse, `https://${shopHost}${path}`, [
    ['Authorization', `Bearer ${token}`],
  ]);
}

async function expectRejected(token: string): Promise<void> {
  const response = await checkToken(token);
  expect(response.status).toBe(401);
  expect(String(response.headers['www-authenticate'])).toMatch(/^Bearer error="invalid_token"/);
  expect(response.headers['x-auth-request-user']).toBeUndefined();
}

describe('JWT attacks', () => {
  it('control: a token signed with the published key is accepted', async () => {
    const response = await checkToken(await sign(claims(), {}, rsa.privateKey));
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-request-user']).toBe('olivia');
    const viaEc = await checkToken(
      await sign(claims(), { alg: 'ES256', kid: 'ec-1' }, ec.privateKey),
    );
    expect(viaEc.status).toBe(200);
  });

  it('CVE-2015-9235 (`alg: none`): rejected', async () => {
    await expectRejected(new UnsecuredJWT(claims()).encode());
    // The same with a signature part attached, and with the header spelled `None`.
    const [head, body] = new UnsecuredJWT(claims()).encode().split('.');
    await expectRejected(`${head ?? ''}.${body ?? ''}.c2ln`);
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'None', typ: 'JWT' })).toString(
      'base64url',
    );
    await expectRejected(`${noneHeader}.${body ?? ''}.`);
  });

  it('CVE-2016-10555 (HS256 keyed with the RSA public key): rejected', async () => {
    const publicPem = await exportSPKI(rsa.publicKey);
    await expectRejected(
      await sign(claims(), { alg: 'HS256' }, new TextEncoder().encode(publicPem)),
    );
  });

  it('CVE-2022-21449 "psychic signatures" (ECDSA with r = s = 0): rejected', async () => {
    const valid = await sign(claims(), { alg: 'ES256', kid: 'ec-1' }, ec.privateKey);
    const [head, body] = valid.split('.');
    const zero = Buffer.alloc(64).toString('base64url');
    await expectRejected(`${head ?? ''}.${body ?? ''}.${zero}`);
  });

  it('CVE-2018-0114 (key embedded in the `jwk` header, node-jose / Cisco): a token signed with the embedded attacker key is rejected', async () => {
    await expectRejected(await sign(claims(), { jwk: attackerJwk }, attackerKey.privateKey));
    await expectRejected(
      await sign(claims(), { jwk: attackerJwk, kid: 'attacker' }, attackerKey.privateKey),
    );
  });

  it("`jku` / `x5u` header injection (RFC 8725 §3.10): rejected, and the attacker's key URL is never fetched", async () => {
    await expectRejected(
      await sign(claims(), { jku: `${attacker.url}/jwks.json` }, attackerKey.privateKey),
    );
    await expectRejected(
      await sign(claims(), { x5u: `${attacker.url}/cert.pem` }, attackerKey.privateKey),
    );
    expect([...attacker.hits.values()].reduce((sum, count) => sum + count, 0)).toBe(0);
  });

  it('`kid` injection (path traversal, SQL, huge values): rejected, with at most one key refetch for any number of unknown kids', async () => {
    const before = issuer.hits.get('/jwks.json') ?? 0;
    for (const kid of ['../../../../dev/null', "' OR '1'='1", 'x'.repeat(2000), '', '\u0000']) {
      await expectRejected(await sign(claims(), { kid }, attackerKey.privateKey));
    }
    expect((issuer.hits.get('/jwks.json') ?? 0) - before).toBeLessThanOrEqual(1);
  });

  it("algorithm outside the issuer's list (RFC 8725 §3.1): PS256 over the published RSA key is rejected", async () => {
    // The same RSA private key, imported for RSA-PSS: the signature would verify under the
    // published key if the algorithm list were not enforced.
    const pss = await importPKCS8(await exportPKCS8(rsa.privateKey), 'PS256');
    await expectRejected(await sign(claims(), { alg: 'PS256' }, pss));
  });

  it('invariant 7: another audience, another issuer, no `exp`, or expired beyond the clock skew is rejected', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(await sign(claims({ aud: 'other-api' }), {}, rsa.privateKey));
    await expectRejected(await sign(claims({ iss: attacker.url }), {}, rsa.privateKey));
    const { exp: _exp, ...withoutExp } = claims();
    await expectRejected(await sign(withoutExp, {}, rsa.privateKey));
    await expectRejected(await sign(claims({ exp: now - 120 }), {}, rsa.privateKey));
    await expectRejected(await sign(claims({ nbf: now + 600 }), {}, rsa.privateKey));
  });

  it('CWE-113 header injection through a claim: CR/LF never reach a response header', async () => {
    const token = await sign(
      claims({
        preferred_username: 'eve\r\nX-Injected: 1',
        email: 'eve@example.com\n',
        email_verified: true,
      }),
      {},
      rsa.privateKey,
    );
    const response = await checkToken(token, '/public/');
    expect(response.status).toBe(200);
    expect(response.headers).not.toHaveProperty('x-injected');
    expect(String(response.headers['x-auth-request-user'])).toMatch(/^[\x20-\x7e]*$/);
    expect(String(response.headers['x-auth-request-email'])).toBe('eve@example.com');
  });
});
