/**
 * Drives bench/openloop/openloop.c, the open-loop generator of the half-load figures (issue 17:
 * the Node generator in rate-load.ts could not hold (a)'s rate, and vegeta's Go timers round
 * sub-millisecond sleeps up to 1 ms). scripts/bench/ensure-tools.sh builds it; the C file's
 * header says how it paces and why latencies count from the scheduled time.
 *
 * It can also keep the cores awake while a half-load figure is taken (`keepCoresAwake`): on some
 * of the virtual machines these benchmarks run on, an idle vCPU that halts takes milliseconds to
 * run again, which would put the hypervisor's wake-up time into every half-loaded server's tail;
 * on others the spinners cost more than they save. `calibrateKeepAwake` measures which.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { RateLoadOptions, RateLoadResult } from './rate-load.ts';

const execFileAsync = promisify(execFile);

/** openloop's command line for `options` (without the binary). */
export function openLoopArguments(options: RateLoadOptions): string[] {
  const args = [
    '-u',
    options.url,
    '-r',
    String(Math.max(1, Math.round(options.rate))),
    '-d',
    String(options.durationSeconds),
    '-w',
    String(options.warmupSeconds ?? 0),
    '-c',
    String(options.connections),
    '-e',
    String(options.expectedStatus),
    '-t',
    String((options.timeoutMs ?? 10_000) / 1000),
  ];
  for (const [name, value] of Object.entries(options.headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
      throw new Error(`header ${name} holds a line break; openloop cannot send it`);
    }
    args.push('-H', `${name}: ${value}`);
  }
  return args;
}

/** Runs openloop pinned to `cpu` (the load core) and returns its summary. */
export async function runOpenLoop(
  options: RateLoadOptions,
  cpu: string,
  binary: string,
): Promise<RateLoadResult> {
  const seconds = options.durationSeconds + (options.warmupSeconds ?? 0);
  const { stdout } = await execFileAsync(
    'taskset',
    ['-c', cpu, binary, ...openLoopArguments(options)],
    {
      maxBuffer: 1024 * 1024,
      timeout: (seconds + (options.timeoutMs ?? 10_000) / 1000 + 60) * 1000,
    },
  );
  return JSON.parse(stdout) as RateLoadResult;
}

/**
 * One SCHED_IDLE spinner (`openloop -S`) per CPU in `cpus`: it runs only when nothing else wants
 * the CPU, so it takes no time from the server, the generator or Redis, but the vCPU never halts.
 * Returns the function that stops them.
 */
export function keepCoresAwake(binary: string, cpus: readonly string[]): () => void {
  const spinners = cpus.map((cpu) =>
    spawn('taskset', ['-c', cpu, binary, '-S'], { stdio: 'ignore' }),
  );
  return () => {
    for (const spinner of spinners) spinner.kill('SIGKILL');
  };
}
