import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luaString, parseWrkOutput, runWrk, wrkScript } from './wrk.ts';

const wrkOutput = `Running 3s test @ http://127.0.0.1:4000/authz/nginx
  1 threads and 64 connections
  Latency Distribution
     50%    2.10ms
     99%    5.00ms
  30000 requests in 3.00s, 2.00MB read
Requests/sec:  10000.00
BENCH_WRK {"requests":30000,"durationUs":3000000,"errors":{"connect":0,"read":1,"write":0,"status":0,"timeout":2},"latencyUs":{"p50":2100,"p99":5000,"p999":9100,"max":12000},"unexpected":3,"firstUnexpected":401}
`;

describe('parseWrkOutput', () => {
  it('turns the done() line into requests per second and millisecond latencies', () => {
    const result = parseWrkOutput(wrkOutput);
    expect(result.requestsPerSecond).toBe(10_000);
    expect(result.latencyMs).toEqual({ p50: 2.1, p99: 5, p999: 9.1, max: 12 });
    expect(result.errors).toEqual({ connect: 0, read: 1, write: 0, timeout: 2 });
  });
  it('reports answers with a wrong status, so the scenario can fail on them', () => {
    const result = parseWrkOutput(wrkOutput);
    expect(result.unexpectedStatuses).toBe(3);
    expect(result.firstUnexpectedStatus).toBe(401);
  });
  it('fails with wrk output when the script printed nothing (wrk crashed or was killed)', () => {
    expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n')).toThrow(
      /Connection refused/,
    );
  });
});

describe('wrkScript', () => {
  it('escapes quotes and refuses characters LuaJIT cannot take literally', () => {
    expect(luaString('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(() => luaString('Zoë')).toThrow(/printable ASCII/);
  });

  it('puts the headers, the rotation and the expected status into the script', () => {
    const script = wrkScript({
      url: 'http://127.0.0.1:1/authz/nginx',
      headers: { 'X-Original-URL': 'http://bench.test/public/', Cookie: '_gatehouse=v1.a.b' },
      rotate: { header: 'X-Original-URL', values: ['http://h1.test/', 'http://h2.test/'] },
      expectedStatus: 202,
    });
    expect(script).toContain('wrk.headers["Cookie"] = "_gatehouse=v1.a.b"');
    expect(script).toContain('local rotating = { "http://h1.test/", "http://h2.test/" }');
    expect(script).toContain('local expected = 202');
  });
});

describe('runWrk against a real server (wrk from Debian)', () => {
  let server: Server;
  let url = '';
  const seenHosts = new Set<string>();
  beforeAll(async () => {
    server = createServer((request, response) => {
      seenHosts.add(String(request.headers['x-original-url']));
      response.statusCode = request.headers.cookie === 'ok=1' ? 200 : 401;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/authz/nginx`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const options = { connections: 4, durationSeconds: 1, timeoutSeconds: 2 };

  it('measures a server answering the expected status, rotating the header', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
    const result = await runWrk(
      {
        url,
        headers: { Cookie: 'ok=1' },
        rotate: { header: 'X-Original-URL', values: ['http://h1.test/', 'http://h2.test/'] },
        expectedStatus: 200,
      },
      options,
      scratch,
    );
    expect(result.requests).toBeGreaterThan(100);
    expect(result.unexpectedStatuses).toBe(0);
    expect(result.latencyMs.p999).toBeGreaterThanOrEqual(result.latencyMs.p50);
    expect(seenHosts).toEqual(new Set(['http://h1.test/', 'http://h2.test/']));
  });

  it('counts every wrong answer when the server refuses the credentials', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
    const result = await runWrk(
      { url, headers: { Cookie: 'stale=1' }, expectedStatus: 200 },
      options,
      scratch,
    );
    expect(result.unexpectedStatuses).toBe(result.requests);
    expect(result.firstUnexpectedStatus).toBe(401);
  });
});
