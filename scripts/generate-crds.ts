import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { CliIo } from '../src/cli/command.ts';
import { crdYaml } from '../src/policy/crd.ts';

/**
 * Writes the CRD manifests generated from the one resource schema (src/policy/resources.ts), or
 * checks that the committed ones match it (CI, scripts/check-generated.sh). A development tool,
 * not part of the gatehouse command that ships.
 */
const usage = `Usage: node scripts/generate-crds.ts [--check]

Writes the files generated from the source, relative to the current directory (the repository
root): charts/gatehouse/crds/gatehouse.dev_crds.yaml and manifests/crds/gatehouse.dev_crds.yaml,
from the resource definitions in src/policy/resources.ts.

--check  writes nothing; exits 1 and shows the difference when a committed file is missing or
         differs from what the source generates (the CI drift check)
`;

interface GeneratedFile {
  /** Relative to the repository root. */
  readonly path: string;
  readonly content: () => string;
}

/** The chart and the plain manifests carry the same CRDs. */
const files: readonly GeneratedFile[] = [
  { path: 'charts/gatehouse/crds/gatehouse.dev_crds.yaml', content: crdYaml },
  { path: 'manifests/crds/gatehouse.dev_crds.yaml', content: crdYaml },
];

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

/** Writes or checks the CRDs; the exit status (0, 1 when --check finds drift, 2 on usage). */
export async function generateCrds(args: readonly string[], io: CliIo): Promise<number> {
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
  if (positionals.length > 0) {
    io.stderr(`generate-crds: unexpected "${positionals.join(' ')}"\n\n${usage}`);
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
      `\n${stale} generated file(s) out of date with the source: run "node scripts/generate-crds.ts" and commit the result.\n`,
    );
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await generateCrds(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  });
}
