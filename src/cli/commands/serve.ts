import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import { formatProblems } from '../../config/problems.ts';
import { createLogger } from '../../logger.ts';
import { startGatehouse } from '../../main.ts';
import type { CliCommand } from '../command.ts';

const usage = `Usage: gatehouse serve [--config FILE]

Runs the service. FILE defaults to $GATEHOUSE_CONFIG; without either, the built-in defaults
apply. Every setting can be overridden with GATEHOUSE_* environment variables.
`;

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Run the service',
  async run(args, io) {
    const { values } = parseArgs({
      args: [...args],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help === true) {
      io.stdout(usage);
      return 0;
    }
    const file = values.config ?? io.env['GATEHOUSE_CONFIG'];
    const loaded = loadConfig({
      ...(file === undefined ? {} : { file }),
      env: io.env,
      cwd: io.cwd,
    });
    if (!loaded.ok) {
      io.stderr(
        `gatehouse: the configuration${file === undefined ? '' : ` in ${file}`} has ${loaded.problems.length} problem(s):\n` +
          `${formatProblems(loaded.problems)}\nNothing was started. Fix every line above and start again.\n`,
      );
      return 2;
    }
    const config = loaded.config;
    const logger = createLogger({ level: config.log.level });
    for (const warning of loaded.warnings) {
      logger.warn(
        {
          setting: warning.path,
          ...(warning.source === undefined ? {} : { source: warning.source }),
        },
        `${warning.path}: ${warning.message}`,
      );
    }

    // A half-alive process is worse than a restart: Kubernetes restarts us, a wedged one serves
    // wrong answers or none.
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
  },
};
