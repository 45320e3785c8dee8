/**
 * Attack suite, part 1: what a client can do to the check request a proxy sends gatehouse. Each
 * case is named after the advisory or technique it reproduces and runs over real HTTP against a
 * running gatehouse. The docs/architecture.md invariants at stake: decision semantics 1 (the path is judged
 * as the proxy routes it, ambiguity is denied), security invariants 1 (fail closed), 2 (client
 * copies of identity headers never reach the upstream) and 3 (forwarded headers count only from
 * configured proxies). docs/security.md indexes these cases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiAccept,
  browserAccept,
  extAuthzCheck,
  forwardAuthCheck,
  nginxCheck,
} from '../fixtures/gatehouse/checks.ts';
import { rawExchange, send } from '../fixtures/gatehouse/http-client.ts';
import { shopHost } from '../fixtures/gatehouse/policies.ts';
import { startTestGatehouse, type TestGatehouse } from '../fixtures/gatehouse/start.ts';

/** Untrusted peer: forwarded headers from 127.0.0.1 are not believed. */
let gatehouse: TestGatehouse;
/** 127.0.0.1 is a trusted proxy (Traefik/Caddy in front). */
let behindProxy: TestGatehouse;
/** Its only policy file is broken: no snapshot was ever loaded. */
let withoutPolicy: TestGatehouse;

beforeAll(async () => {
  [gatehouse, behindProxy, withoutPolicy] = await Promise.all([
    startTestGatehouse({ logLevel: 'info' }),
    startTestGatehouse({ trustedProxies: ['127.0.0.1/32'] }),
    startTestGatehouse({ policies: 'kind: AccessPolicy\nspec: [broken\n' }),
  ]);
});
afterAll(async () => {
  await Promise.all([gatehouse.close(), behindProxy.close(), withoutPolicy.close()]);
});

/** Header values travel as latin1 bytes: this is how a client sends UTF-8 in a header. */
function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

describe('path confusion', () => {
  it('CVE-2021-41773 (Apache `.%2e` traversal): an encoded dot-segment is denied, never routed to the guest rule', async () => {
    for (const path of ['/public/.%2e/admin', '/public/%2e%2e/admin', '/public/%2E%2E/admin']) {
      const viaNginx = await nginxCheck(gatehouse, `https://${shopHost}${path}`);
      expect(viaNginx.status, path).toBe(403);
      expect(viaNginx.body).toBe('ambiguous-path\n');
      expect((await extAuthzCheck(gatehouse, shopHost, path)).status, path).toBe(403);
    }
  });

  it('raw vs normalised URI (CVE-2026-34908, Malcolm CVE-2026-63177): /public/../admin and /admin/../public/ are denied as ambiguous, whichever way the upstream resolves them', async () => {
    for (const path of ['/public/../admin', '/admin/../public/catalogue']) {
      const response = await nginxCheck(gatehouse, `https://${shopHost}${path}`);
      expect(response.status, path).toBe(403);
      expect(response.body).toBe('ambiguous-path\n');
    }
  });

  it('Envoy CVE-2019-9901 (no path normalisation before authorization): dot-segments after the ext_authz prefix are denied, repeated slashes merged', async () => {
    for (const path of ['/public/../admin', '/public/./../admin/', '/admin/../public/']) {
      const response = await extAuthzCheck(gatehouse, shopHost, path, [['Accept', apiAccept]]);
      expect(response.status, path).toBe(403);
      expect(response.body, path).toBe('ambiguous-path\n');
    }
    const merged = await extAuthzCheck(gatehouse, shopHost, '//admin', [['Accept', apiAccept]]);
    expect(merged.status).toBe(401);
  });

  it('encoded separators (Spring StrictHttpFirewall): %2F and %5C in the path are denied', async () => {
    for (const path of ['/public%2F..%2Fadmin', '/public/..%2Fadmin', '/public%5C..%5Cadmin']) {
      expect((await nginxCheck(gatehouse, `https://${shopHost}${path}`)).status, path).toBe(403);
    }
  });

  it('path parameters (Spring CVE-2020-1957 / CVE-2022-22978, Tomcat `;`): /admin;x and /public;/../admin are denied', async () => {
    for (const path of ['/admin;jsessionid=x', '/public;/../admin', '/public/%3B/admin']) {
      const response = await nginxCheck(gatehouse, `https://${shopHost}${path}`);
      expect(response.status, path).toBe(403);
      expect(response.body).toBe('ambiguous-path\n');
    }
  });

  it('overlong UTF-8 (CVE-2000-0884, CAPEC-80): %C0%AE%C0%AE and %E0%80%AF are denied', async () => {
    for (const path of ['/public/%C0%AE%C0%AE/admin', '/public/%E0%80%AF', '/public/%FF']) {
      expect((await nginxCheck(gatehouse, `https://${shopHost}${path}`)).status, path).toBe(403);
    }
  });

  it('fragment smuggling (`#` before `../`, the CVE-2021-43798 bypass behind nginx): a `#` in the path is denied', async () => {
    const response = await extAuthzCheck(gatehouse, shopHost, '/public/#/../admin');
    expect(response.status).toBe(403);
    expect(response.body).toBe('ambiguous-path\n');
  });

  it('NUL and control characters in the path (CWE-158): denied, raw ones refused as malformed', async () => {
    expect((await nginxCheck(gatehouse, `https://${shopHost}/public/%00`)).status).toBe(403);
    const raw = await rawExchange(gatehouse.url(''), {
      chunks: `GET /authz/nginx?host=${shopHost} HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URL: https://${shopHost}/public/\u0001\r\nConnection: close\r\n\r\n`,
    });
    expect(raw.statuses).toEqual([400]);
  });
});

