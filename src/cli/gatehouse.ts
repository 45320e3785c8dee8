#!/usr/bin/env node
/**
 * The `gatehouse` command. `serve` runs the service; later subcommands (`check`, `test`,
 * `generate`) reuse the same modules without starting listeners.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { formatProblems } from '../config/problems.ts';
import { createLogger } from '../http/logger.ts';
import { startGatehouse } from '../main.ts';

const usage = `Usage: gatehouse <command> [options]

Commands:
  serve [--config FILE]   Run the service. FILE defaults to $GATEHOUSE_CONFIG, else built-in defaults.

Options:
  -h, --help              Show this help.
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'serve':
      return serve(rest);
    default:
      process.stderr.write(`gatehouse: unknown command "${command}"\n\n${usage}`);
      return 2;
  }
}

async function serve(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(usage);
    return 0;
  }
  const file = values.config ?? process.env['GATEHOUSE_CONFIG'];
  const loaded = loadConfig({ ...(file === undefined ? {} : { file }), env: process.env });
  if (!loaded.ok) {
    process.stderr.write(
      `gatehouse: the configuration${file === undefined ? '' : ` in ${file}`} has ${loaded.problems.length} problem(s):\n` +
        `${formatProblems(loaded.problems)}\nNothing was started. Fix every line above and start again.\n`,
    );
    return 2;
  }
  const config = loaded.config;
  const logger = createLogger({ level: config.log.level });

  // A half-alive process is worse than a restart: Kubernetes restarts us, a wedged one serves
  // wrong answers or none (issue: process lifecycle).
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception: exiting so the process is restarted');
    process.exit(70);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal(
      { err: reason },
      'unhandled promise rejection: exiting so the process is restarted',
    );
    process.exit(70);
  });

  let gatehouse;
  try {
    gatehouse = await startGatehouse(config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, 'gatehouse could not start');
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      void gatehouse.shutdown(`received ${signal}`).then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `gatehouse: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
