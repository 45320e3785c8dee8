import { buildInfo } from '../../build-info.ts';
import type { CliCommand } from '../command.ts';

/** `gatehouse version` (and `gatehouse --version`): version, commit and Node.js, one line each. */
export const versionCommand: CliCommand = {
  name: 'version',
  summary: 'Print the version, the commit it was built from and the Node.js version',
  run(_args, io) {
    const info = buildInfo(io.env);
    io.stdout(`gatehouse ${info.version}\ncommit ${info.commit}\nnode ${info.node}\n`);
    return Promise.resolve(0);
  },
};
