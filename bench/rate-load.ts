/**
 * A constant-rate, open-loop load generator for the half-load latency figures, because Debian
 * has no wrk2. Request i is due at `start + i / rate` whatever happened to the earlier ones, and
 * its latency is measured from that SCHEDULED time, not from when it was actually sent: a server
 * that stalls then sees every request queued behind the stall count as late, which is what its
 * users see. Measuring from the send time would hide exactly those waits (Gil Tene's
 * "coordinated omission"; wrk2's README describes the same correction).
 *
 * Run as a process pinned to the load core:
 *   taskset -c 1 node bench/rate-load.ts --url URL --rate 5000 --duration 10 [--warmup 2] \
 *     [--connections 64] [--header 'Name: value']... [--expect 200]
 * It prints one JSON line (RateLoadResult) on standard output.
 */
import { execFile } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { percentileOfSorted } from './stats.ts';

export interface RateLoadOptions {
  readonly url: string;
  /** Requests per second. */
  readonly rate: number;
  readonly durationSeconds: number;
  /**
   * Seconds sent at the same rate BEFORE the measured part and not recorded: connections open,
   * both processes' JIT warms up. Default 0.
   */
  readonly warmupSeconds?: number;
  /** Keep-alive connections at most; a request finding none free waits (and that wait counts). */
  readonly connections: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly expectedStatus: number;
  /** A request not answered this long after its scheduled time counts as an error. */
  readonly timeoutMs?: number;
}

export interface RateLoadResult {
  readonly targetRate: number;
  readonly scheduled: number;
  readonly completed: number;
  /** Answered requests per second over the whole run. */
  readonly achievedRate: number;
  /** Milliseconds from the scheduled time to the end of the answer. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
  };
  /**
   * How late the generator itself sent requests (ms, p99 and max). When this is not far below
   * the latencies, the generator was the bottleneck and the figures overstate the server's.
   */
  readonly sendLagMs: { readonly p99: number; readonly max: number };
  readonly errors: number;
  readonly unexpectedStatuses: number;
  readonly firstUnexpectedStatus: number;
  readonly firstError?: string;
  /** Which generator sent the load: openloop (bench/openloop/openloop.c) or this file's Node loop. */
  readonly generator?: 'openloop' | 'node';
  /** Whether idle spinners kept the cores from halting meanwhile (bench/openloop.ts). */
  readonly coresKeptAwake?: boolean;
}

/** When request `index` is due, in the clock of `start` (ms), for `rate` requests per second. */
export function scheduledAt(start: number, index: number, rate: number): number {
  return start + (index * 1000) / rate;
}

/** How many requests are due at `now`: every index whose scheduled time is not in the future. */
export function dueCount(start: number, now: number, rate: number, total: number): number {
  if (now < start) return 0;
  return Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
}

export function summariseLatencies(latenciesMs: Float64Array): RateLoadResult['latencyMs'] {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    p50: percentileOfSorted(sorted, 50),
    p99: percentileOfSorted(sorted, 99),
    p999: percentileOfSorted(sorted, 99.9),
    max: percentileOfSorted(sorted, 100),
  };
}

