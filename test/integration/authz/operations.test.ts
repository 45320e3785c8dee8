/**
 * The operations listener (health, readiness, metrics) and what operators see in logs: the
 * proxy's request id, and never a cookie or token (docs/architecture.md security invariant 6).
 */
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extAuthzCheck, nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import { sendRaw } from '../../fixtures/gatehouse/http-client.ts';
import { metricValue, scrape } from '../../fixtures/gatehouse/metrics-text.ts';
import { shopHost } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let ops: TestGatehouse;
let broken: TestGatehouse;

beforeAll(async () => {
  [ops, broken] = await Promise.all([
    startTestGatehouse({ logLevel: 'debug' }),
    startTestGatehouse({ policies: `kind: AccessPolicy\nspec: { hosts: [${shopHost}\n` }),
  ]);
});
afterAll(async () => {
  await Promise.all([ops.close(), broken.close()]);
});

describe('health and readiness', () => {
  it('answers /healthz 200 and /readyz 200 once the policy is loaded', async () => {
    expect((await fetch(ops.opsUrl('/healthz'))).status).toBe(200);
    const ready = await fetch(ops.opsUrl('/readyz'));
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
  });

  it('is alive but not ready when the only policy file is broken, and checks answer 503', async () => {
    expect((await fetch(broken.opsUrl('/healthz'))).status).toBe(200);
    const ready = await fetch(broken.opsUrl('/readyz'));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { policy: false } });
    const check = await nginxCheck(broken, `https://${shopHost}/public/catalogue`);
    expect(check.status).toBe(503);
    expect(check.headers).not.toHaveProperty('x-auth-request-user');
  });

  it('does not serve the operations endpoints on the main listener', async () => {
    expect((await fetch(ops.url('/metrics'))).status).toBe(404);
  });
});

describe('metrics', () => {
  it('counts decisions by dialect, outcome and reason, times them, and counts policy objects', async () => {
    const before = await scrape(ops.opsUrl('/metrics'));
    const count = (text: string, dialect: string, outcome: string, reason: string) =>
      metricValue(text, 'gatehouse_decisions_total', { dialect, outcome, reason });
    const durations = (text: string, dialect: string) =>
      metricValue(text, 'gatehouse_decision_duration_seconds_count', { dialect });

    for (let i = 0; i < 3; i++) await nginxCheck(ops, `https://${shopHost}/public/catalogue`);
    for (let i = 0; i < 2; i++) await nginxCheck(ops, `https://${shopHost}/admin`);
    await nginxCheck(ops, `https://${shopHost}/metrics`);
    await nginxCheck(ops, undefined);
    await extAuthzCheck(ops, shopHost, '/public/%2e%2e/admin');

    const after = await scrape(ops.opsUrl('/metrics'));
    const delta = (dialect: string, outcome: string, reason: string) =>
      count(after, dialect, outcome, reason) - count(before, dialect, outcome, reason);
    expect(delta('nginx', 'allow', 'role-granted')).toBe(3);
    expect(delta('nginx', 'unauthenticated', 'authentication-required')).toBe(2);
    expect(delta('nginx', 'forbidden', 'deny-rule')).toBe(1);
    expect(delta('nginx', 'error', 'malformed-request')).toBe(1);
    expect(delta('ext-authz', 'forbidden', 'ambiguous-path')).toBe(1);
    expect(durations(after, 'nginx') - durations(before, 'nginx')).toBe(6);
    expect(after).toMatch(
      /^gatehouse_decision_duration_seconds_bucket\{le="0\.001",dialect="nginx"\} \d+$/m,
    );

    expect(metricValue(after, 'gatehouse_policy_objects', { kind: 'AccessPolicy' })).toBe(2);
    expect(metricValue(after, 'gatehouse_policy_objects', { kind: 'ClusterAccessPolicy' })).toBe(1);
    expect(metricValue(after, 'gatehouse_policy_objects', { kind: 'RoleMapping' })).toBe(1);
    expect(after).toMatch(/^gatehouse_policy_objects\{kind="ClusterRoleMapping"\} 0$/m);
  });
});

