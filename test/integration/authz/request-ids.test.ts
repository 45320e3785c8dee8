/**
 * Request ids on the audit trail are gatehouse's own. A client's `X-Request-ID` used to become
 * the request id as sent, so anyone could make their denials collide with (or impersonate) the
 * lines of another request. gatehouse now always generates its id, and keeps an ingress's id
 * beside it (`proxyRequestId`) only when the peer is a trusted proxy (docs/architecture.md security
 * invariant 3) and the id is short and plain (at most 128 of `[A-Za-z0-9._:-]`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import type { LogEntry } from '../../fixtures/gatehouse/log-capture.ts';
import { shopHost } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse, type TestGatehouse } from '../../fixtures/gatehouse/start.ts';

let trusted: TestGatehouse;
let untrusted: TestGatehouse;

beforeAll(async () => {
  [trusted, untrusted] = await Promise.all([
    startTestGatehouse({ trustedProxies: ['127.0.0.1/32'], logLevel: 'info' }),
    startTestGatehouse({ trustedProxies: ['192.0.2.0/24'], logLevel: 'info' }),
  ]);
});
afterAll(async () => {
  await Promise.all([trusted.close(), untrusted.close()]);
});

/** The audit line of the one denial just made (`/metrics` is closed to everyone). */
async function denialWith(gatehouse: TestGatehouse, requestId: string) {
  gatehouse.logs.clear();
  const response = await nginxCheck(gatehouse, `https://${shopHost}/metrics`, [
    ['X-Request-ID', requestId],
  ]);
  expect(response.status).toBe(403);
  const audits = gatehouse.logs.matching({ msg: 'audit: deny' });
  expect(audits).toHaveLength(1);
  return { response, audit: audits[0] as LogEntry };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it("never uses a client's X-Request-ID as gatehouse's own id", async () => {
    const { response, audit } = await denialWith(untrusted, 'chosen-by-the-client');
    expect(audit['requestId']).toMatch(uuid);
    expect(response.headers['x-request-id']).toBe(audit['requestId']);
    expect(audit).not.toHaveProperty('proxyRequestId');
    expect(untrusted.logs.text()).not.toContain('chosen-by-the-client');
  });

  it("keeps a trusted ingress's id beside its own as proxyRequestId", async () => {
    const nginxId = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
    const { response, audit } = await denialWith(trusted, nginxId);
    expect(audit['requestId']).toMatch(uuid);
    expect(audit['proxyRequestId']).toBe(nginxId);
    expect(response.headers['x-request-id']).toBe(audit['requestId']);
  });

  it('gives two requests with the same proxy id two different ids', async () => {
    const first = await denialWith(trusted, 'same-id');
    const second = await denialWith(trusted, 'same-id');
    expect(first.audit['requestId']).not.toBe(second.audit['requestId']);
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['with a space', 'two words'],
    ['with a quote', 'id"injected'],
    ['with a slash', 'a/b'],
  ])('drops a trusted proxy id %s', async (_case, id) => {
    const { audit } = await denialWith(trusted, id);
    expect(audit['requestId']).toMatch(uuid);
    expect(audit).not.toHaveProperty('proxyRequestId');
  });

  it('logs the proxy id on audit-mode and debug decision lines too (same fields)', async () => {
    trusted.logs.clear();
    await nginxCheck(trusted, `https://${shopHost}/admin`, [['X-Request-ID', 'proxy-7']]);
    const lines = trusted.logs.matching({ proxyRequestId: 'proxy-7' });
    expect(lines.length).toBeGreaterThan(0);
  });
});
