/**
 * The decision boundary through real nginx (issue: "judge exactly what the proxy routes"): every
 * finding of the 0.1.0 attack review that went through nginx, as ingress-nginx renders `auth-url`
 * and as the plain `auth_request` setup docs/proxy-protocols.md documents. Each case sends the
 * attack over a raw socket (no HTTP client agrees to send most of them) and checks what the
 * application received: nothing, where 0.1.0 let an anonymous visitor in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { startEchoUpstream } from './harness/echo-upstream.ts';
import type { EchoUpstream } from './harness/echo-upstream.ts';
import { startNginx } from './harness/nginx.ts';
import type { NginxOptions, RunningNginx } from './harness/nginx.ts';

let stack: AuthStack;
let upstream: EchoUpstream;
beforeAll(async () => {
  stack = await startAuthStack();
  upstream = await startEchoUpstream();
});
afterAll(async () => {
  await upstream.close();
  await stack.close();
});

/** Whether gatehouse logged a line whose message matches (the 400s say what to fix). */
function logged(message: RegExp): boolean {
  return stack.gatehouse.logs.entries().some((entry) => message.test(String(entry['msg'])));
}

/** One raw HTTP/1.1 request; answers the status nginx gave and what reached the application. */
async function raw(
  proxy: RunningNginx,
  requestLine: string,
  headers: readonly string[],
): Promise<{ status: number | undefined; reached: readonly string[] }> {
  const before = upstream.received.length;
  const exchange = await rawExchange(proxy.url, {
    chunks: `${requestLine}\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n`,
  });
  return {
    status: exchange.statuses[0],
    reached: upstream.received.slice(before).map((request) => `${request.method} ${request.url}`),
  };
}

for (const style of ['ingress-nginx', 'plain'] as const) {
  describe(`through nginx (${style})`, () => {
    let nginx: RunningNginx | undefined;
    const options = (): NginxOptions => ({
      gatehouseUrl: stack.gatehouse.url(''),
      upstreamUrl: upstream.url,
      signInUrl,
      responseHeaders: identityHeaders,
      extraServerNames: [wwwHost],
      style,
    });
    beforeAll(async () => {
      nginx = await startNginx(options());
    });
    afterAll(async () => {
      await nginx?.stop();
    });
    const running = (): RunningNginx => {
      if (nginx === undefined) throw new Error('nginx did not start');
      return nginx;
    };
    const port = () => String(running().port);

    it('the documented setup still lets a guest in and sends others to sign in', async () => {
      const guest = await raw(running(), 'GET /public/page HTTP/1.1', [
        `Host: ${appHost}:${port()}`,
      ]);
      expect(guest).toEqual({ status: 200, reached: ['GET /public/page'] });
      const anonymous = await raw(running(), 'GET /admin/x HTTP/1.1', [
        `Host: ${appHost}:${port()}`,
      ]);
      expect(anonymous).toEqual({ status: 302, reached: [] });
    });

    // Finding 1: `Host: app.test?` made X-Original-URL `http://app.test?/admin/x`, judged as `/`.
    it.each(['?', '#', '?x=1', '\\'])(
      '"?" or "#" after the host (Host: app.test%s with an absolute request line): refused, never judged as another path',
      async (suffix) => {
        // alice may use the app (`/`) but not /admin: judged as `/`, she would get in.
        const result = await raw(running(), `GET http://${appHost}:${port()}/admin/x HTTP/1.1`, [
          `Host: ${appHost}${suffix}`,
          `Authorization: ${await stack.bearer(users.alice)}`,
        ]);
        expect(result.reached).toEqual([]);
        expect(result.status).not.toBe(200);
      },
    );

    // Finding 2: nginx routes an absolute-form request by its request-line host (RFC 9112
    // §3.2.2) while X-Original-URL carries the Host header: www.test's open policy judged a
    // request that app.test's upstream served.
    it('request-line host ≠ Host header: refused (the auth URL carries the routed host)', async () => {
      const result = await raw(running(), `GET http://${appHost}:${port()}/admin/x HTTP/1.1`, [
        `Host: ${wwwHost}:${port()}`,
      ]);
      expect(result).toEqual({ status: 500, reached: [] });
      expect(logged(/nginx routed the request to "app.test"/)).toBe(true);
      // The same request line with its own host in Host is judged normally.
      const honest = await raw(running(), `GET http://${appHost}:${port()}/public/x HTTP/1.1`, [
        `Host: ${appHost}:${port()}`,
      ]);
      expect(honest.status).toBe(200);
      expect(honest.reached).toHaveLength(1);
    });

    // Finding 4: nginx passes `/admin/../public/x` to the upstream as it is (proxy_pass without a
    // URI), and a Koa or Express upstream routes it under /admin.
    it.each(['/admin/../public/x', '/admin/./x', '/public/../admin/x'])(
      'literal dot-segments (%s) never reach the upstream',
      async (path) => {
        const result = await raw(running(), `GET ${path} HTTP/1.1`, [`Host: ${appHost}:${port()}`]);
        expect(result).toEqual({ status: 403, reached: [] });
      },
    );

    // Finding 6: a Deny on GET let HEAD through to the catch-all.
    it('a Deny on GET covers HEAD', async () => {
      const authorization = await stack.bearer(users.alice);
      for (const method of ['GET', 'HEAD']) {
        const result = await raw(running(), `${method} /export/all HTTP/1.1`, [
          `Host: ${appHost}:${port()}`,
          `Authorization: ${authorization}`,
        ]);
        expect(result, method).toEqual({ status: 403, reached: [] });
      }
      const post = await raw(running(), 'POST /export/all HTTP/1.1', [
        `Host: ${appHost}:${port()}`,
        `Authorization: ${authorization}`,
        'Content-Length: 0',
      ]);
      expect(post).toEqual({ status: 200, reached: ['POST /export/all'] });
    });
  });
}