export async function runRateLoad(options: RateLoadOptions): Promise<RateLoadResult> {
  const url = new URL(options.url);
  const measured = Math.max(1, Math.round(options.rate * options.durationSeconds));
  const warmup = Math.round(options.rate * (options.warmupSeconds ?? 0));
  const total = warmup + measured;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies = new Float64Array(measured);
  const sendLags = new Float64Array(measured);
  let measuring = false;
  let measuredStart = 0;
  let measuredEnd = 0;
  let completed = 0;
  let settled = 0;
  let errors = 0;
  let unexpected = 0;
  let firstUnexpected = 0;
  let firstError: string | undefined;
  let sent = 0;

  const start = performance.now() + 5;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settle = (): void => {
    settled++;
    if (settled === total) finish();
  };

  const send = (index: number): void => {
    const due = scheduledAt(start, index, options.rate);
    const recorded = index >= warmup;
    if (recorded) sendLags[index - warmup] = performance.now() - due;
    const req = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: options.headers,
      },
      (res) => {
        res.resume();
        res.once('end', () => {
          const now = performance.now();
          if (recorded) {
            latencies[completed++] = now - due;
            measuredEnd = now;
          }
          if (res.statusCode !== options.expectedStatus) {
            unexpected++;
            if (firstUnexpected === 0) firstUnexpected = res.statusCode ?? -1;
          }
          settle();
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (error) => {
      errors++;
      firstError ??= error.message;
      settle();
    });
    req.end();
  };

  // Sends whatever is due, then sleeps until the next request is due. setTimeout has a 1 ms
  // granularity, so at high rates requests leave in small bursts; each still carries its own
  // scheduled time.
  const pump = (): void => {
    const due = dueCount(start, performance.now(), options.rate, total);
    if (!measuring && due > warmup) {
      measuring = true;
      measuredStart = scheduledAt(start, warmup, options.rate);
    }
    while (sent < due) send(sent++);
    if (sent < total) {
      const wait = scheduledAt(start, sent, options.rate) - performance.now();
      if (wait > 1) setTimeout(pump, Math.floor(wait));
      else setImmediate(pump);
    }
  };
  setTimeout(pump, 5);
  await finished;
  const elapsedSeconds = Math.max(1e-3, (measuredEnd - measuredStart) / 1000);
  agent.destroy();

  const lags = Float64Array.from(sendLags).sort();
  return {
    targetRate: options.rate,
    scheduled: measured,
    completed,
    achievedRate: completed / elapsedSeconds,
    latencyMs: summariseLatencies(latencies.subarray(0, completed)),
    sendLagMs: { p99: percentileOfSorted(lags, 99), max: percentileOfSorted(lags, 100) },
    errors,
    unexpectedStatuses: unexpected,
    firstUnexpectedStatus: firstUnexpected,
    ...(firstError === undefined ? {} : { firstError }),
    generator: 'node',
  };
}

const execFileAsync = promisify(execFile);

/**
 * Runs the generator as its own process pinned with `taskset -c <cpu>` (the load core), so it
 * neither shares the server's core nor the runner's event loop.
 */
export async function runPinnedRateLoad(
  options: RateLoadOptions,
  cpu: string,
): Promise<RateLoadResult> {
  const headers = Object.entries(options.headers).flatMap(([name, value]) => [
    '--header',
    `${name}: ${value}`,
  ]);
  const { stdout } = await execFileAsync(
    'taskset',
    [
      '-c',
      cpu,
      process.execPath,
      new URL(import.meta.url).pathname,
      '--url',
      options.url,
      '--rate',
      String(Math.max(1, Math.round(options.rate))),
      '--duration',
      String(options.durationSeconds),
      '--warmup',
      String(options.warmupSeconds ?? 0),
      '--connections',
      String(options.connections),
      '--expect',
      String(options.expectedStatus),
      ...headers,
    ],
    {
      maxBuffer: 4 * 1024 * 1024,
      timeout: (options.durationSeconds + (options.warmupSeconds ?? 0) + 60) * 1000,
    },
  );
  return JSON.parse(stdout) as RateLoadResult;
}

/** `Name: value` → [name, value]. */
export function parseHeaderArgument(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new Error(`--header must look like "Name: value", got "${text}"`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '0' },
      connections: { type: 'string', default: '64' },
      header: { type: 'string', multiple: true, default: [] },
      expect: { type: 'string', default: '200' },
    },
    strict: true,
  });
  if (values.url === undefined || values.rate === undefined) {
    throw new Error('usage: node bench/rate-load.ts --url URL --rate N [--duration S] ...');
  }
  const result = await runRateLoad({
    url: values.url,
    rate: Number(values.rate),
    durationSeconds: Number(values.duration),
    warmupSeconds: Number(values.warmup),
    connections: Number(values.connections),
    headers: Object.fromEntries(values.header.map(parseHeaderArgument)),
    expectedStatus: Number(values.expect),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`rate-load: ${String(error)}\n`);
    process.exit(1);
  });
}
