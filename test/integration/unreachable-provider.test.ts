/**
 * Issue 18: one unreachable identity provider kept every new pod not ready, so an IdP outage
 * stalled every rollout. Readiness no longer waits for discovery: the pod is ready, checks and the
 * other providers work, and only that provider's sign-ins get a clear "not available yet" page
 * while discovery retries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../fixtures/gatehouse/free-port.ts';
import { nginxCheck } from '../fixtures/gatehouse/checks.ts';
import { shopHost } from '../fixtures/gatehouse/policies.ts';
import { startTestGatehouse } from '../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../fixtures/gatehouse/start.ts';

let gatehouse: TestGatehouse;
beforeAll(async () => {
  // Nothing listens there: discovery fails and keeps retrying.
  const downPort = await findFreePort();
  gatehouse = await startTestGatehouse({
    configYaml: `
providers:
  - { name: down, issuer: 'http://127.0.0.1:${String(downPort)}', clientId: gatehouse }
`,
  });
});
afterAll(async () => {
  await gatehouse.close();
});

describe('an identity provider that cannot be reached', () => {
  it('does not hold readiness back, and /readyz says which check is failing', async () => {
    const response = await fetch(gatehouse.opsUrl('/readyz'));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'ready',
      checks: { policy: true, sessions: true, providers: false },
    });
    const metrics = await (await fetch(gatehouse.opsUrl('/metrics'))).text();
    expect(metrics).toMatch(/^gatehouse_dependency_up\{dependency="providers"\} 0$/m);
  });

  it('lets checks through as usual', async () => {
    expect((await nginxCheck(gatehouse, `https://${shopHost}/public/catalogue`)).status).toBe(200);
  });

  it('answers its sign-in with a clear 503 page while discovery retries', async () => {
    const response = await fetch(gatehouse.url('/oauth2/start?provider=down'), {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('Sign-in is not available yet');
  });
});