describe('host confusion in X-Original-URL', () => {
  it('userinfo confusion (`https://shop.test@evil.test/`): refused with 400', async () => {
    for (const url of [
      `https://${shopHost}@evil.test/public/`,
      `https://evil.test@${shopHost}/public/`,
      `https://user:pass@${shopHost}/public/`,
    ]) {
      expect((await nginxCheck(gatehouse, url)).status, url).toBe(400);
    }
  });

  it('Unicode host confusion (`\\u2025`, full-width and ideographic dots, IDN look-alikes): refused with 400', async () => {
    for (const host of [
      `evil.test\u2025${shopHost}`,
      `shop\uff0etest`,
      `shop\u3002test`,
      `sh\u043ep.test`,
      `SHOP\u212Aest`,
    ]) {
      const response = await nginxCheck(gatehouse, utf8Bytes(`https://${host}/public/`));
      expect(response.status, host).toBe(400);
      expect(response.headers).not.toHaveProperty('x-auth-request-user');
    }
  });

  it('WHATWG host rewriting (`0x7f.1`, `%73hop.test`): refused as ambiguous rather than judged under either reading', async () => {
    for (const url of ['https://0x7f.1/public/', `https://%73hop.test/public/`]) {
      expect((await nginxCheck(gatehouse, url)).status, url).toBe(400);
    }
  });

  it('Authelia CVE-2021-32637 (GHSA-68wm-pfjf-wqp6, malformed URL allowed): a malformed X-Original-URL is 400, never 200', async () => {
    const malformed = [
      undefined,
      `${shopHost}/public/`,
      '/public/',
      'https://',
      'https:///public/',
      `https://${shopHost}:99999/public/`,
      `ftp://${shopHost}/public/`,
      'javascript:alert(1)',
      `https://${shopHost}/public/ catalogue`,
    ];
    for (const url of malformed) {
      const response = await nginxCheck(gatehouse, url);
      expect(response.status, String(url)).toBe(400);
    }
  });
});

