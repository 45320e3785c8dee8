/** One `gatehouse` subcommand. `run` returns the process exit status; it never calls exit. */
export interface CliCommand {
  readonly name: string;
  /** One line for `gatehouse --help`. */
  readonly summary: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Where a command writes and what it reads, injected so tests run commands in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
};
