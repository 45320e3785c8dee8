import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import { parseTicket } from '../../../src/sessions/ticket.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  check,
  devClient,
  flushPrefix,
  providerOptions,
  redisStore,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  type Gatehouse,
} from './harness.ts';

const prefix = `gatehouse-test:sign-in-bclo:${randomUUID()}:`;
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

describe('back-channel logout (Redis store)', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;

  beforeAll(async () => {
    const reserved = await reserveServer();
    idp = await startProvider([devClient(reserved)]);
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 3000),
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
    await flushPrefix(prefix);
  });

  async function signedInCookie(username: string): Promise<string> {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, username);
    const cookie = jar.cookieHeader(gatehouse.url)!;
    expect((await check(gatehouse, cookie)).status).toBe(200);
    return cookie;
  }

  function post(
    body: string,
    contentType = 'application/x-www-form-urlencoded',
  ): Promise<Response> {
    return fetch(`${gatehouse.url}/oauth2/backchannel_logout`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
  }

  function postToken(token: string): Promise<Response> {
    return post(new URLSearchParams({ logout_token: token }).toString());
  }

  interface Forge {
    claims?: Record<string, unknown>;
    omit?: string[];
    key?: CryptoKey | Uint8Array;
    alg?: string;
    typ?: string;
  }

  async function forge(options: Forge = {}): Promise<string> {
    const claims: Record<string, unknown> = {
      iss: idp.issuer,
      aud: 'gatehouse',
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 120,
      jti: randomUUID(),
      sub: 'bob-0002',
      events: { [EVENT]: {} },
      ...options.claims,
    };
    const omitted = new Set(options.omit ?? []);
    return new SignJWT(
      Object.fromEntries(Object.entries(claims).filter(([name]) => !omitted.has(name))),
    )
      .setProtectedHeader({
        alg: options.alg ?? 'RS256',
        kid: idp.keys.rs256.kid,
        typ: options.typ ?? 'logout+jwt',
      })
      .sign(options.key ?? idp.keys.rs256.privateKey);
  }

  it('ends the sessions of a user the provider signs out, on its own request', async () => {
    const cookie = await signedInCookie('alice');
    const deliveries = await idp.signOutUser('alice-0001');
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.every((delivery) => delivery.ok)).toBe(true);
    expect((await check(gatehouse, cookie)).status).toBe(401);
    expect(
      await gatehouse.metrics.registry.getSingleMetricAsString(
        'gatehouse_session_revocations_total',
      ),
    ).toMatch(/source="backchannel"} [1-9]/);
  });

  it('refuses forged, replayed and malformed logout tokens, and keeps the session', async () => {
    const cookie = await signedInCookie('bob');
    const { privateKey: otherKey } = await generateKeyPair('RS256');
    const unsigned = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: 'logout+jwt' })).toString('base64url'),
      Buffer.from(
        JSON.stringify({
          iss: idp.issuer,
          aud: 'gatehouse',
          iat: Math.floor(Date.now() / 1000),
          jti: randomUUID(),
          sub: 'bob-0002',
          events: { [EVENT]: {} },
        }),
      ).toString('base64url'),
      '',
    ].join('.');
    const refused: [string, string][] = [
      ['unsigned (alg none)', unsigned],
      ['signed by another key', await forge({ key: otherKey })],
      [
        'HS256 with the client secret',
        await forge({
          alg: 'HS256',
          key: new TextEncoder().encode('gatehouse-secret-gatehouse-secret'),
        }),
      ],
      ['for another audience', await forge({ claims: { aud: 'other-client' } })],
      ['from another issuer', await forge({ claims: { iss: 'https://evil.example' } })],
      ['with a nonce', await forge({ claims: { nonce: 'n' } })],
      ['without events', await forge({ omit: ['events'] })],
      [
        'with another event',
        await forge({ claims: { events: { 'http://example.com/other': {} } } }),
      ],
      ['with the event as a string', await forge({ claims: { events: { [EVENT]: 'yes' } } })],
      ['without sid or sub', await forge({ omit: ['sub'] })],
      ['without jti', await forge({ omit: ['jti'] })],
      ['without iat', await forge({ omit: ['iat'] })],
      [
        'too old',
        await forge({
          claims: {
            iat: Math.floor(Date.now() / 1000) - 3600,
            exp: Math.floor(Date.now() / 1000) + 60,
          },
        }),
      ],
      ['an ID token (typ)', await forge({ typ: 'id_token+jwt' })],
      ['not a JWT', 'garbage'],
    ];
    for (const [what, token] of refused) {
      const response = await postToken(token);
      expect(response.status, what).toBe(400);
      expect(await response.json(), what).toMatchObject({
        error: 'invalid_request',
        error_description: expect.any(String),
      });
    }
    expect((await check(gatehouse, cookie)).status).toBe(200);

    const valid = await forge();
    const accepted = await postToken(valid);
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('cache-control')).toBe('no-store');
    expect((await check(gatehouse, cookie)).status).toBe(401);
    const replayed = await postToken(valid);
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({
      error_description: 'logout_token was already used',
    });
  });

  it('ends only the session named by sid', async () => {
    const jar = new CookieJar();
    await signIn(gatehouse, jar, 'carol');
    const cookie = jar.cookieHeader(gatehouse.url)!;
    const other = await signedInCookie('carol'); // another browser, another provider session
    const ticket = parseTicket(jar.get(gatehouse.url, '_gatehouse'))!;
    const sid = (await gatehouse.store.get(ticket))?.oidcSid;
    expect(sid).toEqual(expect.any(String));

    expect(
      (await postToken(await forge({ omit: ['sub'], claims: { sid: 'unknown-sid' } }))).status,
    ).toBe(200);
    expect((await check(gatehouse, cookie)).status).toBe(200);
    expect((await postToken(await forge({ omit: ['sub'], claims: { sid } }))).status).toBe(200);
    expect((await check(gatehouse, cookie)).status).toBe(401);
    expect((await check(gatehouse, other)).status).toBe(200);
  });

  it('answers 400 to a wrong content type and 413 to an oversized body', async () => {
    const json = await post(JSON.stringify({ logout_token: await forge() }), 'application/json');
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'invalid_request' });
    expect((await post('logout_token=')).status).toBe(400);
    const huge = await post(`logout_token=${'a'.repeat(20 * 1024)}`);
    expect(huge.status).toBe(413);
  });
});
