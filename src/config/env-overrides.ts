/**
 * `GATEHOUSE_*` environment overrides. A double underscore separates levels and each level is
 * matched against the schema, so SCREAMING_SNAKE names map to camelCase keys
 * (`GATEHOUSE_SESSIONS__COOKIE__NAME` → `sessions.cookie.name`) and list indexes are numbers
 * (`GATEHOUSE_PROVIDERS__0__CLIENT_SECRET`). A name ending in `_FILE` that is not itself a
 * setting names a file holding the value (the Docker/Kubernetes secrets convention).
 */
import { KindGuard } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import { formatPath } from './problems.ts';
import type { PathSegment, PendingProblem } from './problems.ts';
import { childSchema } from './schema-navigation.ts';
import { readSettingValue, setSetting } from './setting-tree.ts';
import type { SettingTree } from './setting-tree.ts';

export const ENV_PREFIX = 'GATEHOUSE_';

/**
 * Names the CLI may use to point at the configuration file; they are not settings.
 */
export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set([
  'GATEHOUSE_CONFIG',
  'GATEHOUSE_CONFIG_FILE',
  // The commit the image was built from (Dockerfile, src/build-info.ts): build metadata.
  'GATEHOUSE_BUILD_COMMIT',
  // The development tools cache (scripts/kube/build.sh, scripts/helm/ensure-helm.sh), set by CI
  // for every command, including the ones that start gatehouse.
  'GATEHOUSE_TOOLS_DIR',
  'GATEHOUSE_SKIP_KUBE',
  'GATEHOUSE_GO_BUILD_PARALLELISM',
  'GATEHOUSE_BENCH_REDIS_URL',
  'GATEHOUSE_IMAGE_CHECK_KEEP',
  'GATEHOUSE_TEST_REDIS_PORT',
]);

/**
 * Kubernetes injects `<SERVICE>_SERVICE_HOST`, `<SERVICE>_PORT_8080_TCP_ADDR`… for every
 * Service in the namespace (enableServiceLinks), so a Service called `gatehouse` or
 * `gatehouse-redis` would otherwise make every pod fail with "unknown setting".
 */
const SERVICE_LINK =
  /^GATEHOUSE(?:_[A-Z0-9]+)*_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9]+)*|PORT(?:_\d+_(?:TCP|UDP|SCTP)(?:_PROTO|_PORT|_ADDR)?)?)$/;

/** A value to be read from a file once every override is applied (secret files come last). */
export interface FileReference {
  readonly segments: readonly PathSegment[];
  readonly schema: TSchema;
  readonly file: string;
  readonly source: string;
}

export interface EnvOverrides {
  readonly problems: PendingProblem[];
  readonly files: FileReference[];
  /** Rendered setting path → the variable that set it, to say where a bad value came from. */
  readonly origins: Map<string, string>;
}

/** Applies the overrides in `env` to `tree` (in place). Shallow names apply before deep ones,
 * so `GATEHOUSE_PROVIDERS=[…]` can be refined by `GATEHOUSE_PROVIDERS__0__…`. */
export function applyEnvOverrides(
  tree: SettingTree,
  env: Readonly<Record<string, string | undefined>>,
  schema: TSchema,
): EnvOverrides {
  const result: EnvOverrides = { problems: [], files: [], origins: new Map() };
  const entries = Object.entries(env)
    .filter(
      (entry): entry is [string, string] =>
        entry[0].startsWith(ENV_PREFIX) &&
        entry[1] !== undefined &&
        !RESERVED_ENV_NAMES.has(entry[0]),
    )
    .map(([name, value]) => ({ name, value, target: resolveEnvName(name, schema) }))
    .sort(
      (a, b) => a.target.segments.length - b.target.segments.length || a.name.localeCompare(b.name),
    );

  for (const { name, value, target } of entries) {
    const source = `environment ${name}`;
    if ('message' in target) {
      if (!SERVICE_LINK.test(name)) {
        result.problems.push({ segments: target.segments, message: target.message, source });
      }
      continue;
    }
    if (target.fromFile) {
      result.files.push({ segments: target.segments, schema: target.schema, file: value, source });
      continue;
    }
    const parsed = readSettingValue(value, target.schema);
    const problem = parsed.ok ? setSetting(tree, target.segments, parsed.value) : parsed.message;
    if (problem === undefined) result.origins.set(formatPath(target.segments), source);
    else result.problems.push({ segments: target.segments, message: problem, source });
  }
  return result;
}

type EnvTarget =
  | { segments: PathSegment[]; schema: TSchema; fromFile: boolean }
  | { segments: PathSegment[]; message: string };

function resolveEnvName(name: string, root: TSchema): EnvTarget {
  const parts = name.slice(ENV_PREFIX.length).split('__');
  const segments: PathSegment[] = [];
  let schema = root;
  let fromFile = false;
  for (const [index, part] of parts.entries()) {
    if (part === '') {
      return { segments, message: 'has an empty level (levels are separated by "__")' };
    }
    let key = matchKey(schema, part);
    // `SIGNING_KEY_FILE` is the setting `signingKeyFile`; `PASSWORD_FILE` reads `password`.
    if (key === undefined && index === parts.length - 1 && part.endsWith('_FILE')) {
      key = matchKey(schema, part.slice(0, -'_FILE'.length));
      fromFile = key !== undefined;
    }
    const child = key === undefined ? undefined : childSchema(schema, key);
    if (key === undefined || child === undefined) {
      return { segments: [...segments, camelCase(part)], message: 'unknown setting' };
    }
    segments.push(key);
    schema = child;
  }
  return { segments, schema, fromFile };
}

function matchKey(schema: TSchema, part: string): PathSegment | undefined {
  if (KindGuard.IsObject(schema)) {
    const wanted = comparable(part);
    return Object.keys(schema.properties).find((key) => comparable(key) === wanted);
  }
  if (KindGuard.IsArray(schema)) return /^\d+$/.test(part) ? Number(part) : undefined;
  if (KindGuard.IsRecord(schema)) {
    // Header names use hyphens, which environment variable names cannot hold.
    const style = (schema as { envKeyStyle?: unknown }).envKeyStyle;
    return style === 'header' ? part.toLowerCase().replaceAll('_', '-') : part.toLowerCase();
  }
  return undefined;
}

function comparable(key: string): string {
  return key.replaceAll('_', '').toLowerCase();
}

function camelCase(part: string): string {
  return part
    .toLowerCase()
    .replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}
