/**
 * gatehouse behind a real Traefik v3.6 ForwardAuth middleware (docs/proxy-protocols.md). Like
 * Caddy, Traefik hands any non-2xx answer to the client, so gatehouse redirects browsers itself.
 * The middleware is configured as documented, `trustForwardHeader: false`; the last block shows
 * what the 0.1.0 documentation's `true` allowed behind an entrypoint that trusts its load balancer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAccept } from '../fixtures/gatehouse/checks.ts';
import type { RawResponse } from '../fixtures/gatehouse/http-client.ts';
import { rawExchange } from '../security/raw-socket.ts';
import {
  appHost,
  identityHeaders,
  signInUrl,
  startAuthStack,
  users,
  wwwHost,
} from './harness/auth-stack.ts';
import type { AuthStack } from './harness/auth-stack.ts';
import { sendThrough } from './harness/client.ts';
import type { ClientRequest } from './harness/client.ts';
import { parseEcho, startEchoUpstream } from './harness/echo-upstream.ts';
import type { EchoUpstream } from './harness/echo-upstream.ts';
import { startTraefik } from './harness/traefik.ts';
import type { RunningTraefik } from './harness/traefik.ts';

let stack: AuthStack;
let upstream: EchoUpstream;
let traefik: RunningTraefik | undefined;

beforeAll(async () => {
  // Traefik calls gatehouse from 127.0.0.1, whose X-Forwarded-* gatehouse must believe.
  stack = await startAuthStack({ trustedProxies: ['127.0.0.1'] });
  upstream = await startEchoUpstream();
  traefik = await startTraefik({
    gatehouseUrl: stack.gatehouse.url(''),
    upstreamUrl: upstream.url,
    authResponseHeaders: identityHeaders,
    hosts: [appHost, wwwHost],
  });
});
afterAll(async () => {
  await traefik?.stop();
  await upstream.close();
  await stack.close();
});

function running(): RunningTraefik {
  if (traefik === undefined) throw new Error('traefik did not start');
  return traefik;
}

function request(path: string, options: ClientRequest = {}): Promise<RawResponse> {
  return sendThrough(running().url, appHost, path, options);
}

function echoed(response: RawResponse): Record<string, unknown> {
  expect(response.status, response.body).toBe(200);
  return parseEcho(response.body).headers;
}

describe('anonymous visitors', () => {
  it("get gatehouse's 302 to sign in with an absolute Location", async () => {
    const response = await request('/a/b?x=1', { headers: [['Accept', browserAccept]] });
    expect(response.status).toBe(302);
    const original = `http://${appHost}:${String(running().port)}/a/b?x=1`;
    expect(response.headers.location).toBe(`${signInUrl}?rd=${encodeURIComponent(original)}`);
  });

  it('get 401 from an API client, and the app never sees the request', async () => {
    const before = upstream.received.length;
    const response = await request('/orders', { headers: [['Accept', 'application/json']] });
    expect(response.status).toBe(401);
    expect(upstream.received.length).toBe(before);
  });

  it('reach a guest path with the empty identity headers overwriting nothing', async () => {
    const headers = echoed(await request('/public/page'));
    expect(headers['x-auth-request-user'] ?? '').toBe('');
    expect(headers['x-auth-request-roles']).toBe('guest');
  });
});

describe('signed-in users (bearer token)', () => {
  it('reach the app with their identity copied onto the upstream request', async () => {
    const headers = echoed(
      await request('/orders/7', { headers: [['Authorization', await stack.bearer(users.alice)]] }),
    );
    expect(headers['x-auth-request-user']).toBe('alice');
  });

  it("get gatehouse's 403 where they lack the role", async () => {
    const before = upstream.received.length;
    const response = await request('/admin', {
      headers: [['Authorization', await stack.bearer(users.bob)]],
    });
    expect(response.status).toBe(403);
    expect(upstream.received.length).toBe(before);
  });
});

describe('the decision boundary', () => {
  // Finding 5: with `trustForwardHeader: true` behind a trusting entrypoint, this was allowed.
  it("ignores the client's own X-Forwarded-Uri/-Host/-Method (trustForwardHeader: false)", async () => {
    const before = upstream.received.length;
    const response = await request('/admin/x', {
      headers: [
        ['Accept', 'application/json'],
        ['X-Forwarded-Uri', '/public/x'],
        ['X-Forwarded-Host', wwwHost],
        ['X-Forwarded-Method', 'GET'],
      ],
    });
    expect(response.status).toBe(401);
    expect(upstream.received.length).toBe(before);
  });

  it('judges HEAD under a Deny written for GET', async () => {
    const authorization = await stack.bearer(users.alice);
    for (const method of ['GET', 'HEAD']) {
      const response = await request('/export/all', {
        method,
        headers: [['Authorization', authorization]],
      });
      expect(response.status, method).toBe(403);
    }
  });

  it('routes an absolute-form request by its request-line host and judges that host', async () => {
    const port = String(running().port);
    const before = upstream.received.length;
    const exchange = await rawExchange(running().url, {
      chunks: `GET http://${appHost}:${port}/admin/x HTTP/1.1\r\nHost: ${wwwHost}:${port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`,
    });
    // Go's net/http takes the request-line host as the request's host (RFC 9112 §3.2.2), and
    // Traefik both routes by it and sends it as X-Forwarded-Host: app.test's rule decides.
    expect(exchange.statuses[0]).toBe(401);
    expect(upstream.received.length).toBe(before);
  });
});

describe('the 0.1.0 documentation (trustForwardHeader: true) behind a trusting entrypoint', () => {
  let trusting: RunningTraefik | undefined;
  beforeAll(async () => {
    trusting = await startTraefik({
      gatehouseUrl: stack.gatehouse.url(''),
      upstreamUrl: upstream.url,
      authResponseHeaders: identityHeaders,
      trustForwardHeader: true,
    });
  });
  afterAll(async () => {
    await trusting?.stop();
  });

  it('lets a client choose the judged path: why the documented setting is false', async () => {
    if (trusting === undefined) throw new Error('traefik did not start');
    const before = upstream.received.length;
    const response = await sendThrough(trusting.url, appHost, '/admin/x', {
      headers: [['X-Forwarded-Uri', '/public/x']],
    });
    // Traefik forwarded the client's X-Forwarded-Uri; gatehouse judged /public/x and allowed.
    expect(response.status).toBe(200);
    expect(upstream.received.slice(before).map((r) => r.url)).toEqual(['/admin/x']);
  });
});
