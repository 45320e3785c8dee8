/**
 * Whether the half-load figures (bench/run.ts) and the soak (bench/soak.ts) run with idle
 * spinners on both cores (`keepCoresAwake`, bench/openloop.ts), decided per machine and per rate
 * by measuring the harness floor both ways (`--keep-awake auto`, the default) or forced (`on`,
 * `off`).
 */
import { keepCoresAwake, runOpenLoop } from './openloop.ts';
import type { RateLoadOptions } from './rate-load.ts';
import { selectScenarios, type BenchContext } from './scenarios.ts';

/** Whether the half-load figures run with idle spinners, and the measurement that decided it. */
export interface KeepAwakeChoice {
  readonly mode: 'auto' | 'on' | 'off';
  readonly keepAwake: boolean;
  /** `auto` only: the calibration's p99 each way, at `rate`, against `target`. */
  readonly calibration?: {
    readonly target: string;
    readonly rate: number;
    readonly withSpinnersP99Ms: number;
    readonly withoutP99Ms: number;
  };
}

/**
 * Decides, for `--keep-awake auto`, whether this machine's half-load figures at `rate` are truer
 * with the idle spinners or without them, by measuring the harness floor both ways: `target`
 * (the bare node:http server of (a)) at `rate` for a few seconds each. On a VM whose
 * halted vCPU takes milliseconds to wake, the spinners take that out of the tail (2.6 → 0.29 ms
 * p99 at 10,000 req/s on the machine of 2026-12-06 morning); on one that wakes fast they only add
 * a context switch per wake-up (bare node:http at 45,000 req/s: 4.2 ms p99 with, 1.1 ms without,
 * 2026-12-06 afternoon). The choice is made on the reference server, never on a scenario's own
 * figures, and is recorded with the results.
 */
async function calibrateKeepAwake(
  binary: string,
  cpus: readonly string[],
  loadCpu: string,
  target: Omit<RateLoadOptions, 'rate' | 'durationSeconds' | 'warmupSeconds'> & {
    readonly label: string;
  },
  rate: number,
): Promise<KeepAwakeChoice> {
  const once = async (spinners: boolean): Promise<number> => {
    const wake = spinners ? keepCoresAwake(binary, cpus) : undefined;
    try {
      const { label: _label, ...options } = target;
      const result = await runOpenLoop(
        { ...options, rate, durationSeconds: 3, warmupSeconds: 1 },
        loadCpu,
        binary,
      );
      return result.latencyMs.p99;
    } finally {
      wake?.();
    }
  };
  const withoutP99Ms = await once(false);
  const withSpinnersP99Ms = await once(true);
  return {
    mode: 'auto',
    keepAwake: withSpinnersP99Ms < withoutP99Ms,
    calibration: { target: target.label, rate, withSpinnersP99Ms, withoutP99Ms },
  };
}

/** Decides, rate by rate, whether idle spinners run (`choose`); `stop` ends its reference. */
export interface KeepAwakeChooser {
  choose(rate: number): Promise<KeepAwakeChoice>;
  stop(): Promise<void>;
}

/**
 * `--keep-awake on|off`: the same answer at every rate. `auto`: the bare node:http server of (a)
 * is started as the reference (pinned to the server core, idle between calibrations) and
 * measured at each half-load rate both ways before that rate's windows: whether the spinners help
 * depends on the rate (on the machine of 2026-12-06 afternoon they halved the floor's p99 at
 * 20,000 req/s and made it collapse at 41,000).
 */
export async function keepAwakeChooser(
  mode: 'auto' | 'on' | 'off',
  context: BenchContext,
  options: { readonly serverCpu: string; readonly loadCpu: string; readonly connections: number },
  openLoopBinary: string,
  say: (message: string) => void,
): Promise<KeepAwakeChooser> {
  if (mode !== 'auto') {
    const fixed: KeepAwakeChoice = { mode, keepAwake: mode === 'on' };
    return { choose: () => Promise.resolve(fixed), stop: () => Promise.resolve() };
  }
  const [reference] = selectScenarios(['a']);
  if (reference === undefined) throw new Error('scenario (a) is missing');
  const target = await reference.start(context);
  const { url, headers, expectedStatus } = target.request;
  let stopped = false;
  return {
    async choose(rate: number): Promise<KeepAwakeChoice> {
      say(`idle spinners or not: ${reference.label} at ${rate.toFixed(0)} req/s, 4 s each way`);
      const choice = await calibrateKeepAwake(
        openLoopBinary,
        [options.serverCpu, options.loadCpu],
        options.loadCpu,
        { label: reference.label, url, headers, expectedStatus, connections: options.connections },
        Math.round(rate),
      );
      say(keepAwakeLine(choice));
      return choice;
    },
    // Once: the soak stops it as soon as its one rate is calibrated, and again on the way out.
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await target.stop();
    },
  };
}

export function keepAwakeLine(choice: KeepAwakeChoice): string {
  const state = choice.keepAwake ? 'idle spinners on' : 'idle spinners off';
  const calibration = choice.calibration;
  if (calibration === undefined) return `${state} (--keep-awake ${choice.mode})`;
  return `${state} (--keep-awake auto: ${calibration.target} at ${String(calibration.rate)} req/s had a p99 of ${calibration.withSpinnersP99Ms.toFixed(2)} ms with them, ${calibration.withoutP99Ms.toFixed(2)} ms without)`;
}
