/**
 * Loads the configuration: schema defaults ← YAML file ← `GATEHOUSE_*` environment ← secret
 * files, then validates it all at once and freezes it. Pure apart from the injected
 * `readFile`; nothing here connects anywhere (start-up and readiness check connectivity).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { checkConfig, warnConfig } from './checks.ts';
import { deepFreeze } from './deep-freeze.ts';
import { applyEnvOverrides } from './env-overrides.ts';
import type { FileReference } from './env-overrides.ts';
import { formatPath } from './problems.ts';
import type { ConfigProblem, PathSegment, PendingProblem } from './problems.ts';
import { ConfigSchema } from './schema.ts';
import type { Config } from './schema.ts';
import { describeSchemaErrors } from './schema-errors.ts';
import { takeSecretFileKeys } from './secret-file-keys.ts';
import { isMapping, readSettingValue, setSetting } from './setting-tree.ts';
import type { SettingTree } from './setting-tree.ts';

export interface LoadConfigOptions {
  /** YAML file, relative to `cwd`. Omitted: defaults and environment only. */
  readonly file?: string;
  /** Environment holding `GATEHOUSE_*` overrides; `process.env` when omitted. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reads a UTF-8 file (the configuration and secret files); `fs.readFileSync` when omitted. */
  readonly readFile?: (path: string) => string;
  /** Base of relative file paths; `process.cwd()` when omitted. */
  readonly cwd?: string;
}

export type LoadConfigResult =
  | {
      readonly ok: true;
      readonly config: Config;
      /** Settings that load but are probably a mistake; `gatehouse serve` logs each at start. */
      readonly warnings: readonly ConfigProblem[];
    }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

type Locate = (segments: readonly PathSegment[]) => string | undefined;

export function loadConfig(options: LoadConfigOptions = {}): LoadConfigResult {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const cwd = options.cwd ?? process.cwd();
  const problems: PendingProblem[] = [];

  // Layer 1: the YAML file.
  let tree: SettingTree = {};
  let locateInFile: Locate = () => undefined;
  let fileUsable = true;
  if (options.file !== undefined) {
    const loaded = readYamlFile(options.file, (path) => readFile(resolve(cwd, path)));
    problems.push(...loaded.problems);
    tree = loaded.tree;
    locateInFile = loaded.locate;
    fileUsable = loaded.problems.length === 0;
  }
  // Paths written in the file are read from the file's folder (a configuration and the files it
  // names move together, as the container's `--config /etc/gatehouse/config.yaml` and a checkout's
  // `--config examples/gatehouse.yaml` both expect); the environment's stay cwd-relative.
  const fileFolder = options.file === undefined ? cwd : dirname(resolve(cwd, options.file));
  resolvePathSettings(tree, ConfigSchema, fileFolder);
  const secretKeys = takeSecretFileKeys(tree, ConfigSchema, locateInFile);
  problems.push(...secretKeys.problems);

  // Layer 2: the environment.
  const overrides = applyEnvOverrides(tree, env, ConfigSchema);
  problems.push(...overrides.problems);

  // Layer 3: secret files, named by `<secret>File` keys or `…_FILE` variables.
  const origins = overrides.origins;
  for (const [reference, folder] of [
    ...secretKeys.files.map((file) => [file, fileFolder] as const),
    ...overrides.files.map((file) => [file, cwd] as const),
  ]) {
    const problem = applyFile(tree, reference, (path) => readFile(resolve(folder, path)));
    if (problem === undefined) origins.set(formatPath(reference.segments), reference.source);
    else problems.push(problem);
  }

  const locate: Locate = (segments) => {
    for (let length = segments.length; length > 0; length--) {
      const origin = origins.get(formatPath(segments.slice(0, length)));
      if (origin !== undefined) return origin;
    }
    return locateInFile(segments);
  };
  const located = (pending: readonly PendingProblem[]): ConfigProblem[] =>
    pending.map((problem) => {
      const source = problem.source ?? locate(problem.segments);
      const path = formatPath(problem.segments);
      return source === undefined
        ? { path, message: problem.message }
        : { path, message: problem.message, source };
    });

  // A file that does not parse would only produce follow-on errors about settings it lacks.
  if (!fileUsable) return { ok: false, problems: located(problems) };

  const withDefaults = Value.Default(ConfigSchema, tree);
  problems.push(...describeSchemaErrors(ConfigSchema, Value.Errors(ConfigSchema, withDefaults)));
  if (problems.length > 0) return { ok: false, problems: located(problems) };

  const config = Value.Decode(ConfigSchema, withDefaults);
  const crossFieldProblems = checkConfig(config);
  if (crossFieldProblems.length > 0) return { ok: false, problems: located(crossFieldProblems) };
  return { ok: true, config: deepFreeze(config), warnings: located(warnConfig(config)) };
}

