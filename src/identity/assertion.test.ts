import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Identity } from '../authz/identity.ts';
import {
  AssertionSigner,
  type AssertionInput,
  AssertionSigningError,
  maxAssertionTtlSeconds,
} from './assertion.ts';
import { loadSigningKeys, type SigningKeyRing } from './signing-keys.ts';

const issuer = 'https://auth.example.com';
const start = Date.UTC(2030, 0, 1, 12, 0, 0);

const alice: Identity = {
  subject: 'a1b2c3',
  user: 'alice',
  email: 'alice@example.com',
  name: 'Alice Liddell',
  groups: ['shop-operators', 'staff'],
  claims: {},
  provider: 'corp',
  method: 'session',
  sessionId: 'sess-hash-1',
};

const input: AssertionInput = {
  identity: alice,
  roles: ['guest', 'authenticated', 'shop-admin'],
  host: 'shop.example.com',
};

let now: number;
let ring: SigningKeyRing;
let signings: number;

function signer(options: { ttlSeconds?: number; maxCachedAssertions?: number } = {}) {
  return new AssertionSigner({
    keys: ring,
    issuer,
    now: () => now,
    randomId: () => `jti-${++signings}`,
    ...options,
  });
}

/** Verifies as an upstream would: pinned algorithm, issuer and audience, at the signer's time. */
async function verify(token: string, audience = input.host, at = now) {
  const jwks = createLocalJWKSet({ keys: [...ring.publicJwks().keys] });
  return jwtVerify(token, jwks, {
    issuer,
    audience,
    algorithms: ['ES256'],
    currentDate: new Date(at),
  });
}

beforeEach(async () => {
  now = start;
  signings = 0;
  ring = await loadSigningKeys({ current: null, previous: [], generate: true, now: () => now });
});

describe('AssertionSigner', () => {
  it('signs an ES256 JWT that an upstream verifies, with the identity claims', async () => {
    const token = await signer().assertionFor(input);
    const { payload, protectedHeader } = await verify(token);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: ring.current.kid, typ: 'JWT' });
    expect(payload).toEqual({
      iss: issuer,
      aud: 'shop.example.com',
      sub: 'a1b2c3',
      preferred_username: 'alice',
      gatehouse_source: 'provider/corp',
      email: 'alice@example.com',
      name: 'Alice Liddell',
      groups: ['shop-operators', 'staff'],
      roles: ['guest', 'authenticated', 'shop-admin'],
      sid: 'sess-hash-1',
      iat: start / 1000,
      exp: start / 1000 + 60,
      jti: 'jti-1',
    } satisfies JWTPayload);
  });

  it('is refused by an upstream at another host', async () => {
    const token = await signer().assertionFor(input);
    await expect(verify(token, 'admin.example.com')).rejects.toThrow(
      errors.JWTClaimValidationFailed,
    );
  });

  it('is refused once expired', async () => {
    const token = await signer().assertionFor(input);
    await expect(verify(token, input.host, start + 61_000)).rejects.toThrow(errors.JWTExpired);
  });

  it('lives at most 60 seconds, and a longer TTL is refused at start', async () => {
    const { payload } = await verify(await signer({ ttlSeconds: 20 }).assertionFor(input));
    expect(payload.exp! - payload.iat!).toBe(20);
    expect(maxAssertionTtlSeconds).toBe(60);
    expect(() => signer({ ttlSeconds: 61 })).toThrow(RangeError);
    expect(() => signer({ ttlSeconds: 0 })).toThrow(RangeError);
    expect(() => signer({ ttlSeconds: 1.5 })).toThrow(RangeError);
  });

  it('never outlives the identity it vouches for', async () => {
    const identity = { ...alice, method: 'bearer' as const, expiresAt: start / 1000 + 10 };
    const { payload } = await verify(await signer().assertionFor({ ...input, identity }));
    expect(payload.exp).toBe(start / 1000 + 10);
  });

  it('leaves out email, name and sid when unknown, and never sends an empty sid', async () => {
    const { email: _e, name: _n, sessionId: _s, ...rest } = alice;
    const identity: Identity = { ...rest, method: 'bearer' };
    const { payload } = await verify(await signer().assertionFor({ ...input, identity }));
    expect(payload).not.toHaveProperty('email');
    expect(payload).not.toHaveProperty('name');
    expect(payload).not.toHaveProperty('sid');
    expect(payload.groups).toEqual(alice.groups);
  });

  it('takes sid from the session key when given', async () => {
    const { payload } = await verify(
      await signer().assertionFor({ ...input, sessionKey: 'other-hash' }),
    );
    expect(payload.sid).toBe('other-hash');
  });

  it('names the real user in `act` when impersonating (RFC 8693 §4.1)', async () => {
    const s = signer();
    const { payload } = await verify(await s.assertionFor({ ...input, actor: 'root-admin' }));
    expect(payload.sub).toBe('a1b2c3');
    expect(payload.act).toEqual({ sub: 'root-admin' });
    const plain = await verify(await s.assertionFor(input));
    expect(plain.payload).not.toHaveProperty('act');
  });

  it('names the user (`preferred_username`) and the source of the identity', async () => {
    const s = signer();
    const session = await verify(await s.assertionFor(input));
    // The Remote-User name, so an upstream can map the verified assertion to its user table.
    expect(session.payload.preferred_username).toBe('alice');
    expect(session.payload.gatehouse_source).toBe('provider/corp');
    const sources: [Identity['method'], string, string][] = [
      ['bearer', 'machines', 'issuer/machines'],
      ['header', 'preauth', 'preauth'],
      ['basic', 'htpasswd', 'basic'],
    ];
    for (const [method, provider, source] of sources) {
      const identity: Identity = { ...alice, method, provider, user: `${method}-user` };
      const { payload } = await verify(await s.assertionFor({ ...input, identity }));
      expect(payload.preferred_username).toBe(`${method}-user`);
      expect(payload.gatehouse_source).toBe(source);
    }
  });

  it('signs anew when only the user name changes (never a stale name)', async () => {
    const s = signer();
    await s.assertionFor(input);
    const renamed = { ...input, identity: { ...alice, user: 'alice.liddell' } };
    const { payload } = await verify(await s.assertionFor(renamed));
    expect(payload.preferred_username).toBe('alice.liddell');
  });

  it('carries non-ASCII names and groups unchanged (JSON, not header encoding)', async () => {
    const identity = { ...alice, name: 'Zoë Ñandú 山田', groups: ['R&D, Paris', 'Ingénierie'] };
    const { payload } = await verify(await signer().assertionFor({ ...input, identity }));
    expect(payload.name).toBe('Zoë Ñandú 山田');
    expect(payload.groups).toEqual(['R&D, Paris', 'Ingénierie']);
  });
});

