import { parseArgs } from 'node:util';
import { formatProblems } from '../../config/problems.ts';
import { createLogger } from '../../logger.ts';
import { startGatehouse } from '../../main.ts';
import { loadCommandConfig, type CliCommand } from '../command.ts';
import { definedFields } from '../../defined-fields.ts';

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
    const { file, loaded } = loadCommandConfig(values.config, io);
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
          ...definedFields({ source: warning.source }),
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
      // Whatever started before the failure (watchers, connections, timers) would keep a
      // half-started process alive: a taken port must end the process at once, with one line
      // an operator reads without a log parser, so Kubernetes restarts it.
      io.stderr(`gatehouse: could not start: ${startFailure(error)}\n`);
      process.exit(1);
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

/** One plain sentence for a start-up failure, with the fix for the common ones. */
export function startFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'EADDRINUSE') {
    return `${message}: another process already listens on that port; stop it, or choose other ports (listeners.main.port, listeners.operations.port)`;
  }
  if (code === 'EACCES') {
    return `${message}: this user may not listen on that port; use a port above 1023`;
  }
  return message;
}
