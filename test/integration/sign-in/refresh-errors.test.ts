import { randomUUID } from 'node:crypto';
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
  testClock,
  type Gatehouse,
  urlOf,
} from './harness.ts';

/**
 * Which answers of the token endpoint to a refresh_token grant end the session. RFC 6749 §5.2:
 * every error response (400, or 401 for client authentication) means the grant will not be
 * renewed; providers disagree on the code (Dex answers `invalid_request` where RFC 6749 says
 * `invalid_grant`, dexidp/dex#1868), so any of them ends the session. Outages (5xx, 429,
 * network errors) do not.
 */

const prefix = `gatehouse-test:sign-in-refresh-errors:${randomUUID()}:`;
const ACCESS_TOKEN_TTL_S = 60;
const MARGIN_MS = 30_000;

/** What the token endpoint answers to refresh grants, in front of the real oidc-provider. */
type TokenEndpointMode =
  | { readonly kind: 'provider' }
  /** Dex: the provider's own refusal, re-worded as Dex words it (server/refreshhandlers.go). */
  | { readonly kind: 'dex' }
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly body: string;
      readonly headers?: Record<string, string>;
    }
  | { readonly kind: 'network-error' };

function bodyOf(init: RequestInit | undefined): string {
  const body = init?.body;
  return body instanceof URLSearchParams ? body.toString() : typeof body === 'string' ? body : '';
}

const json = (value: unknown): string => JSON.stringify(value);

describe('refresh errors that mean the grant is gone (Redis store, real OpenID Provider)', () => {
  let idp: DevIdentityProvider;
  let gatehouse: Gatehouse;
  const clock = testClock();
  let mode: TokenEndpointMode = { kind: 'provider' };
  const answered: { status: number; error: unknown }[] = [];

  beforeAll(async () => {
    const reserved = await reserveServer();
    const { backchannelLogoutUri: _unused, ...client } = devClient(reserved);
    idp = await startProvider([client], { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S });
    const tokenEndpoint: typeof fetch = async (input, init) => {
      const isRefresh =
        urlOf(input).endsWith('/token') && bodyOf(init).includes('grant_type=refresh_token');
      if (!isRefresh || mode.kind === 'provider') return fetch(input, init);
      if (mode.kind === 'network-error') throw new TypeError('fetch failed');
      let response: Response;
      if (mode.kind === 'answer') {
        response = new Response(mode.body, {
          status: mode.status,
          headers: { 'content-type': 'application/json', ...mode.headers },
        });
      } else {
        const real = await fetch(input, init);
        const body = (await real.clone().json()) as { error?: string };
        response =
          real.status === 400 && body.error === 'invalid_grant'
            ? new Response(
                json({
                  error: 'invalid_request',
                  error_description:
                    'Refresh token is invalid or has already been claimed by another client.',
                }),
                { status: 400, headers: { 'content-type': 'application/json' } },
              )
            : real;
      }
      answered.push({
        status: response.status,
        error: response.status >= 400 ? (await response.clone().text()).slice(0, 200) : undefined,
      });
      return response;
    };
    gatehouse = await startGatehouse({
      reserved,
      providers: [providerOptions(idp)],
      store: await redisStore(prefix, 3000, clock),
      clock,
      fetch: tokenEndpoint,
      refreshMarginMs: MARGIN_MS,
    });
  });

  afterAll(async () => {
    await gatehouse.close();
    await gatehouse.store.close();
    await idp.close();
    await flushPrefix(prefix);
  });

  async function sessionOf(jar: CookieJar) {
    return gatehouse.store.get(parseTicket(jar.get(gatehouse.url, '_gatehouse'))!, {
      bypassCache: true,
    });
  }

  /** A signed-in browser whose access token is now within the refresh margin. */
  async function signedInNearExpiry(user: string) {
    mode = { kind: 'provider' };
    const jar = new CookieJar();
    await signIn(gatehouse, jar, user);
    const cookie = jar.cookieHeader(gatehouse.url)!;
    expect((await check(gatehouse, cookie)).status).toBe(200);
    const session = (await sessionOf(jar))!;
    clock.advance(ACCESS_TOKEN_TTL_S * 1000 - MARGIN_MS / 2);
    return { jar, cookie, session };
  }

  it('ends the session when Dex answers invalid_request for a revoked refresh token', async () => {
    const { jar, cookie, session } = await signedInNearExpiry('zoe');
    await idp.signOutUser(session.subject); // the provider revokes the grant
    mode = { kind: 'dex' };
    answered.length = 0;

    expect((await check(gatehouse, cookie)).status).toBe(401);
    expect(answered).toEqual([{ status: 400, error: expect.stringContaining('invalid_request') }]);
    expect(await sessionOf(jar)).toBeNull();
    expect((await check(gatehouse, cookie)).status).toBe(401);
    expect(
      await gatehouse.metrics.registry.getSingleMetricAsString(
        'gatehouse_session_revocations_total',
      ),
    ).toContain('source="invalid-grant"} 1');
  });

  it.each([
    [
      '400 invalid_request (Dex: reused or expired token)',
      400,
      json({ error: 'invalid_request' }),
      {},
    ],
    ['400 unauthorized_client', 400, json({ error: 'unauthorized_client' }), {}],
    ['400 invalid_scope', 400, json({ error: 'invalid_scope', error_description: 'x' }), {}],
    [
      '401 invalid_client with a WWW-Authenticate challenge',
      401,
      json({ error: 'invalid_client' }),
      { 'www-authenticate': 'Basic realm="dex"' },
    ],
    ['401 invalid_client without a challenge', 401, json({ error: 'invalid_client' }), {}],
  ] as const)('ends the session on %s', async (_title, status, body, headers) => {
    const { jar, cookie } = await signedInNearExpiry('alice');
    mode = { kind: 'answer', status, body, headers };
    expect((await check(gatehouse, cookie)).status).toBe(401);
    expect(await sessionOf(jar)).toBeNull();
  });

  it.each([
    [
      '503 with an OAuth error body',
      { kind: 'answer', status: 503, body: json({ error: 'temporarily_unavailable' }) },
    ],
    [
      '500 with an HTML page',
      {
        kind: 'answer',
        status: 500,
        body: '<h1>oops</h1>',
        headers: { 'content-type': 'text/html' },
      },
    ],
    [
      '429 with an OAuth error body',
      { kind: 'answer', status: 429, body: json({ error: 'slow_down' }) },
    ],
    ['a network error', { kind: 'network-error' }],
  ] as const)('keeps the session and its tokens on %s', async (_title, failure) => {
    const { jar, cookie, session } = await signedInNearExpiry('bob');
    mode = failure;
    expect((await check(gatehouse, cookie)).status).toBe(200);
    const kept = await sessionOf(jar);
    expect(kept?.tokens.accessToken).toBe(session.tokens.accessToken);
    expect(kept?.tokens.refreshToken).toBe(session.tokens.refreshToken);
  });
});
