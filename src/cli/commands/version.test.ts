import { describe, expect, it } from 'vitest';
import { Metrics } from '../../metrics/metrics.ts';
import { main } from '../gatehouse.ts';

describe('gatehouse version and gatehouse_build_info', () => {
  it('prints the version, commit and Node.js version, for version and --version alike', async () => {
    for (const argv of [['version'], ['--version']]) {
      let out = '';
      const status = await main(argv, {
        stdout: (text) => (out += text),
        stderr: () => undefined,
        env: { GATEHOUSE_BUILD_COMMIT: 'abc1234' },
        cwd: process.cwd(),
      });
      expect(status).toBe(0);
      expect(out).toMatch(/^gatehouse \d+\.\d+\.\d+\ncommit abc1234\nnode v\d+/);
    }
  });

  it('exports gatehouse_build_info 1 with the version label', async () => {
    const text = await new Metrics({ collectProcessMetrics: false }).registry.metrics();
    expect(text).toMatch(
      /^gatehouse_build_info\{version="\d+\.\d+\.\d+",commit="[^"]+",node="v\d+[^"]*"\} 1$/m,
    );
  });
});
