import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLoopArguments, runOpenLoop } from './openloop.ts';
import { benchToolPaths } from './tool-paths.ts';

describe('openLoopArguments', () => {
  it('passes the schedule and headers, and refuses a header it cannot send', () => {
    const args = openLoopArguments({
      url: 'http://127.0.0.1:1/x',
      rate: 999.6,
      durationSeconds: 2,
      connections: 8,
      headers: { Cookie: 'g=1' },
      expectedStatus: 200,
    });
    expect(args).toEqual([
      '-u',
      'http://127.0.0.1:1/x',
      '-r',
      '1000',
      '-d',
      '2',
      '-w',
      '0',
      '-c',
      '8',
      '-e',
      '200',
      '-t',
      '10',
      '-H',
      'Cookie: g=1',
    ]);
    expect(() =>
      openLoopArguments({
        url: 'http://a/',
        rate: 1,
        durationSeconds: 1,
        connections: 1,
        headers: { 'X-A': 'b\r\nX-B: c' },
        expectedStatus: 200,
      }),
    ).toThrow(/line break/);
  });
});

// The generator itself, built from bench/openloop/openloop.c by the same script `make bench`
// uses (a C compiler is on every machine the suite runs on; the script fails loudly otherwise).
const binary = benchToolPaths().OPENLOOP;

describe('openloop against a real server', () => {
  let server: Server;
  let url = '';
  let stallRequests = 0;
  beforeAll(async () => {
    execFileSync('bash', ['scripts/bench/ensure-tools.sh', 'openloop'], { stdio: 'ignore' });
    server = createServer((request, response) => {
      if (request.headers['x-want'] !== 'yes') {
        response.writeHead(400).end('no header');
        return;
      }
      if (request.url === '/chunked') {
        // No Content-Length: Node sends the body chunked.
        response.writeHead(200);
        response.write('part one, ');
        response.end('part two');
        return;
      }
      // The 300th request (past the warm-up) stalls the whole server for 300 ms once, like a GC
      // pause or a blocked event loop.
      if (request.url === '/stall' && ++stallRequests === 300) {
        const until = Date.now() + 300;
        while (Date.now() < until) {
          // block the event loop
        }
      }
      response.writeHead(request.url === '/teapot' ? 418 : 200, { 'Content-Length': '2' });
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );

  const run = (path: string, headers: Record<string, string> = { 'X-Want': 'yes' }) =>
    runOpenLoop(
      {
        url: `${url}${path}`,
        rate: 500,
        durationSeconds: 2,
        warmupSeconds: 0.2,
        connections: 16,
        headers,
        expectedStatus: 200,
      },
      '0',
      binary,
    );

  it('holds the rate and charges a stall to every request queued behind it', async () => {
    const result = await run('/stall');
    expect(result.generator).toBe('openloop');
    expect(result.errors).toBe(0);
    expect(result.unexpectedStatuses).toBe(0);
    expect(result.completed).toBe(1000);
    expect(result.achievedRate).toBeGreaterThan(450);
    // Requests due during the 300 ms stall wait for it: the max shows it, and more than 1% of
    // the 1,000 (those due during the stall) are late, so the p99 does too; the median does not.
    expect(result.latencyMs.max).toBeGreaterThan(250);
    expect(result.latencyMs.p99).toBeGreaterThan(50);
    expect(result.latencyMs.p50).toBeLessThan(50);
    // The wait was the server's: the generator itself sent on time.
    expect(result.sendLagMs.p99).toBeLessThan(50);
  }, 30_000);

  it('reads chunked answers, sends the headers, and counts wrong statuses', async () => {
    const chunked = await run('/chunked');
    expect(chunked.completed).toBe(1000);
    expect(chunked.unexpectedStatuses + chunked.errors).toBe(0);
    const teapot = await run('/teapot');
    expect(teapot.unexpectedStatuses).toBe(1000);
    expect(teapot.firstUnexpectedStatus).toBe(418);
    const withoutHeader = await run('/x', {});
    expect(withoutHeader.firstUnexpectedStatus).toBe(400);
  }, 30_000);
});
