/**
 * A server under test as its own process, pinned to the server core with `taskset -c <cpu>`
 * (util-linux; taskset execs the command, so the child's pid IS the server's pid and
 * /proc/<pid> reads the server). Output goes to a log file; a Node server announces its URL
 * with a `BENCH_READY <url>` line (servers/ready-line.ts), other servers are ready once their
 * port accepts connections.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { readyMarker } from './servers/ready-line.ts';

export interface PinnedProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** `taskset -c` CPU list; undefined: not pinned. */
  readonly cpu: string | undefined;
  readonly logPath: string;
  /**
   * How readiness is known: the `BENCH_READY` line, or a TCP port that accepts connections
   * (nginx, oauth2-proxy).
   */
  readonly ready: { readonly kind: 'line' } | { readonly kind: 'port'; readonly port: number };
  readonly timeoutMs?: number;
}

export interface PinnedProcess {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly logPath: string;
  /** The last lines of the log, for failure messages. */
  logTail(lines?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Servers must not outlive a runner that crashed or was interrupted. */
function killLiveOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of live) child.kill('SIGKILL');
      process.exit(130);
    });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function startPinnedProcess(options: PinnedProcessOptions): Promise<PinnedProcess> {
  killLiveOnExit();
  const [command, args] =
    options.cpu === undefined
      ? [options.command, options.args]
      : ['taskset', ['-c', options.cpu, options.command, ...options.args]];
  const log = createWriteStream(options.logPath, { flags: 'a' });
  await new Promise((resolve) => log.once('open', resolve));
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', log],
    env: options.env ?? process.env,
  });
  live.add(child);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => {
      resolve(error.message);
    });
    child.once('exit', (code, signal) => {
      resolve(String(code ?? signal));
    });
  }).finally(() => live.delete(child));

  const logTail = async (lines = 30): Promise<string> => {
    try {
      const text = await readFile(options.logPath, 'utf8');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  let announced: string | undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (announced === undefined && line.startsWith(readyMarker)) {
      announced = line.slice(readyMarker.length).trim();
    }
    log.write(`${line}\n`);
  });

  const stop = async (graceMs = 5_000): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    lines.close();
    await new Promise((resolve) => log.end(resolve));
  };

  let exitReason: string | undefined;
  void exited.then((reason) => (exitReason = reason));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (exitReason !== undefined) break;
    let url: string | undefined;
    if (options.ready.kind === 'line') url = announced;
    else if (await canConnect(options.ready.port)) {
      url = `http://127.0.0.1:${String(options.ready.port)}`;
    }
    if (url !== undefined && child.pid !== undefined) {
      return { name: options.name, pid: child.pid, url, logPath: options.logPath, logTail, stop };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await stop(1_000);
  const why = exitReason === undefined ? 'did not become ready in time' : `exited (${exitReason})`;
  throw new Error(`${options.name} ${why}; log ${options.logPath}:\n${await logTail()}`);
}