describe('request ids', () => {
  it('answers and logs its own id, not a well-formed X-Request-ID from a peer that is no trusted proxy', async () => {
    const sentId = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
    const response = await nginxCheck(ops, `https://${shopHost}/admin`, [['X-Request-ID', sentId]]);
    const echoed = String(response.headers['x-request-id']);
    expect(echoed).toMatch(uuid);
    expect(echoed).not.toBe(sentId);
    expect(
      ops.logs.matching({ requestId: echoed, reason: 'authentication-required' }),
    ).toHaveLength(1);
    // 127.0.0.1 is not in trustedProxies here: the client's id is neither gatehouse's id nor
    // kept beside it.
    expect(ops.logs.matching({ requestId: sentId })).toHaveLength(0);
    expect(ops.logs.matching({ proxyRequestId: sentId })).toHaveLength(0);
    expect(ops.logs.text()).not.toContain(sentId);
  });

  it.each([
    ['spaces', 'id with spaces'],
    ['300 characters', 'a'.repeat(300)],
    ['quotes and braces', '"},{"level":"fatal'],
  ])('replaces an X-Request-ID with %s by a generated one', async (_what, unsafe) => {
    const response = await nginxCheck(ops, `https://${shopHost}/admin`, [['X-Request-ID', unsafe]]);
    const echoed = String(response.headers['x-request-id']);
    expect(echoed).toMatch(uuid);
    expect(ops.logs.matching({ requestId: echoed })).toHaveLength(1);
    expect(ops.logs.text()).not.toContain(unsafe);
  });
  it('never lets a line break in X-Request-ID reach a log line (the request is refused)', async () => {
    const before = ops.logs.text().length;
    const status = await sendRaw(
      ops.url(''),
      `GET /authz/nginx?host=${shopHost} HTTP/1.1\r\nHost: gatehouse\r\nX-Original-Method: GET\r\nX-Original-URL: https://${shopHost}/admin\r\nX-Request-ID: abc\r\n {"level":"fatal","msg":"injected"}`,
    );
    expect(status).toBe(400);
    expect(ops.logs.text().slice(before)).not.toContain('injected');
  });
});

describe('secrets in logs', () => {
  let secrets: TestGatehouse;
  beforeAll(async () => {
    secrets = await startTestGatehouse({
      logLevel: 'trace',
      // A token from this issuer makes gatehouse fetch keys from a closed port: the error path.
      configYaml: `
bearer:
  issuers:
    - name: offline-idp
      issuer: https://idp.invalid
      jwksUri: http://127.0.0.1:1/jwks.json
      audiences: [shop-api]
      algorithms: [RS256]
`,
    });
  });
  afterAll(async () => {
    await secrets.close();
  });

  it('never logs the cookie or the bearer token, whatever the outcome', async () => {
    const cookieSecret = 'v1.c2Vzc2lvbi1pZC1zZWNyZXQ.dGlja2V0LXNlY3JldC12YWx1ZQ';
    const { privateKey } = await generateKeyPair('RS256');
    const tokenFrom = (iss: string) =>
      new SignJWT({ sub: 'user-1', aud: 'shop-api', iss })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setExpirationTime('10m')
        .sign(privateKey);
    const token = await tokenFrom('https://idp.invalid');
    const untrustedToken = await tokenFrom('https://other.invalid');
    const credentials: [string, string][] = [['Cookie', `_gatehouse=${cookieSecret}; theme=dark`]];

    const outcomes = [
      // dependency failure (JWKS unreachable) → 503
      await nginxCheck(secrets, `https://${shopHost}/admin`, [
        ...credentials,
        ['Authorization', `Bearer ${token}`],
      ]),
      // rejected token (unknown issuer) → 401
      await nginxCheck(secrets, `https://${shopHost}/admin`, [
        ...credentials,
        ['Authorization', `Bearer ${untrustedToken}`],
      ]),
      // malformed request → 400
      await nginxCheck(secrets, 'not a url', [
        ...credentials,
        ['Authorization', `Bearer ${token}`],
      ]),
      // forged identity header → 403
      await nginxCheck(secrets, `https://${shopHost}/public`, [
        ...credentials,
        ['X-Auth-Request-User', 'x'],
      ]),
      // allowed guest path → 200
      await nginxCheck(secrets, `https://${shopHost}/public`, credentials),
    ];
    expect(outcomes.map((response) => response.status)).toEqual([503, 401, 400, 403, 200]);

    const logged = secrets.logs.text();
    expect(logged.length).toBeGreaterThan(0);
    expect(logged).toContain('"requestId"');
    for (const secret of [cookieSecret, ...[token, untrustedToken].flatMap((t) => t.split('.'))]) {
      expect(logged).not.toContain(secret);
    }
  });
});
