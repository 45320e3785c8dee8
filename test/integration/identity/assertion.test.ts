/**
 * The signed identity assertion end to end (docs/architecture.md "Identity"): an upstream verifies
 * `X-Gatehouse-Assertion` with jose against gatehouse's `/.well-known/jwks.json`, pinning the
 * algorithm, the issuer and its own host; a token presented to another host is refused (RFC 8725
 * §3.9); after a key rotation, assertions signed with the old key still verify until they
 * expire, and new ones name the new `kid`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import {
  startTestGatehouse,
  testPublicUrl,
  type TestGatehouse,
} from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer, type TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import { alice, bearerIssuerYaml, hosts, profilePolicies, zoe } from './identity-fixtures.ts';

let idp: TokenIssuer;
let keyDir: string;
let oldKeyFile: string;
let newKeyFile: string;

function es256Pem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

beforeAll(async () => {
  idp = await startTokenIssuer({ audience: 'shop-api' });
  keyDir = await mkdtemp(join(tmpdir(), 'gatehouse-assertion-'));
  oldKeyFile = join(keyDir, 'old.pem');
  newKeyFile = join(keyDir, 'new.pem');
  await writeFile(oldKeyFile, es256Pem());
  await writeFile(newKeyFile, es256Pem());
});
afterAll(async () => {
  await idp.close();
  await rm(keyDir, { recursive: true, force: true });
});

function startWithKeys(current: string, previous: readonly string[]): Promise<TestGatehouse> {
  return startTestGatehouse({
    policies: profilePolicies,
    configYaml: `${bearerIssuerYaml(idp.issuer)}
identityHeaders:
  assertion:
    enabled: true
    signingKeyFile: ${current}
    previousKeyFiles: ${JSON.stringify(previous)}
`,
  });
}

async function assertionFrom(gatehouse: TestGatehouse, host: string): Promise<string> {
  const token = await idp.sign(zoe);
  const response = await nginxCheck(gatehouse, `https://${host}/`, [
    ['Authorization', `Bearer ${token}`],
  ]);
  expect(response.status).toBe(200);
  const assertion = response.headers['x-gatehouse-assertion'];
  expect(typeof assertion).toBe('string');
  return String(assertion);
}

async function jwksOf(gatehouse: TestGatehouse): Promise<JSONWebKeySet> {
  const response = await fetch(gatehouse.url('/.well-known/jwks.json'));
  expect(response.status).toBe(200);
  return (await response.json()) as JSONWebKeySet;
}

/** What the docs tell an upstream to do (docs/identity.md). */
async function verifyAsUpstream(token: string, jwks: JSONWebKeySet, host: string) {
  return jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: testPublicUrl,
    audience: host,
    algorithms: ['ES256'],
  });
}

describe('verification by an upstream', () => {
  let gatehouse: TestGatehouse;
  beforeAll(async () => {
    gatehouse = await startWithKeys(oldKeyFile, []);
  });
  afterAll(async () => {
    await gatehouse.close();
  });

  it('verifies with the published keys and carries the identity', async () => {
    const token = await assertionFrom(gatehouse, hosts.remote);
    const { payload, protectedHeader } = await verifyAsUpstream(
      token,
      await jwksOf(gatehouse),
      hosts.remote,
    );
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({
      iss: testPublicUrl,
      aud: hosts.remote,
      sub: 'zoe-0004',
      email: 'zoe@example.com',
      name: 'Zoë Ñandú',
      groups: ['staff', 'sales,emea'],
      roles: ['authenticated', 'guest'],
    });
    expect(payload.act).toBeUndefined();
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(60);
  });

  it('is refused by an upstream on another host (wrong audience)', async () => {
    const token = await assertionFrom(gatehouse, hosts.remote);
    await expect(verifyAsUpstream(token, await jwksOf(gatehouse), hosts.sec)).rejects.toThrow(
      /"aud" claim/,
    );
  });

  it('refuses a request carrying its own copy of the assertion', async () => {
    const forged = await nginxCheck(gatehouse, `https://${hosts.remote}/`, [
      ['X-Gatehouse-Assertion', 'eyJhbGciOiJub25lIn0.e30.'],
      ['Authorization', `Bearer ${await idp.sign(alice)}`],
    ]);
    expect(forged.status).toBe(403);
    expect(forged.headers).not.toHaveProperty('x-gatehouse-assertion');
  });
});

describe('key rotation', () => {
  it('keeps old assertions verifiable until they expire, and signs new ones with the new kid', async () => {
    const before = await startWithKeys(oldKeyFile, []);
    let oldAssertion: string;
    try {
      oldAssertion = await assertionFrom(before, hosts.xAuthRequest);
    } finally {
      await before.close();
    }
    const oldKid = decodeProtectedHeader(oldAssertion).kid;

    const after = await startWithKeys(newKeyFile, [oldKeyFile]);
    try {
      const jwks = await jwksOf(after);
      expect(jwks.keys.map((key) => key.kid)).toContain(oldKid);
      await expect(verifyAsUpstream(oldAssertion, jwks, hosts.xAuthRequest)).resolves.toBeDefined();

      const newAssertion = await assertionFrom(after, hosts.xAuthRequest);
      const newKid = decodeProtectedHeader(newAssertion).kid;
      expect(newKid).toBeDefined();
      expect(newKid).not.toBe(oldKid);
      await expect(verifyAsUpstream(newAssertion, jwks, hosts.xAuthRequest)).resolves.toBeDefined();
    } finally {
      await after.close();
    }
  });
});
