/**
 * The machine and tool versions a result was measured with, recorded next to the numbers: a
 * figure without them cannot be compared with anything.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  /** 1/5/15-minute load averages when the run started: a busy machine makes noisy numbers. */
  readonly loadAverageAtStart: readonly number[];
  readonly versions: Readonly<Record<string, string>>;
}

/**
 * The version a command prints, or `not available`; never throws. Both streams are read and the
 * exit status ignored: `nginx -v` prints to standard error, `wrk -v` exits 1 after printing.
 */
function versionOf(command: string, args: readonly string[], pattern: RegExp): string {
  const run = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const text = `${run.stdout}${run.stderr}`;
  return pattern.exec(text)?.[1] ?? 'not available';
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1] !== undefined) return match[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(options: {
  oauth2ProxyBinary: string;
  redisVersion: string;
}): MachineInfo {
  return {
    // `nproc --all`: plain `nproc` counts only the CPUs this process may run on.
    cpus: Number(versionOf('nproc', ['--all'], /^(\d+)/)) || cpus().length,
    cpuModel: cpuModel(),
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    versions: {
      node: process.version,
      nginx: versionOf('nginx', ['-v'], /nginx\/(\S+)/),
      wrk: versionOf('wrk', ['-v'], /wrk (\S+)/),
      'oauth2-proxy': versionOf(options.oauth2ProxyBinary, ['--version'], /oauth2-proxy (\S+)/),
      redis: options.redisVersion,
    },
  };
}
