/**
 * gatehouse as a benchmark server: the same composition root the `serve` command runs
 * (`startGatehouse`), configured from the YAML file in `BENCH_CONFIG` plus `GATEHOUSE_*`
 * environment overrides (the runner sets ports and the per-scenario switches such as
 * `GATEHOUSE_SESSIONS__CACHE__TTL=0`). Logs go to standard error so standard output carries only
 * the ready line.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type * as ConfigLoading from '../../src/config/load.ts';
import type * as ConfigProblems from '../../src/config/problems.ts';
import type * as Logging from '../../src/logger.ts';
import type * as Composition from '../../src/main.ts';
import { announceReady } from './ready-line.ts';

// gatehouse as deployed: compiled by `tsc -p tsconfig.build.json` into BENCH_GATEHOUSE_BUILD
// (scenarios.ts `gatehouseBuild`); without it (a server started by hand), the sources.
const build = process.env['BENCH_GATEHOUSE_BUILD'];
function moduleUrl(module: string): string {
  return build === undefined || build === ''
    ? new URL(`../../src/${module}.ts`, import.meta.url).href
    : pathToFileURL(join(build, `${module}.js`)).href;
}
const { loadConfig } = (await import(moduleUrl('config/load'))) as typeof ConfigLoading;
const { formatProblems } = (await import(moduleUrl('config/problems'))) as typeof ConfigProblems;
const { redactedPaths } = (await import(moduleUrl('logger'))) as typeof Logging;
const { startGatehouse } = (await import(moduleUrl('main'))) as typeof Composition;

const file = process.env['BENCH_CONFIG'];
const loaded = loadConfig({ ...(file === undefined ? {} : { file }), env: process.env });
if (!loaded.ok) {
  process.stderr.write(
    `bench gatehouse: invalid configuration:\n${formatProblems(loaded.problems)}\n`,
  );
  process.exit(2);
}
const { config } = loaded;
// As createLogger (src/logger.ts) builds it, but on fd 2 through pino's asynchronous
// destination, the same kind of stream the production logger writes to.
const logger = pino(
  {
    level: config.log.level,
    base: { service: 'gatehouse' },
    redact: { paths: [...redactedPaths], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ dest: 2, sync: false }),
);
const gatehouse = await startGatehouse(config, { logger, processMetrics: true });
const stop = (): void => {
  void gatehouse.shutdown('benchmark finished').then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
announceReady(gatehouse.mainUrl);
