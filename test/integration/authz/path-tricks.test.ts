/**
 * Path-confusion attempts against the shop policy, through ingress-nginx's `X-Original-URL` and
 * through Envoy's raw path. The auth layer must judge the path the proxy routes (docs/architecture.md,
 * decision semantics 1), and refuse a path whose meaning depends on who decodes it: encoded
 * dot-segments are CVE-2021-41773's `.%2e`, overlong UTF-8 is CVE-2000-0884 / CAPEC-80, an encoded
 * `/` or `\` is what Spring's StrictHttpFirewall refuses. None of these may reach the guest rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extAuthzCheck, nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import type { RawResponse } from '../../fixtures/gatehouse/http-client.ts';
import { shopHost } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';

interface Expected {
  readonly status: 200 | 401 | 403;
  readonly reason: string;
  /** The shop rule that decided, or null when none did (ambiguous paths). */
  readonly rule: string | null;
}

const allowedAsGuest = (rule: 'public' | 'assets'): Expected => ({
  status: 200,
  reason: 'role-granted',
  rule,
});
const needsSignIn = (rule: 'admin' | 'app'): Expected => ({
  status: 401,
  reason: 'authentication-required',
  rule,
});
const ambiguous: Expected = { status: 403, reason: 'ambiguous-path', rule: null };

const cases: readonly (readonly [string, Expected])[] = [
  // Literal dot-segments: nginx and Caddy pass them to the upstream raw, and an upstream that
  // does not normalise routes `/admin/../public/x` under /admin, so they are never resolved.
  ['/public/../admin', ambiguous],
  ['/public/../../../admin', ambiguous],
  ['/public/./catalogue', ambiguous],
  ['/admin/../public/catalogue', ambiguous],
  // Encoded dot-segments: some upstreams decode them after routing.
  ['/public/%2e%2e/admin', ambiguous],
  ['/public/%2E%2E/admin', ambiguous],
  ['/public/.%2e/admin', ambiguous],
  ['/public/%2e', ambiguous],
  // Encoded slashes and backslashes.
  ['/public%2F..%2Fadmin', ambiguous],
  ['/public/..%2Fadmin', ambiguous],
  ['/public\\..\\admin', ambiguous],
  ['/public%5C..%5Cadmin', ambiguous],
  // Repeated and trailing slashes.
  ['//admin', needsSignIn('admin')],
  ['/admin/', needsSignIn('admin')],
  // Matching is case-sensitive and by whole segments: these fall to the signed-in catch-all.
  ['/ADMIN', needsSignIn('app')],
  ['/PUBLIC/catalogue', needsSignIn('app')],
  ['/publicity', needsSignIn('app')],
  // NUL, invalid and overlong UTF-8, broken escapes.
  ['/public/%00', ambiguous],
  ['/public/%C0%AE%C0%AE/admin', ambiguous],
  ['/public/%FF', ambiguous],
  ['/public/%E0%80%AF', ambiguous],
  ['/public/%', ambiguous],
  ['/public/%zz', ambiguous],
  // Valid UTF-8 is just a path, in either hex case.
  ['/public/caf%C3%A9', allowedAsGuest('public')],
  ['/public/caf%c3%a9', allowedAsGuest('public')],
  // Query and fragment never take part in matching.
  ['/private?x=/public', needsSignIn('app')],
  ['/private?/public/../public', needsSignIn('app')],
  ['/private#/public', ambiguous],
  // Encoded unreserved characters are decoded the way the proxy routes them, both ways.
  ['/%70ublic/catalogue', allowedAsGuest('public')],
  ['/%7Epublic', needsSignIn('app')],
  ['/adm%69n', needsSignIn('admin')],
  ['/%6Detrics', { status: 403, reason: 'deny-rule', rule: 'metrics' }],
  ['/st%61tic/app.css', allowedAsGuest('assets')],
];

let gatehouse: TestGatehouse;
beforeAll(async () => {
  gatehouse = await startTestGatehouse({ logLevel: 'debug' });
});
afterAll(async () => {
  await gatehouse.close();
});

async function expectOutcome(check: () => Promise<RawResponse>, expected: Expected): Promise<void> {
  const response = await check();
  expect(response.status).toBe(expected.status);
  if (expected.status !== 200) expect(response.body).toBe(`${expected.reason}\n`);
  // gatehouse names every request with its own id and returns it; the decision's log line
  // carries the same one.
  const requestId = String(response.headers['x-request-id']);
  const lines = gatehouse.logs.matching({ requestId });
  expect(lines).toHaveLength(1);
  const [logged] = lines;
  expect(logged?.['reason']).toBe(expected.reason);
  expect(logged?.['rule']).toBe(expected.rule);
}

describe('through /authz/nginx (X-Original-URL)', () => {
  it.each(cases)('%s', async (path, expected) => {
    await expectOutcome(() => nginxCheck(gatehouse, `https://${shopHost}${path}`), expected);
  });
});

describe('through /authz/ext-authz (raw path)', () => {
  it.each(cases)('%s', async (path, expected) => {
    await expectOutcome(() => extAuthzCheck(gatehouse, shopHost, path), expected);
  });
});
