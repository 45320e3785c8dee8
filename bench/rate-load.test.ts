import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueCount, parseHeaderArgument, runRateLoad, scheduledAt } from './rate-load.ts';

describe('the schedule', () => {
  it('spaces requests evenly at the target rate', () => {
    expect(scheduledAt(1000, 0, 2000)).toBe(1000);
    expect(scheduledAt(1000, 2000, 2000)).toBe(2000);
  });
  it('makes every request due whose time has come, and never more than the total', () => {
    expect(dueCount(1000, 999, 1000, 50)).toBe(0);
    expect(dueCount(1000, 1000, 1000, 50)).toBe(1);
    expect(dueCount(1000, 1010.5, 1000, 50)).toBe(11);
    expect(dueCount(1000, 9999, 1000, 50)).toBe(50);
  });
});

describe('parseHeaderArgument', () => {
  it('keeps colons inside the value (URLs)', () => {
    expect(parseHeaderArgument('X-Original-URL: http://a.test:8080/x')).toEqual([
      'X-Original-URL',
      'http://a.test:8080/x',
    ]);
  });
});

describe('runRateLoad against a server that stalls', () => {
  let server: Server;
  let url = '';
  let stalled = false;
  beforeAll(async () => {
    server = createServer((request, response) => {
      // One 300 ms stall of the whole server, like a GC pause or a blocked event loop.
      if (!stalled && request.headers['x-stall'] === 'yes') {
        stalled = true;
        const until = Date.now() + 300;
        while (Date.now() < until) {
          // block the event loop
        }
      }
      response.statusCode = 200;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('keeps the rate and counts the requests queued behind the stall as late', async () => {
    const result = await runRateLoad({
      url,
      rate: 200,
      durationSeconds: 2,
      connections: 4,
      headers: { 'X-Stall': 'yes' },
      expectedStatus: 200,
    });
    expect(result.completed).toBe(400);
    expect(result.errors).toBe(0);
    expect(result.achievedRate).toBeGreaterThan(150);
    // About 60 requests were due during the 300 ms stall: well over 1% of 400 waited, so p99
    // shows the stall. A closed-loop generator would have sent just 4 of them (one per
    // connection) and reported a p99 near zero.
    expect(result.latencyMs.p99).toBeGreaterThan(100);
    expect(result.latencyMs.p50).toBeLessThan(50);
  });

  it('sends the warm-up at the same rate but records only the measured part', async () => {
    const result = await runRateLoad({
      url,
      rate: 200,
      durationSeconds: 0.5,
      warmupSeconds: 0.5,
      connections: 4,
      headers: {},
      expectedStatus: 200,
    });
    expect(result.scheduled).toBe(100);
    expect(result.completed).toBe(100);
    expect(result.achievedRate).toBeGreaterThan(150);
    expect(result.achievedRate).toBeLessThan(260);
  });

  it('counts answers with an unexpected status', async () => {
    const result = await runRateLoad({
      url,
      rate: 100,
      durationSeconds: 0.5,
      connections: 2,
      headers: {},
      expectedStatus: 204,
    });
    expect(result.unexpectedStatuses).toBe(result.completed);
    expect(result.firstUnexpectedStatus).toBe(200);
  });
});