describe('an auth URL without ?host=$host (the 0.1.0 documentation)', () => {
  let nginx: RunningNginx | undefined;
  beforeAll(async () => {
    nginx = await startNginx({
      gatehouseUrl: stack.gatehouse.url(''),
      upstreamUrl: upstream.url,
      signInUrl,
      responseHeaders: identityHeaders,
      extraServerNames: [wwwHost],
      routedHost: false,
    });
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('is refused by default with a message that names the fix, so no request passes unchecked', async () => {
    if (nginx === undefined) throw new Error('nginx did not start');
    const result = await raw(nginx, 'GET /public/page HTTP/1.1', [
      `Host: ${appHost}:${String(nginx.port)}`,
    ]);
    expect(result).toEqual({ status: 500, reached: [] });
    expect(logged(/add \?host=\$host to the auth URL/)).toBe(true);
  });
});

// Finding 3: a plain auth_request setup that does not send X-Original-Method had every request
// judged as GET, so a guest-readable path was writable.
describe('plain nginx without X-Original-Method', () => {
  let nginx: RunningNginx | undefined;
  beforeAll(async () => {
    nginx = await startNginx({
      gatehouseUrl: stack.gatehouse.url(''),
      upstreamUrl: upstream.url,
      signInUrl,
      responseHeaders: identityHeaders,
      style: 'plain',
      omitOriginalMethod: true,
    });
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  it('is refused (400 to nginx, so 500 to the client): a DELETE is never judged as a GET', async () => {
    if (nginx === undefined) throw new Error('nginx did not start');
    const result = await raw(nginx, 'DELETE /catalogue/1 HTTP/1.1', [
      `Host: ${appHost}:${String(nginx.port)}`,
    ]);
    expect(result).toEqual({ status: 500, reached: [] });
    expect(logged(/X-Original-Method is missing/)).toBe(true);
  });
});