describe('header smuggling', () => {
  it('duplicate X-Original-URL (a second copy added on the way): 400, never judged on either copy', async () => {
    const response = await send(gatehouse.url(''), {
      path: `/authz/nginx?host=${shopHost}`,
      headers: [
        ['X-Original-Method', 'GET'],
        ['X-Original-URL', `https://${shopHost}/public/`],
        ['X-Original-URL', `https://${shopHost}/admin`],
      ],
    });
    expect(response.status).toBe(400);
  });

  it('CL.TE request smuggling (RFC 9112 §6.1, Transfer-Encoding with Content-Length): refused with 400, the smuggled request never answered', async () => {
    const smuggled = `GET /authz/nginx?host=${shopHost} HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URL: https://${shopHost}/public/\r\n\r\n`;
    const exchange = await rawExchange(gatehouse.url(''), {
      chunks:
        'GET /authz/nginx HTTP/1.1\r\nHost: x\r\n' +
        `X-Original-URL: https://${shopHost}/admin\r\n` +
        `Content-Length: ${String(5 + smuggled.length)}\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `0\r\n\r\n${smuggled}`,
    });
    expect(exchange.statuses).toEqual([400]);
  });

  it('Content-Length obfuscation (CVE-2024-27982, space before the colon): refused with 400', async () => {
    const exchange = await rawExchange(gatehouse.url(''), {
      chunks:
        'GET /authz/nginx HTTP/1.1\r\nHost: x\r\n' +
        `X-Original-URL: https://${shopHost}/public/\r\nContent-Length : 3\r\n\r\nabc`,
    });
    expect(exchange.statuses).toEqual([400]);
  });

  it('obsolete line folding (RFC 9112 §5.2) continuing X-Original-URL: refused with 400', async () => {
    const exchange = await rawExchange(gatehouse.url(''), {
      chunks:
        'GET /authz/nginx HTTP/1.1\r\nHost: x\r\n' +
        `X-Original-URL: https://${shopHost}/admin\r\n /../public/\r\nConnection: close\r\n\r\n`,
    });
    expect(exchange.statuses).toEqual([400]);
  });

  it('bare CR and bare LF line endings (CVE-2023-30589 family): refused with 400', async () => {
    for (const ending of ['\r', '\n']) {
      const exchange = await rawExchange(gatehouse.url(''), {
        chunks:
          `GET /authz/nginx?host=${shopHost} HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URL: https://${shopHost}/public/` +
          `${ending}X-Original-Method: GET\r\nConnection: close\r\n\r\n`,
      });
      expect(exchange.statuses, JSON.stringify(ending)).toEqual([400]);
    }
  });
});

describe('forwarded-header spoofing', () => {
  it('X-Forwarded-Host/-Uri/-Method on /authz/nginx (nginx passes the client copies through): ignored', async () => {
    const response = await nginxCheck(gatehouse, `https://${shopHost}/admin`, [
      ['X-Forwarded-Host', shopHost],
      ['X-Forwarded-Uri', '/public/catalogue'],
      ['X-Forwarded-Method', 'GET'],
      ['X-Original-URI', '/public/catalogue'],
    ]);
    expect(response.status).toBe(401);
  });

  it('X-Forwarded-* from a peer that is not a trusted proxy: forward-auth answers 400 instead of believing them', async () => {
    const response = await forwardAuthCheck(gatehouse, { host: shopHost, uri: '/public/' });
    expect(response.status).toBe(400);
    expect(response.headers).not.toHaveProperty('x-auth-request-user');
  });

  it('Traefik CVE-2021-32813 / CVE-2024-45410 (`Connection: X-Forwarded-Host` strips the header the proxy set): a missing forwarded header is 400, never a default', async () => {
    for (const stripped of ['X-Forwarded-Host', 'X-Forwarded-Uri', 'X-Forwarded-Method']) {
      const headers = (
        [
          ['X-Forwarded-Method', 'GET'],
          ['X-Forwarded-Proto', 'https'],
          ['X-Forwarded-Host', shopHost],
          ['X-Forwarded-Uri', '/admin'],
        ] as const
      ).filter(([name]) => name !== stripped);
      const response = await send(behindProxy.url(''), {
        path: '/authz/forward-auth',
        headers: [...headers, ['Connection', `close, ${stripped}`]],
      });
      expect(response.status, stripped).toBe(400);
    }
  });

  it('X-Real-IP / X-Forwarded-For spoofing: the audit trail names the socket peer', async () => {
    const response = await nginxCheck(gatehouse, `https://${shopHost}/admin`, [
      ['X-Real-IP', '203.0.113.66'],
      ['X-Forwarded-For', '198.51.100.77, 203.0.113.66'],
    ]);
    expect(response.status).toBe(401);
    const requestId = String(response.headers['x-request-id']);
    const entries = gatehouse.logs.matching({ requestId, logger: 'gatehouse.audit' });
    expect(entries).toHaveLength(1);
    expect(entries[0]?.['client']).toBe('127.0.0.1');
  });
});

