#!/usr/bin/env node
/** The `gatehouse` command: dispatches to one module per subcommand (src/cli/commands/). */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { processIo, type CliIo } from './command.ts';
import { commands } from './commands/index.ts';

function usage(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return `Usage: gatehouse <command> [options]

Commands:
${commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Run "gatehouse <command> --help" for a command's options.
`;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? 2 : 0;
  }
  // `--version` as every command-line tool answers it (kubectl, helm and node do).
  const command = commands.find(
    (candidate) => candidate.name === (name === '--version' ? 'version' : name),
  );
  if (command === undefined) {
    io.stderr(`gatehouse: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // parseArgs and friends throw for bad flags: a usage error, not a crash.
    io.stderr(`gatehouse ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
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
  process.exitCode = await main(process.argv.slice(2));
}
