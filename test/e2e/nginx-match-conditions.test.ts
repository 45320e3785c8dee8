/**
 * Issue #19 through a real nginx configured as ingress-nginx renders `auth-url`: a rule selected
 * by a request header, one by a query parameter, one by the client address nginx reports, and a
 * CORS preflight let through by `preflight: Allow`. What reaches the application is observed.
 * nginx passes the client's headers (`Origin`, `Access-Control-Request-Method`, `X-Channel`) on
 * the auth subrequest and sets `X-Real-IP` / `X-Forwarded-For` to the address it saw, believed
 * because the test lists nginx's address in `trustedProxies`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawResponse } from '../fixtures/gatehouse/http-client.ts';
import { startTestGatehouse } from '../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../fixtures/gatehouse/start.ts';
import { appHost, identityHeaders, signInUrl } from './harness/auth-stack.ts';
import { sendThrough } from './harness/client.ts';
import type { HeaderList } from './harness/client.ts';
import { parseEcho, startEchoUpstream } from './harness/echo-upstream.ts';
import type { EchoUpstream } from './harness/echo-upstream.ts';
import { startNginx } from './harness/nginx.ts';
import type { RunningNginx } from './harness/nginx.ts';

const policies = `
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: app, namespace: app }
spec:
  hosts: [${appHost}]
  preflight: Allow
  rules:
    - name: beta-testers
      match:
        - path: { type: PathPrefix, value: / }
          headers: [{ name: X-Channel, value: beta }]
      roles: [guest]
    - name: no-debug
      match:
        - path: { type: PathPrefix, value: / }
          queryParams: [{ name: debug, value: "true" }]
      action: Deny
    - name: local-status
      match:
        - path: { type: RegularExpression, value: "/status(/[a-z]+)?" }
          sourceCIDRs: [127.0.0.0/8]
      roles: [guest]
    # The catch-all is a pattern too: patterns rank after every prefix (precedence.ts), so a
    # PathPrefix / would win over local-status; the longer pattern wins among patterns.
    - name: app
      match: [{ path: { type: RegularExpression, value: /.* } }]
      roles: [authenticated]
`;

let gatehouse: TestGatehouse;
let upstream: EchoUpstream;
let nginx: RunningNginx | undefined;

beforeAll(async () => {
  // nginx runs on 127.0.0.1: its X-Real-IP / X-Forwarded-For count (security invariant 3).
  gatehouse = await startTestGatehouse({ policies, trustedProxies: ['127.0.0.1/32'] });
  upstream = await startEchoUpstream();
  nginx = await startNginx({
    gatehouseUrl: gatehouse.url(''),
    upstreamUrl: upstream.url,
    signInUrl,
    responseHeaders: identityHeaders,
  });
});
afterAll(async () => {
  await nginx?.stop();
  await upstream.close();
  await gatehouse.close();
});

function send(path: string, headers: HeaderList = [], method = 'GET'): Promise<RawResponse> {
  if (nginx === undefined) throw new Error('nginx did not start');
  return sendThrough(nginx.url, appHost, path, { method, headers });
}

describe('match conditions through ingress-nginx', () => {
  it('a header-matched rule lets beta testers in; without the header, sign-in is asked', async () => {
    const beta = await send('/dashboard', [['X-Channel', 'beta']]);
    expect(beta.status, beta.body).toBe(200);
    expect(parseEcho(beta.body).url).toBe('/dashboard');
    const others = await send('/dashboard');
    // ingress-nginx turns the 401 into the redirect to auth-signin.
    expect(others.status).toBe(302);
    expect(others.headers['location']).toContain(signInUrl);
  });

  it('a query-matched Deny closes ?debug=true, and a repeated parameter is refused, not guessed', async () => {
    expect((await send('/dashboard?debug=true', [['X-Channel', 'beta']])).status).toBe(200);
    expect((await send('/dashboard?debug=true')).status).toBe(403);
    expect((await send('/dashboard?debug=false&debug=true')).status).toBe(403);
    expect((await send('/dashboard?debug=%74rue')).status).toBe(403);
  });

  it('a rule limited to the loopback range matches the client address nginx reports', async () => {
    const status = await send('/status/live');
    expect(status.status, status.body).toBe(200);
    expect((await send('/status/live/x')).status).toBe(302);
  });

  it('a CORS preflight passes anonymously to the application, which answers it', async () => {
    const before = upstream.received.length;
    const preflight = await send(
      '/api/orders',
      [
        ['Origin', 'https://shop.example'],
        ['Access-Control-Request-Method', 'PUT'],
      ],
      'OPTIONS',
    );
    expect(preflight.status, preflight.body).toBe(200);
    const echoed = parseEcho(preflight.body);
    expect(echoed.method).toBe('OPTIONS');
    expect(upstream.received.length).toBe(before + 1);
    // Anonymous: no identity reached the application.
    expect(echoed.headers['x-auth-request-user'] ?? '').toBe('');
    // gatehouse adds no CORS header of its own: the application decides.
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('an OPTIONS request that is not a preflight is decided by the rules', async () => {
    const plain = await send('/api/orders', [['Origin', 'https://shop.example']], 'OPTIONS');
    expect(plain.status).toBe(302);
  });
});
