import { defineConfig } from 'vitest/config';

/**
 * The benchmark harness's own unit tests (parsers, statistics, schedules, report). The project
 * configuration only collects src/ and test/, so these run with
 * `vitest run --config bench/vitest.config.ts`; none of them starts a server or generates load.
 */
export default defineConfig({
  test: {
    include: ['bench/**/*.test.ts'],
    root: new URL('..', import.meta.url).pathname,
    environment: 'node',
    testTimeout: 20_000,
  },
});
