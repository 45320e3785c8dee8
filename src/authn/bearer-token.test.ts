import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuthRequest } from '../authz/auth-request.ts';
import { DependencyError } from '../errors.ts';
import type { AuthnResult } from './authenticator.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';
import {
  type BearerIssuer,
  BearerTokenAuthenticator,
  type BearerTokenAuthenticatorOptions,
} from './bearer-token.ts';

/**
 * A real identity provider stand-in: serves, per realm, an OIDC discovery document and a JWKS
 * from node:http on 127.0.0.1, with switches for the failure modes the authenticator must
 * survive.
 */
interface Realm {
  keys: JWK[];
  /** `issuer` claimed by the discovery document; defaults to the realm's real issuer. */
  discoveryIssuer?: string;
  mode: 'ok' | 'http-500' | 'bad-json' | 'hang';
}

interface IdpServer {
  readonly base: string;
  readonly realms: Map<string, Realm>;
  readonly hits: Map<string, number>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function idpServer(): IdpServer {
  const realms = new Map<string, Realm>();
  const hits = new Map<string, number>();
  let server: Server | undefined;
  let port = 0;
  const idp = {
    base: '',
    realms,
    hits,
    async start() {
      if (server !== undefined) return;
      server = createServer((req, res) => {
        const path = req.url ?? '/';
        hits.set(path, (hits.get(path) ?? 0) + 1);
        const [, realmName, ...rest] = path.split('/');
        const realm = realms.get(realmName ?? '');
        const resource = rest.join('/');
        if (realm === undefined) return void res.writeHead(404).end();
        if (realm.mode === 'hang') return; // never answers: only the client's timeout ends it
        if (realm.mode === 'http-500') return void res.writeHead(500).end('oops');
        res.setHeader('content-type', 'application/json');
        if (realm.mode === 'bad-json') return void res.end('{"keys": [');
        if (resource === '.well-known/openid-configuration') {
          const issuer = `${idp.base}/${realmName}`;
          return void res.end(
            JSON.stringify({ issuer: realm.discoveryIssuer ?? issuer, jwks_uri: `${issuer}/jwks` }),
          );
        }
        if (resource === 'jwks') return void res.end(JSON.stringify({ keys: realm.keys }));
        res.writeHead(404).end();
      });
      const listening = server;
      await new Promise<void>((resolve) => listening.listen(port, '127.0.0.1', resolve));
      port = (listening.address() as AddressInfo).port;
      idp.base = `http://127.0.0.1:${port}`;
    },
    async stop() {
      const closing = server;
      if (closing === undefined) return;
      server = undefined;
      closing.closeAllConnections();
      await new Promise<void>((resolve) => {
        closing.close(() => {
          resolve();
        });
      });
    },
  };
  return idp;
}

const T0 = 1_800_000_000; // epoch seconds of the injected clock's start
let clockMs = T0 * 1000;
const now = (): number => clockMs;

let rsa: { publicKey: CryptoKey; privateKey: CryptoKey };
let ec: { publicKey: CryptoKey; privateKey: CryptoKey };
let impostor: { publicKey: CryptoKey; privateKey: CryptoKey };
let rsaJwk: JWK;
let ecJwk: JWK;

const idp = idpServer();
const fetched: string[] = [];
const countingFetch: typeof fetch = (input, init) => {
  fetched.push(input instanceof Request ? input.url : String(input));
  return fetch(input, init);
};
const fetchesOf = (suffix: string): number => fetched.filter((u) => u.endsWith(suffix)).length;

const corpIssuer = (): string => `${idp.base}/corp`;
const partnerIssuer = (): string => `${idp.base}/partner`;

/** `corp` uses discovery, Keycloak-style claims; `partner` an explicit JWKS and custom names. */
function issuers(): BearerIssuer[] {
  return [
    {
      name: 'corp',
      issuer: corpIssuer(),
      audiences: ['gatehouse', 'api'],
      algorithms: ['RS256', 'ES256'],
      clockSkewSeconds: 30,
      claims: {
        username: 'preferred_username',
        email: 'email',
        groups: 'realm_access.roles',
        name: 'name',
      },
    },
    {
      name: 'partner',
      issuer: partnerIssuer(),
      jwksUri: `${partnerIssuer()}/jwks`,
      audiences: ['gatehouse'],
      algorithms: ['ES256'],
      clockSkewSeconds: 0,
      claims: { username: 'upn', email: 'mail', groups: 'grp', name: 'displayName' },
    },
  ];
}

function authenticator(
  overrides: Partial<BearerTokenAuthenticatorOptions> = {},
): BearerTokenAuthenticator {
  return new BearerTokenAuthenticator({
    issuers: issuers(),
    cache: { enabled: true, maxEntries: 100 },
    fetch: countingFetch,
    now,
    jwksTimeoutMs: 1000,
    jwksCooldownMs: 0,
    ...overrides,
  });
}

const request = (authorization?: string): AuthRequest =>
  authRequest({
    host: 'app.example.com',
    clientIp: '10.0.0.1',
    acceptsRedirect: false,
    ...(authorization === undefined ? {} : { authorization }),
  });

interface SignOptions {
  key?: CryptoKey;
  alg?: string;
  kid?: string;
  iss?: string;
}

async function sign(claims: JWTPayload, options: SignOptions = {}): Promise<string> {
  const alg = options.alg ?? 'RS256';
  return new SignJWT({
    iss: options.iss ?? corpIssuer(),
    aud: 'gatehouse',
    sub: 'user-1',
    iat: T0,
    exp: T0 + 300,
    ...claims,
  })
    .setProtectedHeader({ alg, kid: options.kid ?? (alg === 'ES256' ? 'ec-1' : 'rsa-1') })
    .sign(options.key ?? (alg === 'ES256' ? ec.privateKey : rsa.privateKey));
}

function unsecuredJwt(payload: JWTPayload, header: Record<string, unknown>): string {
  const part = (value: unknown): string => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.`;
}

function expectRejected(result: AuthnResult, code: string): void {
  expect(result).toMatchObject({ kind: 'rejected', code });
  if (result.kind === 'rejected') {
    expect(result.challenge).toMatch(/^Bearer error="invalid_token", error_description="[^"\\]+"$/);
  }
}

beforeAll(async () => {
  rsa = await generateKeyPair('RS256');
  ec = await generateKeyPair('ES256');
  impostor = await generateKeyPair('RS256');
  rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
  await idp.start();
});

afterAll(async () => {
  await idp.stop();
});

beforeEach(() => {
  clockMs = T0 * 1000;
  fetched.length = 0;
  idp.realms.set('corp', { keys: [rsaJwk, ecJwk], mode: 'ok' });
  idp.realms.set('partner', { keys: [ecJwk], mode: 'ok' });
});

describe('BearerTokenAuthenticator: credentials it does not own', () => {
  it('is absent without an Authorization header or with another scheme', async () => {
    const auth = authenticator();
    expect(await auth.authenticate(request())).toEqual({ kind: 'absent' });
    expect(await auth.authenticate(request('Basic YWxpY2U6c2VjcmV0'))).toEqual({ kind: 'absent' });
    expect(await auth.authenticate(request('Bearerish abc.def.ghi'))).toEqual({ kind: 'absent' });
  });

  it('rejects a Bearer header whose token is empty, not a JWT or oversized', async () => {
    const auth = authenticator();
    expectRejected(await auth.authenticate(request('Bearer')), 'malformed');
    expectRejected(await auth.authenticate(request('Bearer   ')), 'malformed');
    expectRejected(await auth.authenticate(request('Bearer opaque-token')), 'malformed');
    expectRejected(await auth.authenticate(request('Bearer a.b.c.d')), 'malformed');
    expectRejected(await auth.authenticate(request('Bearer a+b.c/d.e')), 'malformed');
    const padding = 'A'.repeat(9000);
    const big = await sign({ padding });
    expectRejected(await auth.authenticate(request(`Bearer ${big}`)), 'malformed');
    expect(fetched).toEqual([]);
  });

  it('rejects a well-shaped token whose parts are not JSON', async () => {
    const auth = authenticator();
    expectRejected(await auth.authenticate(request('Bearer aaaa.bbbb.cccc')), 'malformed');
  });
});

describe('BearerTokenAuthenticator: valid tokens', () => {
  it('accepts an RS256 token found through discovery and maps its claims', async () => {
    const token = await sign({
      preferred_username: 'alice',
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Liddell',
      realm_access: { roles: ['shop-admin', 'dev', 3] },
    });
    // Case-insensitive scheme, RFC 6750 §2.1 / RFC 9110 §11.1.
    const result = await authenticator().authenticate(request(`bearer ${token}`));
    expect(result.kind).toBe('identified');
    if (result.kind !== 'identified') return;
    expect(result.identity).toMatchObject({
      subject: 'user-1',
      user: 'alice',
      email: 'alice@example.com',
      name: 'Alice Liddell',
      preferredUsername: 'alice',
      groups: ['shop-admin', 'dev'],
      provider: 'corp',
      method: 'bearer',
      expiresAt: T0 + 300,
    });
    expect(result.identity.claims).toMatchObject({ iss: corpIssuer(), sub: 'user-1' });
    expect(fetchesOf('/corp/.well-known/openid-configuration')).toBe(1);
    expect(fetchesOf('/corp/jwks')).toBe(1);
  });

  it('accepts an ES256 token from an explicit JWKS with custom claim names', async () => {
    const token = await sign(
      {
        aud: ['other', 'gatehouse'],
        upn: 'bob',
        mail: 'bob@partner.example',
        email_verified: true,
        grp: 'ops, dev qa',
      },
      { alg: 'ES256', iss: partnerIssuer() },
    );
    const result = await authenticator().authenticate(request(`Bearer ${token}`));
    expect(result).toMatchObject({
      kind: 'identified',
      identity: {
        user: 'bob',
        email: 'bob@partner.example',
        // One string is one group unless claims.groupsSeparator names a separator.
        groups: ['ops, dev qa'],
        provider: 'partner',
      },
    });
    expect(fetchesOf('openid-configuration')).toBe(0);
  });

  it('accepts any of the configured audiences', async () => {
    const token = await sign({ aud: 'api' });
    expect((await authenticator().authenticate(request(`Bearer ${token}`))).kind).toBe(
      'identified',
    );
  });

  // Issue 15, finding 8: a policy narrows the audiences per host (authz/decide.ts), so the
  // identity keeps the token's `aud`, one string or a list.
  it('keeps the token’s audiences on the identity', async () => {
    for (const [aud, expected] of [
      ['api', ['api']],
      [
        ['api', 'elsewhere'],
        ['api', 'elsewhere'],
      ],
    ] as const) {
      const result = await authenticator().authenticate(
        request(`Bearer ${await sign({ aud: aud as string | string[], sub: 'aud-test' })}`),
      );
      expect(result.kind === 'identified' ? result.identity.audiences : null).toEqual(expected);
    }
  });

  it('reads the organisation from claims.organisation when configured', async () => {
    const [corp, partner] = issuers();
    const withOrganisation = authenticator({
      issuers: [{ ...corp!, claims: { ...corp!.claims, organisation: 'org.name' } }, partner!],
    });
    const result = await withOrganisation.authenticate(
      request(`Bearer ${await sign({ org: { name: 'PSC' }, sub: 'org-test' })}`),
    );
    expect(result.kind === 'identified' ? result.identity.organisation : null).toBe('PSC');
    const without = await authenticator().authenticate(
      request(`Bearer ${await sign({ org: { name: 'PSC' }, sub: 'org-test-2' })}`),
    );
    expect(without.kind === 'identified' ? without.identity.organisation : null).toBeUndefined();
  });
});

describe('BearerTokenAuthenticator: refused tokens', () => {
  it('refuses alg none without fetching keys', async () => {
    const token = unsecuredJwt(
      { iss: corpIssuer(), aud: 'gatehouse', sub: 'admin', exp: T0 + 300 },
      { alg: 'none', typ: 'JWT' },
    );
    expectRejected(
      await authenticator().authenticate(request(`Bearer ${token}`)),
      'algorithm-not-allowed',
    );
    expect(fetched).toEqual([]);
  });

  it('refuses HS256 signed with the public key as secret (algorithm confusion)', async () => {
    const auth = authenticator();
    const pem = await exportSPKI(rsa.publicKey);
    const secrets = [
      new TextEncoder().encode(pem),
      new TextEncoder().encode(JSON.stringify(rsaJwk)),
    ];
    for (const secret of secrets) {
      const token = await new SignJWT({
        iss: corpIssuer(),
        aud: 'gatehouse',
        sub: 'admin',
        exp: T0 + 300,
      })
        .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
        .sign(secret);
      expectRejected(await auth.authenticate(request(`Bearer ${token}`)), 'algorithm-not-allowed');
    }
  });

  it('refuses to be configured with shared-secret or no-signature algorithms', () => {
    for (const alg of ['HS256', 'none']) {
      const [corp] = issuers();
      expect(
        () =>
          new BearerTokenAuthenticator({
            issuers: [{ ...corp!, algorithms: ['RS256', alg] }],
            cache: { enabled: false, maxEntries: 1 },
          }),
      ).toThrow(/not allowed/);
    }
  });

  it('refuses an algorithm that is asymmetric but not in the issuer list', async () => {
    const token = await sign({}, { iss: partnerIssuer() }); // RS256, partner allows ES256 only
    expectRejected(
      await authenticator().authenticate(request(`Bearer ${token}`)),
      'algorithm-not-allowed',
    );
  });

  it('refuses a token signed by another key under a trusted kid', async () => {
    const token = await sign({}, { key: impostor.privateKey });
    expectRejected(await authenticator().authenticate(request(`Bearer ${token}`)), 'bad-signature');
  });

  it('refuses a token from an issuer that is not configured, without fetching', async () => {
    const token = await sign({}, { key: impostor.privateKey, iss: 'https://evil.example' });
    const result = await authenticator().authenticate(request(`Bearer ${token}`));
    expectRejected(result, 'unknown-issuer');
    expect(fetched).toEqual([]);
    if (result.kind === 'rejected') expect(result.challenge).not.toContain(token);
  });

  it('refuses a token for another audience', async () => {
    const token = await sign({ aud: 'someone-else' });
    expectRejected(
      await authenticator().authenticate(request(`Bearer ${token}`)),
      'wrong-audience',
    );
  });

  it('refuses a token without sub, aud or exp', async () => {
    const auth = authenticator();
    for (const claim of ['sub', 'aud', 'exp'] as const) {
      const token = await sign({ [claim]: undefined });
      expectRejected(await auth.authenticate(request(`Bearer ${token}`)), 'missing-claim');
    }
  });

  it('refuses an expired token beyond the clock skew, accepts one inside it', async () => {
    const auth = authenticator();
    const expired = await sign({ exp: T0 - 31 });
    expectRejected(await auth.authenticate(request(`Bearer ${expired}`)), 'expired');
    const justExpired = await sign({ exp: T0 - 20 });
    expect((await auth.authenticate(request(`Bearer ${justExpired}`))).kind).toBe('identified');
  });

  it('refuses a token not valid yet beyond the clock skew, accepts one inside it', async () => {
    const auth = authenticator();
    const future = await sign({ nbf: T0 + 31 });
    expectRejected(await auth.authenticate(request(`Bearer ${future}`)), 'not-yet-valid');
    const almost = await sign({ nbf: T0 + 20 });
    expect((await auth.authenticate(request(`Bearer ${almost}`))).kind).toBe('identified');
  });
});

describe('BearerTokenAuthenticator: keys', () => {
  it('refuses an unknown kid after at most one refetch', async () => {
    const auth = authenticator();
    expect((await auth.authenticate(request(`Bearer ${await sign({})}`))).kind).toBe('identified');
    expect(fetchesOf('/corp/jwks')).toBe(1);
    const stranger = await sign({}, { key: impostor.privateKey, kid: 'who-knows' });
    expectRejected(await auth.authenticate(request(`Bearer ${stranger}`)), 'unknown-key');
    expect(fetchesOf('/corp/jwks')).toBe(2);
  });

  it('does not refetch for unknown kids during the refetch cooldown', async () => {
    const auth = authenticator({ jwksCooldownMs: 60_000 });
    await auth.authenticate(request(`Bearer ${await sign({})}`));
    for (const kid of ['k1', 'k2', 'k3']) {
      const token = await sign({}, { key: impostor.privateKey, kid });
      expectRejected(await auth.authenticate(request(`Bearer ${token}`)), 'unknown-key');
    }
    expect(fetchesOf('/corp/jwks')).toBe(1);
  });

  it('picks up a rotated-in key with one refetch', async () => {
    const auth = authenticator();
    expect((await auth.authenticate(request(`Bearer ${await sign({})}`))).kind).toBe('identified');
    const next = await generateKeyPair('RS256');
    const nextJwk = { ...(await exportJWK(next.publicKey)), kid: 'rsa-2', alg: 'RS256' };
    idp.realms.get('corp')!.keys.push(nextJwk);
    const rotated = await sign({ sub: 'user-2' }, { key: next.privateKey, kid: 'rsa-2' });
    expect(await auth.authenticate(request(`Bearer ${rotated}`))).toMatchObject({
      kind: 'identified',
      identity: { subject: 'user-2' },
    });
    expect(fetchesOf('/corp/jwks')).toBe(2);
  });

  it('refuses keys from a discovery document that names another issuer', async () => {
    idp.realms.get('corp')!.discoveryIssuer = 'https://login.evil.example';
    const result = authenticator().authenticate(request(`Bearer ${await sign({})}`));
    await expect(result).rejects.toBeInstanceOf(DependencyError);
    await expect(result).rejects.toMatchObject({ dependency: 'jwks', status: 503 });
    expect(fetchesOf('/corp/jwks')).toBe(0);
  });

  it('fails closed on an HTTP 500 or invalid JSON from the JWKS endpoint', async () => {
    for (const mode of ['http-500', 'bad-json'] as const) {
      idp.realms.get('partner')!.mode = mode;
      const token = await sign({}, { alg: 'ES256', iss: partnerIssuer() });
      await expect(authenticator().authenticate(request(`Bearer ${token}`))).rejects.toBeInstanceOf(
        DependencyError,
      );
    }
  });
});

describe('BearerTokenAuthenticator: identity provider outage', () => {
  const down = idpServer();

  beforeEach(async () => {
    await down.start(); // a test may have left it stopped
  });

  afterAll(async () => {
    await down.stop();
  });

  function outageAuthenticator(
    options: { timeoutMs?: number; discovery?: boolean } = {},
  ): BearerTokenAuthenticator {
    return new BearerTokenAuthenticator({
      issuers: [
        {
          name: 'flaky',
          issuer: `${down.base}/flaky`,
          ...(options.discovery === true ? {} : { jwksUri: `${down.base}/flaky/jwks` }),
          audiences: ['gatehouse'],
          algorithms: ['RS256'],
          clockSkewSeconds: 0,
          claims: { username: 'sub', email: 'email', groups: 'groups', name: 'name' },
        },
      ],
      cache: { enabled: true, maxEntries: 10 },
      fetch: countingFetch,
      now,
      jwksTimeoutMs: options.timeoutMs ?? 1000,
      jwksFailureCooldownMs: 5000,
    });
  }

  const flakyToken = (): Promise<string> => sign({}, { iss: `${down.base}/flaky` });

  it.each([
    ['the JWKS endpoint', false],
    ['the discovery endpoint', true],
  ])(
    'fails closed and fast while %s is down, and recovers after the cooldown',
    async (_, discovery) => {
      down.realms.set('flaky', { keys: [rsaJwk], mode: 'ok' });
      const auth = outageAuthenticator({ discovery });
      const token = await flakyToken();
      await down.stop(); // connection refused from now on

      await expect(auth.authenticate(request(`Bearer ${token}`))).rejects.toBeInstanceOf(
        DependencyError,
      );
      const attempts = fetched.length;
      expect(attempts).toBe(1);

      const started = performance.now();
      await expect(auth.authenticate(request(`Bearer ${token}`))).rejects.toBeInstanceOf(
        DependencyError,
      );
      expect(performance.now() - started).toBeLessThan(250);
      expect(fetched.length).toBe(attempts); // remembered, not retried

      await down.start(); // same port again
      clockMs += 5000;
      expect((await auth.authenticate(request(`Bearer ${token}`))).kind).toBe('identified');
    },
  );

  it('waits for the timeout once, then fails at once for the rest of the burst', async () => {
    down.realms.set('flaky', { keys: [rsaJwk], mode: 'hang' });
    const auth = outageAuthenticator({ timeoutMs: 300 });
    const token = await flakyToken();

    let started = performance.now();
    await expect(auth.authenticate(request(`Bearer ${token}`))).rejects.toBeInstanceOf(
      DependencyError,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);

    started = performance.now();
    const burst = await Promise.allSettled(
      Array.from({ length: 20 }, async () => auth.authenticate(request(`Bearer ${token}`))),
    );
    expect(performance.now() - started).toBeLessThan(250);
    for (const outcome of burst) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(DependencyError);
    }
    expect(fetched.length).toBe(1);
  });

  it('keeps verifying with cached keys while the endpoint is down', async () => {
    down.realms.set('flaky', { keys: [rsaJwk], mode: 'ok' });
    const auth = outageAuthenticator();
    expect((await auth.authenticate(request(`Bearer ${await flakyToken()}`))).kind).toBe(
      'identified',
    );
    down.realms.get('flaky')!.mode = 'http-500';
    const another = await sign({ sub: 'user-9' }, { iss: `${down.base}/flaky` });
    expect((await auth.authenticate(request(`Bearer ${another}`))).kind).toBe('identified');
  });
});

describe('BearerTokenAuthenticator: verified-token cache', () => {
  // cacheMaxAge 0 makes jose fetch the JWKS on every verification, so the JWKS request count
  // equals the number of verifications actually performed.
  const verifications = (): number => fetchesOf('/corp/jwks');

  it('verifies the same token once while it is cached', async () => {
    const auth = authenticator({ jwksCacheMaxAgeMs: 0 });
    const token = await sign({ preferred_username: 'alice' });
    const first = await auth.authenticate(request(`Bearer ${token}`));
    const second = await auth.authenticate(request(`Bearer ${token}`));
    expect(second).toEqual(first);
    expect(verifications()).toBe(1);
  });

  it('verifies every time when the cache is disabled', async () => {
    const auth = authenticator({ jwksCacheMaxAgeMs: 0, cache: { enabled: false, maxEntries: 1 } });
    const token = await sign({});
    await auth.authenticate(request(`Bearer ${token}`));
    await auth.authenticate(request(`Bearer ${token}`));
    expect(verifications()).toBe(2);
  });

  it('never serves a cached token past its exp', async () => {
    const auth = authenticator({ jwksCacheMaxAgeMs: 0 });
    const token = await sign({ exp: T0 + 60 });
    expect((await auth.authenticate(request(`Bearer ${token}`))).kind).toBe('identified');
    clockMs = (T0 + 60 + 31) * 1000; // past exp and the 30 s skew
    expectRejected(await auth.authenticate(request(`Bearer ${token}`)), 'expired');
    expect(verifications()).toBe(2);
  });

  it('drops the cached entry at exp even while the skew would still accept it', async () => {
    const auth = authenticator({ jwksCacheMaxAgeMs: 0 });
    const token = await sign({ exp: T0 + 60 });
    await auth.authenticate(request(`Bearer ${token}`));
    clockMs = (T0 + 60) * 1000;
    expect((await auth.authenticate(request(`Bearer ${token}`))).kind).toBe('identified');
    expect(verifications()).toBe(2); // re-verified, not served from the cache
  });

  it('does not cache failures', async () => {
    const auth = authenticator({ jwksCacheMaxAgeMs: 0 });
    const token = await sign({ aud: 'someone-else' });
    expectRejected(await auth.authenticate(request(`Bearer ${token}`)), 'wrong-audience');
    expectRejected(await auth.authenticate(request(`Bearer ${token}`)), 'wrong-audience');
    expect(verifications()).toBe(2);
  });
});
