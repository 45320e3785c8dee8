import type { CliCommand } from '../command.ts';
import { checkCommand } from './check.ts';
import { configCommand } from './config.ts';
import { diffCommand } from './diff.ts';
import { policyTestCommand } from './policy-test.ts';
import { serveCommand } from './serve.ts';
import { sessionsCommand } from './sessions.ts';
import { tokensCommand } from './tokens.ts';
import { versionCommand } from './version.ts';

/** Every subcommand, in the order `gatehouse --help` lists them. */
export const commands: readonly CliCommand[] = [
  serveCommand,
  checkCommand,
  policyTestCommand,
  diffCommand,
  configCommand,
  sessionsCommand,
  tokensCommand,
  versionCommand,
];
