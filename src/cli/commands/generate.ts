import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { crdYaml } from '../../policy/crd.ts';
import type { CliCommand } from '../command.ts';

const usage = `Usage: gatehouse generate crds [--check]

Writes the files generated from the source, relative to the current directory (the repository
root):
  crds   charts/gatehouse/crds/gatehouse.dev_crds.yaml and manifests/crds/gatehouse.dev_crds.yaml,
         from the resource definitions in src/policy/resources.ts

--check  writes nothing; exits 1 and shows the difference when a committed file is missing or
         differs from what the source generates (the CI drift check)
`;

interface GeneratedFile {
  /** Relative to the repository root. */
  readonly path: string;
  readonly content: () => string;
}

/** What each target writes. The chart and the plain manifests carry the same CRDs. */
const targets: Readonly<Record<string, readonly GeneratedFile[]>> = {
  crds: [
    { path: 'charts/gatehouse/crds/gatehouse.dev_crds.yaml', content: crdYaml },
    { path: 'manifests/crds/gatehouse.dev_crds.yaml', content: crdYaml },
  ],
};

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const contextLines = 3;
const maxShownLines = 40;

/**
 * A one-hunk unified diff (common prefix and suffix trimmed), enough to show a reviewer what
 * drifted without pulling in a diff library. Long hunks are cut at maxShownLines.
 */
export function describeDifference(path: string, committed: string, generated: string): string {
  const before = committed.split('\n');
  const after = generated.split('\n');
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore--;
    endAfter--;
  }
  const from = Math.max(0, start - contextLines);
  const lines = [
    ...before.slice(from, start).map((line) => ` ${line}`),
    ...before.slice(start, endBefore).map((line) => `-${line}`),
    ...after.slice(start, endAfter).map((line) => `+${line}`),
    ...before.slice(endBefore, endBefore + contextLines).map((line) => ` ${line}`),
  ];
  const shown = lines.slice(0, maxShownLines);
  if (lines.length > shown.length) shown.push(`... (${lines.length - shown.length} more lines)`);
  const beforeCount = endBefore - from + Math.min(contextLines, before.length - endBefore);
  const afterCount = endAfter - from + Math.min(contextLines, after.length - endAfter);
  return [
    `--- ${path} (committed)`,
    `+++ ${path} (generated)`,
    `@@ -${from + 1},${beforeCount} +${from + 1},${afterCount} @@`,
    ...shown,
  ].join('\n');
}

export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'Write (or --check) the files generated from the source: crds',
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help === true) {
      io.stdout(usage);
      return 0;
    }
    const [target, ...extra] = positionals;
    const files = target === undefined ? undefined : targets[target];
    if (files === undefined || extra.length > 0) {
      io.stderr(
        `gatehouse generate: ${target === undefined ? 'name what to generate' : `unknown target "${[target, ...extra].join(' ')}"`}\n\n${usage}`,
      );
      return 2;
    }

    const check = values.check === true;
    let stale = 0;
    for (const file of files) {
      const absolute = resolve(io.cwd, file.path);
      const generated = file.content();
      const committed = await readIfExists(absolute);
      if (committed === generated) {
        io.stdout(`${file.path}: up to date\n`);
        continue;
      }
      if (check) {
        stale++;
        io.stderr(
          committed === undefined
            ? `${file.path}: missing\n`
            : `${file.path}: stale\n${describeDifference(file.path, committed, generated)}\n`,
        );
        continue;
      }
      await mkdir(dirname(absolute), { recursive: true });
      await writeFile(absolute, generated);
      io.stdout(`${file.path}: written\n`);
    }
    if (stale > 0) {
      io.stderr(
        `\n${stale} generated file(s) out of date with the source: run "gatehouse generate ${target}" and commit the result.\n`,
      );
      return 1;
    }
    return 0;
  },
};