function readYamlFile(
  file: string,
  readFile: (path: string) => string,
): { tree: SettingTree; problems: PendingProblem[]; locate: Locate } {
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    return {
      tree: {},
      problems: [{ segments: [], message: `cannot read ${file}: ${describeFsError(error)}` }],
      locate: () => undefined,
    };
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const locate = locateInDocument(document, at);
  const problems: PendingProblem[] = document.errors.map((error) => ({
    segments: [],
    message: `invalid YAML: ${error.message}`,
    source: at(error.pos[0]),
  }));
  if (problems.length > 0) return { tree: {}, problems, locate };

  const value: unknown = document.toJS();
  if (value === null || value === undefined) return { tree: {}, problems, locate };
  if (!isMapping(value)) {
    problems.push({
      segments: [],
      message: 'the file must be a mapping of settings (key: value)',
      source: file,
    });
    return { tree: {}, problems, locate };
  }
  return { tree: value, problems, locate };
}

/** Where a setting (or, for a missing one, its parent) is written in the YAML document. */
function locateInDocument(document: Document, at: (offset: number) => string): Locate {
  return (segments) => {
    for (const path of [segments, segments.slice(0, -1)]) {
      if (path.length === 0) continue;
      const node = document.getIn(path, true);
      if (isNode(node) && node.range) return at(node.range[0]);
    }
    return undefined;
  };
}

function applyFile(
  tree: SettingTree,
  reference: FileReference,
  readFile: (path: string) => string,
): PendingProblem | undefined {
  const problem = (message: string): PendingProblem => ({
    segments: reference.segments,
    message,
    source: reference.source,
  });
  let content: string;
  try {
    // Secret files written by `echo` or `kubectl create secret --from-file` end in a newline
    // that is not part of the secret.
    content = readFile(reference.file).replace(/(?:\r?\n)+$/, '');
  } catch (error) {
    return problem(`cannot read file ${reference.file}: ${describeFsError(error)}`);
  }
  const parsed = readSettingValue(content, reference.schema);
  if (!parsed.ok) return problem(parsed.message);
  const message = setSetting(tree, reference.segments, parsed.value);
  return message === undefined ? undefined : problem(message);
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}

/**
 * Makes every relative path setting (schema keyword `pathSetting`) in `tree` absolute against
 * `folder`, in place; empty strings (unset) stay empty. Walks objects and arrays of the schema.
 */
function resolvePathSettings(tree: unknown, schema: TSchema, folder: string): void {
  if (!isMapping(tree)) return;
  const properties = schema['properties'] as Record<string, TSchema> | undefined;
  if (properties === undefined) return;
  for (const [key, child] of Object.entries(properties)) {
    const value = tree[key];
    if (value === undefined) continue;
    const items = child['items'] as TSchema | undefined;
    if (child['pathSetting'] === true) {
      if (typeof value === 'string') tree[key] = absolute(value, folder);
    } else if (items?.['pathSetting'] === true && Array.isArray(value)) {
      tree[key] = value.map((item: unknown) =>
        typeof item === 'string' ? absolute(item, folder) : item,
      );
    } else if (items !== undefined && Array.isArray(value)) {
      for (const item of value) resolvePathSettings(item, items, folder);
    } else {
      resolvePathSettings(value, child, folder);
    }
  }
}

function absolute(path: string, folder: string): string {
  return path === '' || isAbsolute(path) ? path : resolve(folder, path);
}
