import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { loadConfig, type LoadConfigResult } from '../config/load.ts';
import { definedFields } from '../defined-fields.ts';

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

/**
 * The configuration a command runs with: `--config FILE`, else `GATEHOUSE_CONFIG`, else the
 * built-in defaults, with the environment's `GATEHOUSE_*` overrides and paths relative to the
 * working directory — the same for `serve` and `config validate`, so validating a file checks
 * exactly what serving it would load.
 */
export function loadCommandConfig(
  configOption: string | undefined,
  io: CliIo,
): { readonly file: string | undefined; readonly loaded: LoadConfigResult } {
  const file = configOption ?? io.env['GATEHOUSE_CONFIG'];
  const loaded = loadConfig({ ...definedFields({ file }), env: io.env, cwd: io.cwd });
  return { file, loaded };
}

/**
 * A subcommand's arguments, parsed strictly (an unknown option is a usage error, never ignored)
 * with positionals allowed: how `check`, `test` and `diff` read theirs.
 */
export function parseCommandLine<const O extends ParseArgsOptionsConfig>(
  args: readonly string[],
  options: O,
) {
  return parseArgs({ args: [...args], allowPositionals: true, strict: true, options });
}
