/**
 * Audit mode end to end (docs/audit-mode.md): a policy with `spec.mode: Audit` that would refuse
 * a request lets it through, while the would-be outcome is counted in
 * `gatehouse_decisions_total`, in `gatehouse_audit_overrides_total`, and logged with
 * `audit: true`. Switching the file to `mode: Enforce` makes the same request refused.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nginxCheck } from '../fixtures/gatehouse/checks.ts';
import { metricValue, scrape } from '../fixtures/gatehouse/metrics-text.ts';
import { startTestGatehouse } from '../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../fixtures/gatehouse/start.ts';

const host = 'reports.test';

function policy(mode: 'Audit' | 'Enforce'): string {
  return `apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: reports, namespace: finance }
spec:
  hosts: [${host}]
  mode: ${mode}
  rules:
    - name: public
      match: [{ path: { type: PathPrefix, value: /public } }]
      roles: [guest]
    - name: exports
      match: [{ path: { type: PathPrefix, value: /exports } }]
      action: Deny
    - name: finance
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [finance]
`;
}

let gatehouse: TestGatehouse;
beforeAll(async () => {
  gatehouse = await startTestGatehouse({ policies: policy('Audit'), logLevel: 'info' });
});
afterAll(async () => {
  await gatehouse.close();
});

async function metrics(): Promise<string> {
  return scrape(gatehouse.opsUrl('/metrics'));
}

/** Polls until `probe` returns true; fails after `timeoutMs`. */
async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 5000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline)
      throw new Error(`not within ${String(timeoutMs)} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('allows a would-be 401, counts it under its real outcome and logs it as an audit', async () => {
  const response = await nginxCheck(gatehouse, `https://${host}/ledger`);
  expect(response.status).toBe(200);
  // Answered as an anonymous allow: every identity header is present and empty.
  expect(response.headers['x-auth-request-user']).toBe('');
  expect(response.headers.location).toBeUndefined();

  const exposition = await metrics();
  expect(
    metricValue(exposition, 'gatehouse_audit_overrides_total', {
      outcome: 'unauthenticated',
      reason: 'authentication-required',
    }),
  ).toBe(1);
  expect(
    metricValue(exposition, 'gatehouse_decisions_total', {
      dialect: 'nginx',
      outcome: 'unauthenticated',
      reason: 'authentication-required',
    }),
  ).toBe(1);

  const [line, ...more] = gatehouse.logs.matching({ audit: true, path: '/ledger' });
  expect(more).toEqual([]);
  expect(line).toMatchObject({
    level: 'info',
    msg: 'audit mode: would have been unauthenticated',
    outcome: 'unauthenticated',
    reason: 'authentication-required',
    policy: 'finance/reports',
    rule: 'finance',
    host,
  });
});

it('deny rules of an Audit policy are only logged and counted too', async () => {
  const response = await nginxCheck(gatehouse, `https://${host}/exports/all.csv`);
  expect(response.status).toBe(200);
  expect(
    metricValue(await metrics(), 'gatehouse_audit_overrides_total', {
      outcome: 'forbidden',
      reason: 'deny-rule',
    }),
  ).toBe(1);
  expect(gatehouse.logs.matching({ audit: true, rule: 'exports' })).toHaveLength(1);
});

it('an allow in an Audit policy is an ordinary allow: nothing to report', async () => {
  const response = await nginxCheck(gatehouse, `https://${host}/public/index.html`);
  expect(response.status).toBe(200);
  expect(gatehouse.logs.matching({ audit: true, rule: 'public' })).toEqual([]);
});

it('refuses again once the policy is switched to mode: Enforce', async () => {
  // Written aside and renamed over the file, as a ConfigMap update does: never half-written.
  const temporary = join(gatehouse.policyDir, '.policies.yaml.tmp');
  await writeFile(temporary, policy('Enforce'));
  await rename(temporary, join(gatehouse.policyDir, 'policies.yaml'));

  await eventually(
    'the Enforce policy applies',
    async () => (await nginxCheck(gatehouse, `https://${host}/exports/all.csv`)).status === 403,
  );
  const overrides = async (): Promise<number> =>
    metricValue(await metrics(), 'gatehouse_audit_overrides_total', {
      outcome: 'unauthenticated',
      reason: 'authentication-required',
    });
  const before = await overrides();
  expect((await nginxCheck(gatehouse, `https://${host}/ledger`)).status).toBe(401);
  expect(await overrides()).toBe(before);
  const enforced = gatehouse.logs.matching({ rule: 'exports', outcome: 'forbidden' }).at(-1);
  expect(enforced).toMatchObject({ msg: 'audit: deny', event: 'deny', logger: 'gatehouse.audit' });
  expect(enforced).not.toHaveProperty('audit');
});
