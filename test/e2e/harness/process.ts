/**
 * Child processes for the e2e proxies (nginx, Caddy): find the binary or fail with the fix,
 * start it through the shared ManagedProcess (output in a log file, killed if the test process
 * exits), and wait until it accepts TCP connections.
 */
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { ManagedProcess } from '../../fixtures/kube/managed-process.ts';

/**
 * Debian installs nginx in /usr/sbin, which is not on every user's PATH, so the sbin
 * directories are searched too.
 */
const extraDirectories = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * The absolute path of `name`, or an Error that says how to install it. The e2e suite must
 * fail rather than skip when a proxy is missing: a skipped suite looks green in CI.
 */
export function requireExecutable(name: string): string {
  const directories = [...(process.env['PATH'] ?? '').split(delimiter), ...extraDirectories];
  for (const directory of directories) {
    if (directory === '') continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(
    `${name} is not installed, and the e2e tests run the real proxy: run \`make prerequisites\` ` +
      '(scripts/prerequisites.sh installs nginx, libnginx-mod-http-set-misc and caddy)',
  );
}

/** Fails with the same advice when a file the proxy loads (an nginx module) is missing. */
export function requireFile(path: string, packageName: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new Error(
      `${path} is missing (Debian package ${packageName}): run \`make prerequisites\``,
    );
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
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

export interface StartedProcess {
  readonly process: ManagedProcess;
  /** SIGTERM, then SIGKILL after a short grace: test proxies hold no state worth waiting for. */
  stop(): Promise<void>;
}

export interface StartProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
  /** The loopback port the process listens on once it is ready. */
  readonly port: number;
  readonly timeoutMs?: number;
}

/**
 * Starts the process and resolves once `127.0.0.1:<port>` accepts connections. Rejects with
 * the tail of its log when it exits first or does not listen in time.
 */
export async function startProcess(options: StartProcessOptions): Promise<StartedProcess> {
  const managed = new ManagedProcess({
    name: options.name,
    command: options.command,
    args: options.args,
    logPath: options.logPath,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  managed.start();
  const stop = () => managed.stop(2_000);
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let exited: Error | undefined;
  void managed.exited().then((error) => (exited = error));
  while (Date.now() < deadline) {
    if (await canConnect('127.0.0.1', options.port)) return { process: managed, stop };
    if (exited !== undefined || !managed.running) {
      throw exited ?? (await managed.exited());
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await stop();
  throw new Error(
    `${options.name} did not listen on 127.0.0.1:${String(options.port)} in time; ${await managed.describeLog()}`,
  );
}
