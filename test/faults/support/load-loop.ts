/**
 * A bounded load loop for fault tests: `concurrency` workers, each sending one request at a
 * time (with a short pause between requests, so the loop does not starve the machine's other
 * tests), recording when each request started and ended and how it was answered. Times are
 * `performance.now()` milliseconds, comparable with the fault injection times the test records.
 */

export interface Answer {
  readonly status: number;
  /** What the request was about, for assertions on a subset (e.g. the shard of its session). */
  readonly label?: string;
}

export interface Sample {
  readonly worker: number;
  readonly startedAt: number;
  readonly endedAt: number;
  /** The HTTP status, or null when no answer came (connection refused or reset). */
  readonly status: number | null;
  /** The error code when no answer came (`ECONNREFUSED`, `ECONNRESET`...). */
  readonly error?: string;
  readonly label?: string;
}

export interface LoadOptions {
  readonly concurrency: number;
  /** Sends one request; a rejection is recorded as "no answer". */
  readonly send: (worker: number, iteration: number) => Promise<Answer>;
  /** Pause of each worker between two requests; default 5 ms. */
  readonly pauseMs?: number;
  /** Each worker stops after this many requests; default unbounded (until `stop`). */
  readonly maxRequestsPerWorker?: number;
}

export interface LoadRun {
  /** What was answered so far (a live array). */
  readonly samples: readonly Sample[];
  /** Stops sending, waits for the requests in flight, returns every sample. */
  stop(): Promise<readonly Sample[]>;
}

export function startLoad(options: LoadOptions): LoadRun {
  const samples: Sample[] = [];
  let stopped = false;
  const pauseMs = options.pauseMs ?? 5;
  const limit = options.maxRequestsPerWorker ?? Number.POSITIVE_INFINITY;
  const worker = async (id: number): Promise<void> => {
    for (let iteration = 0; !stopped && iteration < limit; iteration += 1) {
      const startedAt = performance.now();
      try {
        const answer = await options.send(id, iteration);
        samples.push({
          worker: id,
          startedAt,
          endedAt: performance.now(),
          status: answer.status,
          ...(answer.label === undefined ? {} : { label: answer.label }),
        });
      } catch (error) {
        samples.push({
          worker: id,
          startedAt,
          endedAt: performance.now(),
          status: null,
          error: errorCode(error),
        });
      }
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const workers = Array.from({ length: options.concurrency }, (_, id) => worker(id));
  return {
    samples,
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
      return samples;
    },
  };
}

function errorCode(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ?? error.message;
  }
  return String(error);
}

/** Samples whose whole life (sent and answered) lies inside [from, to]. */
export function within(samples: readonly Sample[], from: number, to: number): Sample[] {
  return samples.filter((sample) => sample.startedAt >= from && sample.endedAt <= to);
}

/** Counts of HTTP statuses: `{ '200': 180, '503': 20 }`. */
export function tallyStatuses(statuses: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[String(status)] = (counts[String(status)] ?? 0) + 1;
  return counts;
}

/** Counts by outcome: `200`, `503`, `ECONNREFUSED`... */
export function tally(samples: readonly Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const sample of samples) {
    const outcome = sample.status === null ? (sample.error ?? 'no answer') : String(sample.status);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}

/**
 * The error window after a fault at `faultAt`: from the fault to the end of the last request
 * that did not succeed (0 when none failed), and how many did not.
 */
export function errorWindow(
  samples: readonly Sample[],
  faultAt: number,
  succeeded: (sample: Sample) => boolean = (sample) => sample.status === 200,
): { readonly failures: number; readonly windowMs: number } {
  const failedAfter = samples.filter((sample) => sample.endedAt >= faultAt && !succeeded(sample));
  const lastFailure = Math.max(faultAt, ...failedAfter.map((sample) => sample.endedAt));
  return { failures: failedAfter.length, windowMs: Math.round(lastFailure - faultAt) };
}

/** Response times in milliseconds: median, 99th percentile and worst. */
export function latency(samples: readonly Sample[]): { p50: number; p99: number; max: number } {
  const durations = samples
    .map((sample) => sample.endedAt - sample.startedAt)
    .sort((a, b) => a - b);
  const at = (quantile: number) =>
    Math.round(
      durations[Math.min(durations.length - 1, Math.floor(quantile * durations.length))] ?? 0,
    );
  return { p50: at(0.5), p99: at(0.99), max: Math.round(durations.at(-1) ?? 0) };
}