describe('AssertionSigner cache', () => {
  it('reuses one assertion until the refresh margin, then signs a new one', async () => {
    const s = signer(); // ttl 60 s, margin 15 s: reused for 45 s
    expect(s.refreshMarginSeconds).toBe(15);
    expect(s.cachedAssertion(input)).toBeUndefined();
    const first = await s.assertionFor(input);
    expect(s.cachedAssertion(input)).toBe(first);
    now = start + 44_999;
    expect(await s.assertionFor(input)).toBe(first);
    expect(signings).toBe(1);
    now = start + 45_000;
    expect(s.cachedAssertion(input)).toBeUndefined();
    const second = await s.assertionFor(input);
    expect(second).not.toBe(first);
    expect(signings).toBe(2);
    // Whatever the cache hands out still has at least the margin left before `exp`.
    await expect(verify(second, input.host, now + 15_000 - 1)).resolves.toBeDefined();
  });

  it('uses a margin of at least 5 seconds for short TTLs', () => {
    expect(signer({ ttlSeconds: 10 }).refreshMarginSeconds).toBe(5);
    expect(signer({ ttlSeconds: 5 }).refreshMarginSeconds).toBe(5);
  });

  it('signs separately per host, session, actor and roles', async () => {
    const s = signer();
    const base = await s.assertionFor(input);
    const variants = [
      { ...input, host: 'admin.example.com' },
      { ...input, sessionKey: 'sess-hash-2' },
      { ...input, actor: 'root-admin' },
      { ...input, roles: ['guest', 'authenticated'] },
    ];
    const tokens = await Promise.all(variants.map((variant) => s.assertionFor(variant)));
    expect(new Set([base, ...tokens]).size).toBe(5);
    const { payload } = await verify(tokens[0]!, 'admin.example.com');
    expect(payload.aud).toBe('admin.example.com');
  });

  it('never serves an assertion with stale groups or email', async () => {
    const s = signer();
    await s.assertionFor(input);
    const changed = { ...input, identity: { ...alice, groups: ['staff'] } };
    expect(s.cachedAssertion(changed)).toBeUndefined();
    const { payload } = await verify(await s.assertionFor(changed));
    expect(payload.groups).toEqual(['staff']);
  });

  it('signs once for concurrent first requests', async () => {
    const s = signer();
    const tokens = await Promise.all([
      s.assertionFor(input),
      s.assertionFor(input),
      s.assertionFor(input),
    ]);
    expect(new Set(tokens).size).toBe(1);
    expect(signings).toBe(1);
  });

  it('stays bounded', async () => {
    const s = signer({ maxCachedAssertions: 2 });
    const first = await s.assertionFor({ ...input, host: 'a.example.com' });
    await s.assertionFor({ ...input, host: 'b.example.com' });
    await s.assertionFor({ ...input, host: 'c.example.com' });
    expect(s.cachedAssertion({ ...input, host: 'a.example.com' })).toBeUndefined();
    expect(await s.assertionFor({ ...input, host: 'a.example.com' })).not.toBe(first);
  });
});

describe('AssertionSigner across key rotation', () => {
  it('keeps old assertions verifiable and signs new ones with the new key', async () => {
    const s = signer();
    const before = await s.assertionFor(input);
    const oldKid = ring.current.kid;
    now = start + 1_000;
    await ring.rotate();
    expect(decodeProtectedHeader(before).kid).toBe(oldKid);
    await expect(verify(before)).resolves.toBeDefined(); // previous key still published
    const after = await s.assertionFor(input);
    expect(after).not.toBe(before);
    expect(decodeProtectedHeader(after).kid).toBe(ring.current.kid);
    expect(ring.current.kid).not.toBe(oldKid);
    await expect(verify(after)).resolves.toBeDefined();
  });
});

describe('AssertionSigner failures', () => {
  it('throws a typed, unexposed 500 when jose cannot sign', async () => {
    const { publicKey } = await crypto.subtle.generateKey(
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['sign', 'verify'],
    );
    const broken = new AssertionSigner({
      keys: { current: { kid: 'k', alg: 'ES256', privateKey: publicKey } },
      issuer,
      now: () => now,
    });
    const error = await broken.assertionFor(input).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AssertionSigningError);
    expect(error).toMatchObject({ code: 'assertion-signing-failed', status: 500, expose: false });
    expect(broken.cachedAssertion(input)).toBeUndefined();
  });
});
