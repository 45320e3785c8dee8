import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, createLocalJWKSet, SignJWT } from 'jose';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { jwksCacheControl, jwksDocument, jwksPath } from './signing-keys-jwks.ts';
import { defaultRetentionMs, loadSigningKeys, SigningKeyError } from './signing-keys.ts';

function p256(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}
/** What `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` writes. */
const pkcs8Pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;
const privateJwkText = (key: KeyObject) => JSON.stringify(key.export({ format: 'jwk' }));

/** A logger that records what was logged, to check the messages operators see. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

const clock = () => 1_700_000_000_000;

describe('loadSigningKeys', () => {
  it('loads a PKCS#8 PEM key and names it by its RFC 7638 thumbprint', async () => {
    const key = p256();
    const ring = await loadSigningKeys({ current: pkcs8Pem(key), previous: [], now: clock });
    const publicJwk = key.export({ format: 'jwk' });
    const { kty, crv, x, y } = publicJwk;
    expect(ring.current.kid).toBe(await calculateJwkThumbprint({ kty, crv, x, y } as never));
    expect(ring.current.alg).toBe('ES256');
    expect(ring.publicJwks().keys).toEqual([
      { kty: 'EC', crv: 'P-256', x, y, kid: ring.current.kid, alg: 'ES256', use: 'sig' },
    ]);
  });

  it('gives the same key the same kid whether mounted as PEM, SEC1 PEM or JWK', async () => {
    const key = p256();
    const sec1 = key.export({ type: 'sec1', format: 'pem' }) as string;
    const kids = await Promise.all(
      [pkcs8Pem(key), sec1, privateJwkText(key), `\n${privateJwkText(key)}\n`].map(
        async (text) =>
          (await loadSigningKeys({ current: text, previous: [], now: clock })).current.kid,
      ),
    );
    expect(new Set(kids).size).toBe(1);
  });

  it('signs with a key that verifies against the published JWKS', async () => {
    const ring = await loadSigningKeys({
      current: privateJwkText(p256()),
      previous: [],
      now: clock,
    });
    const token = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: ring.current.kid })
      .sign(ring.current.privateKey);
    const jwks = createLocalJWKSet({ keys: [...ring.publicJwks().keys] });
    await expect(compactVerify(token, jwks)).resolves.toBeDefined();
  });

  it('never publishes private key members', async () => {
    const ring = await loadSigningKeys({
      current: privateJwkText(p256()),
      previous: [privateJwkText(p256()), pkcs8Pem(p256())],
      now: clock,
    });
    const published = JSON.stringify(ring.publicJwks());
    expect(ring.publicJwks().keys).toHaveLength(3);
    for (const jwk of ring.publicJwks().keys) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    }
    expect(published).not.toContain('"d"');
  });

  it('publishes previous keys given as private or public keys, once each', async () => {
    const current = p256();
    const old = p256();
    const oldPublicPem = publicPem(old);
    const ring = await loadSigningKeys({
      current: pkcs8Pem(current),
      previous: [oldPublicPem, pkcs8Pem(old), pkcs8Pem(current)],
      now: clock,
    });
    const kids = ring.publicJwks().keys.map((jwk) => jwk.kid);
    expect(kids).toHaveLength(2);
    expect(kids[0]).toBe(ring.current.kid);
  });

  it('refuses an RSA key, naming the file and the key type', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const load = loadSigningKeys({
      current: { source: '/etc/gatehouse/signing/tls.key', text: pkcs8Pem(rsa) },
      previous: [],
      now: clock,
    });
    await expect(load).rejects.toThrow(SigningKeyError);
    await expect(load).rejects.toThrow(
      /^\/etc\/gatehouse\/signing\/tls\.key: is an rsa key; .*EC P-256/,
    );
  });

  it('refuses a P-384 key, also among the previous keys', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    await expect(
      loadSigningKeys({
        current: { source: 'key.json', text: privateJwkText(p384) },
        previous: [],
        now: clock,
      }),
    ).rejects.toThrow(/^key\.json: is an EC key on curve P-384 \(secp384r1\); .*P-256/);
    await expect(
      loadSigningKeys({ current: pkcs8Pem(p256()), previous: [pkcs8Pem(p384)], now: clock }),
    ).rejects.toThrow(/^previous signing key #1: is an EC key on curve P-384/);
  });

  it('refuses a public key or a JWK Set as the signing key', async () => {
    const key = p256();
    await expect(
      loadSigningKeys({
        current: { source: 'pub.pem', text: publicPem(key) },
        previous: [],
        now: clock,
      }),
    ).rejects.toThrow('pub.pem: is a public key; the signing key must be a private key');
    const { d: _d, ...publicJwk } = key.export({ format: 'jwk' });
    await expect(
      loadSigningKeys({ current: JSON.stringify(publicJwk), previous: [], now: clock }),
    ).rejects.toThrow(/is a public JWK/);
    await expect(
      loadSigningKeys({ current: JSON.stringify({ keys: [publicJwk] }), previous: [], now: clock }),
    ).rejects.toThrow(/not a JWK Set/);
  });

  it('never quotes key material in an error', async () => {
    const jwk = p256().export({ format: 'jwk' });
    const broken = JSON.stringify(jwk).slice(0, -2); // truncated: invalid JSON
    const error = await loadSigningKeys({ current: broken, previous: [], now: clock }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SigningKeyError);
    expect(String(error)).not.toContain(jwk.d);
    expect((error as Error).cause).toBeUndefined();
    await expect(
      loadSigningKeys({ current: 'not a key', previous: [], now: clock }),
    ).rejects.toThrow(/neither a PEM key .* nor a JWK/);
    await expect(
      loadSigningKeys({
        current: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
        previous: [],
        now: clock,
      }),
    ).rejects.toThrow(/current signing key: unreadable PEM key/);
  });

  it('requires a key unless generation is enabled, and warns when it generates one', async () => {
    await expect(loadSigningKeys({ current: null, previous: [], now: clock })).rejects.toThrow(
      /no identity assertion signing key/,
    );
    const { logger, lines } = recordingLogger();
    const ring = await loadSigningKeys({
      current: null,
      previous: [],
      generate: true,
      now: clock,
      logger,
    });
    expect(ring.publicJwks().keys.map((k) => k.kid)).toEqual([ring.current.kid]);
    const warning = lines.find((line) => line.level === 40);
    expect(warning?.msg).toMatch(/must refetch \/\.well-known\/jwks\.json after each restart/);
    const another = await loadSigningKeys({
      current: null,
      previous: [],
      generate: true,
      now: clock,
    });
    expect(another.current.kid).not.toBe(ring.current.kid);
  });

  it('prefers a mounted key over generation', async () => {
    const key = p256();
    const ring = await loadSigningKeys({
      current: pkcs8Pem(key),
      previous: [],
      generate: true,
      now: clock,
    });
    const mounted = await loadSigningKeys({ current: pkcs8Pem(key), previous: [], now: clock });
    expect(ring.current.kid).toBe(mounted.current.kid);
  });
});

describe('SigningKeyRing.rotate', () => {
  it('signs with the new key and keeps the old one published', async () => {
    const ring = await loadSigningKeys({ current: pkcs8Pem(p256()), previous: [], now: clock });
    const oldKid = ring.current.kid;
    const next = p256();
    await ring.rotate({ source: 'new.pem', text: pkcs8Pem(next) });
    expect(ring.current.kid).not.toBe(oldKid);
    expect(ring.publicJwks().keys.map((k) => k.kid)).toEqual([ring.current.kid, oldKid]);
    await ring.rotate(pkcs8Pem(next)); // the same key again: nothing changes
    expect(ring.publicJwks().keys).toHaveLength(2);
  });

  it('forgets retired keys once the retention window has passed', async () => {
    let now = 0;
    const ring = await loadSigningKeys({
      current: pkcs8Pem(p256()),
      previous: [],
      now: () => now,
      retentionMs: 60_000,
    });
    const first = ring.current.kid;
    await ring.rotate();
    const second = ring.current.kid;
    now = 30_000;
    await ring.rotate();
    expect(ring.publicJwks().keys.map((k) => k.kid)).toEqual([ring.current.kid, second, first]);
    now = 61_000; // `first` retired at 0, `second` at 30 s
    await ring.rotate();
    const kids = ring.publicJwks().keys.map((k) => k.kid);
    expect(kids).toHaveLength(3);
    expect(kids).not.toContain(first);
    expect(kids).toContain(second);
  });

  it('un-retires a key that becomes current again instead of listing it twice', async () => {
    const original = pkcs8Pem(p256());
    const ring = await loadSigningKeys({ current: original, previous: [], now: clock });
    const kid = ring.current.kid;
    await ring.rotate();
    await ring.rotate(original);
    expect(ring.current.kid).toBe(kid);
    expect(ring.publicJwks().keys.filter((k) => k.kid === kid)).toHaveLength(1);
    expect(ring.publicJwks().keys).toHaveLength(2);
  });

  it('refuses a bad new key and keeps signing with the current one', async () => {
    const ring = await loadSigningKeys({ current: pkcs8Pem(p256()), previous: [], now: clock });
    const before = ring.current.kid;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    await expect(ring.rotate({ source: 'next.pem', text: pkcs8Pem(p384) })).rejects.toThrow(
      /^next\.pem: .*P-384/,
    );
    expect(ring.current.kid).toBe(before);
    expect(ring.publicJwks().keys).toHaveLength(1);
  });

  it('retains by default for longer than a 60 s assertion plus a 300 s JWKS cache', () => {
    expect(defaultRetentionMs).toBeGreaterThanOrEqual((60 + 300) * 1000);
  });
});

describe('jwksDocument', () => {
  it('serves the public keys with a five-minute public cache', async () => {
    const ring = await loadSigningKeys({ current: null, previous: [], generate: true, now: clock });
    const doc = jwksDocument(ring);
    expect(jwksPath).toBe('/.well-known/jwks.json');
    expect(doc.cacheControl).toBe(jwksCacheControl);
    expect(doc.cacheControl).toBe('public, max-age=300');
    expect(doc.contentType).toBe('application/json');
    expect(JSON.parse(JSON.stringify(doc.body))).toEqual({ keys: [...ring.publicJwks().keys] });
  });
});

/** The SPKI `-----BEGIN PUBLIC KEY-----` PEM of a private key. */
function publicPem(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
}
