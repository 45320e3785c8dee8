/**
 * Forwarded headers count only from configured proxy addresses (docs/architecture.md security invariant 3):
 * otherwise a client picks the host and path it is judged on, or the address it is logged as.
 * Traefik CVE-2024-45410 is the reminder that a client can shape these headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAccept, forwardAuthCheck, nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import type { RawResponse } from '../../fixtures/gatehouse/http-client.ts';
import type { LogEntry } from '../../fixtures/gatehouse/log-capture.ts';
import { shopHost } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';

let untrusted: TestGatehouse;
let trusted: TestGatehouse;

beforeAll(async () => {
  [untrusted, trusted] = await Promise.all([
    startTestGatehouse({ logLevel: 'info' }),
    startTestGatehouse({ logLevel: 'info', trustedProxies: ['127.0.0.1/32'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([untrusted.close(), trusted.close()]);
});

/** The audit line of a check, found by the request id gatehouse generated and returned. */
function auditLineOf(gatehouse: TestGatehouse, response: RawResponse): LogEntry | undefined {
  const requestId = String(response.headers['x-request-id']);
  const entries = gatehouse.logs.matching({ requestId, logger: 'gatehouse.audit' });
  expect(entries).toHaveLength(1);
  return entries[0];
}

function loggedClient(gatehouse: TestGatehouse, response: RawResponse): unknown {
  return auditLineOf(gatehouse, response)?.['client'];
}

describe('with no trusted proxies', () => {
  it.each([
    ['a guest path', '/public/catalogue'],
    ['a protected path', '/admin'],
  ])('refuses forged X-Forwarded-* on forward-auth with 400 (%s)', async (_what, uri) => {
    for (const method of ['GET', 'POST']) {
      const response = await forwardAuthCheck(untrusted, {
        method,
        proto: 'https',
        host: shopHost,
        uri,
      });
      expect(response.status).toBe(400);
      expect(response.headers).not.toHaveProperty('x-auth-request-user');
    }
  });

  it('judges an nginx check by X-Original-URL, not by forged X-Forwarded-Host/-Uri/-Method', async () => {
    const response = await nginxCheck(untrusted, `https://${shopHost}/admin`, [
      ['X-Forwarded-Host', shopHost],
      ['X-Forwarded-Uri', '/public/catalogue'],
      ['X-Forwarded-Method', 'GET'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Original-URI', '/public/catalogue'],
    ]);
    expect(response.status).toBe(401);
    expect(response.body).toBe('authentication-required\n');
  });

  it('judges an nginx check by the X-Original-URL host, not a forged X-Forwarded-Host', async () => {
    const response = await nginxCheck(untrusted, 'https://unknown.test/public/catalogue', [
      ['X-Forwarded-Host', shopHost],
    ]);
    expect(response.status).toBe(403);
    expect(response.body).toBe('no-matching-rule\n');
  });

  it('logs the socket peer, not a forged X-Real-IP or X-Forwarded-For', async () => {
    const sentId = 'forged-client-address';
    const response = await nginxCheck(untrusted, `https://${shopHost}/admin`, [
      ['X-Real-IP', '203.0.113.66'],
      ['X-Forwarded-For', '198.51.100.77, 203.0.113.66'],
      ['X-Request-ID', sentId],
    ]);
    expect(response.status).toBe(401);
    expect(response.headers['x-request-id']).not.toBe(sentId);
    expect(loggedClient(untrusted, response)).toBe('127.0.0.1');
    // The peer is no proxy: its X-Request-ID is not believed either.
    expect(auditLineOf(untrusted, response)).not.toHaveProperty('proxyRequestId');
  });
});

describe('with 127.0.0.1/32 trusted', () => {
  it('honours X-Forwarded-* on forward-auth: the forwarded target decides', async () => {
    const guest = await forwardAuthCheck(trusted, { host: shopHost, uri: '/public/catalogue' });
    expect(guest.status).toBe(200);
    const admin = await forwardAuthCheck(trusted, { host: shopHost, uri: '/admin' }, [
      ['Accept', apiAccept],
    ]);
    expect(admin.status).toBe(401);
    const otherHost = await forwardAuthCheck(trusted, { host: 'unknown.test', uri: '/public' });
    expect(otherHost.status).toBe(403);
    const method = await forwardAuthCheck(
      trusted,
      { method: 'DELETE', host: shopHost, uri: '/static/app.css' },
      [['Accept', apiAccept]],
    );
    expect(method.status).toBe(401);
  });

  it('logs the forwarded client: the right-most X-Forwarded-For element that is not a proxy', async () => {
    const sentId = 'forwarded-client-address';
    const response = await forwardAuthCheck(trusted, { host: shopHost, uri: '/admin' }, [
      ['Accept', apiAccept],
      ['X-Forwarded-For', '192.0.2.1, 203.0.113.7, 127.0.0.1'],
      ['X-Request-ID', sentId],
    ]);
    expect(response.status).toBe(401);
    expect(loggedClient(trusted, response)).toBe('203.0.113.7');
    expect(auditLineOf(trusted, response)?.['proxyRequestId']).toBe(sentId);
  });

  it('logs X-Real-IP from nginx when the peer is trusted', async () => {
    const sentId = 'nginx-real-ip';
    const response = await nginxCheck(trusted, `https://${shopHost}/admin`, [
      ['X-Real-IP', '198.51.100.9'],
      ['X-Request-ID', sentId],
    ]);
    expect(response.status).toBe(401);
    expect(loggedClient(trusted, response)).toBe('198.51.100.9');
    expect(auditLineOf(trusted, response)?.['proxyRequestId']).toBe(sentId);
  });
});