describe('identity header forgery', () => {
  it('Caddy GHSA-7r4p-vjf4-gxv4 (client copies of identity headers survive): a request carrying one is refused with 403', async () => {
    for (const name of ['X-Auth-Request-User', 'Remote-User', 'X-Gatehouse-Assertion']) {
      const response = await nginxCheck(gatehouse, `https://${shopHost}/public/`, [
        [name, 'admin'],
      ]);
      expect(response.status, name).toBe(403);
      expect(response.body).toBe('forged-identity-header\n');
    }
  });

  it('underscore spelling (`X_Auth_Request_User` read as HTTP_X_AUTH_REQUEST_USER by CGI/WSGI, PEP 3333): refused too', async () => {
    const response = await forwardAuthCheck(behindProxy, { host: shopHost, uri: '/public/' }, [
      ['X_Auth_Request_User', 'admin'],
    ]);
    expect(response.status).toBe(403);
  });

  it('Envoy keeps client copies of headers the auth response omits: x-envoy-auth-headers-to-remove lists every other identity header, both spellings', async () => {
    const response = await extAuthzCheck(gatehouse, shopHost, '/public/');
    expect(response.status).toBe(200);
    const removed = String(response.headers['x-envoy-auth-headers-to-remove']).split(',');
    expect(removed).toEqual(
      expect.arrayContaining(['remote-user', 'remote_user', 'x-gatehouse-assertion']),
    );
  });
});

describe('proxy contracts that fail open when broken', () => {
  it('ingress-nginx auth-url (any 3xx from the auth service becomes a 500): the nginx dialect answers 401 with Location, for browsers too', async () => {
    const response = await nginxCheck(gatehouse, `https://${shopHost}/admin`, [
      ['Accept', browserAccept],
    ]);
    expect(response.status).toBe(401);
    expect(response.headers.location).toMatch(/^https:\/\/auth\.shop\.test\/oauth2\/start\?rd=/);
  });

  it('ingress-nginx CVE-2026-24513 (custom-http-errors backend ignoring X-Code): the denial is carried by the status alone, 401/403 for every Accept', async () => {
    for (const accept of [browserAccept, apiAccept, '*/*']) {
      expect(
        (await nginxCheck(gatehouse, `https://${shopHost}/admin`, [['Accept', accept]])).status,
      ).toBe(401);
      expect(
        (await nginxCheck(gatehouse, `https://${shopHost}/metrics`, [['Accept', accept]])).status,
      ).toBe(403);
    }
  });

  it('fail closed (invariant 1): with no policy loaded every dialect answers 503, never 2xx', async () => {
    expect((await nginxCheck(withoutPolicy, `https://${shopHost}/public/`)).status).toBe(503);
    expect((await extAuthzCheck(withoutPolicy, shopHost, '/public/')).status).toBe(503);
  });
});
