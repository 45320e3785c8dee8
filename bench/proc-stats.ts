/**
 * What the kernel knows about a server process: CPU time spent (user + system, proc(5)
 * `/proc/<pid>/stat` fields 14 and 15, in clock ticks) and memory (`/proc/<pid>/status`:
 * `VmHWM`, the peak resident set size, and `VmRSS`, the current one). Reading the kernel's
 * counters costs the measured process nothing, unlike asking it over HTTP.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuTicks {
  readonly user: number;
  readonly system: number;
}

export interface MemoryUsage {
  /** Peak resident set size in bytes (`VmHWM`). */
  readonly peakRssBytes: number;
  /** Current resident set size in bytes (`VmRSS`). */
  readonly rssBytes: number;
}

/**
 * utime and stime from the text of `/proc/<pid>/stat`. The second field (the command name) is in
 * parentheses and may itself contain spaces and parentheses, so fields are counted from the LAST
 * closing parenthesis (proc(5)).
 */
export function parseProcStat(text: string): CpuTicks {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  // After ")": field 3 (state) is at index 0, so field n is at index n - 3.
  const fields = text
    .slice(end + 1)
    .trim()
    .split(/\s+/);
  const user = Number(fields[14 - 3]);
  const system = Number(fields[15 - 3]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) {
    throw new Error(`no utime/stime in /proc/<pid>/stat: ${text.slice(0, 80)}`);
  }
  return { user, system };
}

/** VmHWM and VmRSS (reported in kB) from the text of `/proc/<pid>/status`, in bytes. */
export function parseProcStatus(text: string): MemoryUsage {
  const kilobytes = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
    if (match?.[1] === undefined) throw new Error(`no ${name} in /proc/<pid>/status`);
    return Number(match[1]) * 1024;
  };
  return { peakRssBytes: kilobytes('VmHWM'), rssBytes: kilobytes('VmRSS') };
}

let ticksPerSecond: number | undefined;

/** `getconf CLK_TCK` (USER_HZ, 100 on every common Linux build), asked once. */
export function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) ticksPerSecond = 100;
  return ticksPerSecond;
}

/** CPU seconds (user + system) the process has used so far. */
export function readCpuSeconds(pid: number): number {
  const { user, system } = parseProcStat(readFileSync(`/proc/${String(pid)}/stat`, 'utf8'));
  return (user + system) / clockTicksPerSecond();
}

/** Summed CPU seconds of several processes (nginx worker + gatehouse + upstream on one core). */
export function readTotalCpuSeconds(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += readCpuSeconds(pid);
  return total;
}

export function readMemory(pid: number): MemoryUsage {
  return parseProcStatus(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
}

/** Children of a process (e.g. nginx's worker under its master), from `/proc/<pid>/task/<pid>/children`. */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${String(pid)}/task/${String(pid)}/children`, 'utf8');
    return text
      .trim()
      .split(/\s+/)
      .filter((part) => part !== '')
      .map(Number);
  } catch {
    return [];
  }
}
