import { describe, expect, it } from 'vitest';
import { parseProcStat, parseProcStatus, readCpuSeconds, readMemory } from './proc-stats.ts';

describe('parseProcStat', () => {
  it('reads utime and stime after a command name holding spaces and parentheses', () => {
    const line =
      '4242 (node (bench) x) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 11 0 100 1000000 5000';
    expect(parseProcStat(line)).toEqual({ user: 1234, system: 567 });
  });
  it('refuses text that is not a stat line', () => {
    expect(() => parseProcStat('garbage')).toThrow(/not a \/proc/);
  });
});

describe('parseProcStatus', () => {
  it('converts VmHWM and VmRSS from kB to bytes', () => {
    const text = 'Name:\tnode\nVmPeak:\t 900000 kB\nVmHWM:\t  120000 kB\nVmRSS:\t  100000 kB\n';
    expect(parseProcStatus(text)).toEqual({
      peakRssBytes: 120000 * 1024,
      rssBytes: 100000 * 1024,
    });
  });
});

describe('reading this process', () => {
  it('sees CPU time grow while the process works and a resident set in the megabytes', () => {
    const before = readCpuSeconds(process.pid);
    const until = Date.now() + 150;
    let spin = 0;
    while (Date.now() < until) spin++;
    expect(spin).toBeGreaterThan(0);
    expect(readCpuSeconds(process.pid)).toBeGreaterThan(before);
    const memory = readMemory(process.pid);
    expect(memory.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(memory.peakRssBytes).toBeGreaterThanOrEqual(memory.rssBytes);
  });
});
