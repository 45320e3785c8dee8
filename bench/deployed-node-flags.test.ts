import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deployedNodeFlags } from './scenarios.ts';

const root = join(import.meta.dirname, '..');

describe('the benchmark servers run with the deployed V8 flags', () => {
  it('as the image sets them', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const flags = /^ENV NODE_OPTIONS=(.*)$/m.exec(dockerfile)?.[1]?.trim().split(/\s+/);
    expect(flags).toEqual(deployedNodeFlags);
  });

  it("as the chart's default heap values set the young generation", () => {
    const values = parse(readFileSync(join(root, 'charts/gatehouse/values.yaml'), 'utf8')) as {
      heap: { maxSemiSpaceMiB: number };
    };
    expect(deployedNodeFlags).toContain(
      `--max-semi-space-size=${String(values.heap.maxSemiSpaceMiB)}`,
    );
  });
});
