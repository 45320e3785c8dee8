import { parseArgs } from 'node:util';
import { listProblems } from '../../config/problems.ts';
import { loadCommandConfig, type CliCommand } from '../command.ts';

/** Exit statuses of `gatehouse config validate`, for CI jobs and a pre-install hook. */
export const configValidateExitStatus = { valid: 0, invalid: 1, usage: 2 } as const;

const usage = `Usage: gatehouse config validate [--config FILE] [--strict]

Loads the configuration exactly as \`gatehouse serve\` would — FILE (default $GATEHOUSE_CONFIG),
then the GATEHOUSE_* environment variables and secret files — and reports every problem and
warning, each with the setting and the file:line it comes from. Nothing is started and nothing
is contacted (identity providers, Redis and the API server are checked at start-up, not here).

--strict  treat warnings as problems

Exit status: 0 valid, 1 problems (or warnings with --strict), 2 usage.
`;

/** `gatehouse config validate`: the start-up configuration check, without starting anything. */
export const configCommand: CliCommand = {
  name: 'config',
  summary: 'Validate a configuration (config validate --config FILE)',
  run(args, io) {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        config: { type: 'string', short: 'c' },
        strict: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help === true) {
      io.stdout(usage);
      return Promise.resolve(configValidateExitStatus.valid);
    }
    if (positionals.length !== 1 || positionals[0] !== 'validate') {
      io.stderr(`gatehouse config: expected "validate"\n\n${usage}`);
      return Promise.resolve(configValidateExitStatus.usage);
    }
    const { file, loaded } = loadCommandConfig(values.config, io);
    const where = file === undefined ? 'the built-in defaults' : file;
    if (!loaded.ok) {
      io.stderr(
        `gatehouse config: ${where} has ${String(loaded.problems.length)} problem(s):\n${listProblems(loaded.problems).join('\n')}\n`,
      );
      return Promise.resolve(configValidateExitStatus.invalid);
    }
    if (loaded.warnings.length > 0) {
      io.stderr(
        `gatehouse config: ${String(loaded.warnings.length)} warning(s):\n${listProblems(loaded.warnings).join('\n')}\n`,
      );
    }
    if (values.strict === true && loaded.warnings.length > 0) {
      return Promise.resolve(configValidateExitStatus.invalid);
    }
    io.stdout(`gatehouse config: ${where} is valid\n`);
    return Promise.resolve(configValidateExitStatus.valid);
  },
};
