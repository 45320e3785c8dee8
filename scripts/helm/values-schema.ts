/**
 * Keeps the `config` part of charts/gatehouse/values.schema.json equal to gatehouse's own
 * configuration schema (src/config/schema.ts), so `helm install` refuses a misspelt or mistyped
 * setting before a pod ever starts. The rest of values.schema.json (the chart's own values) is
 * written by hand.
 *
 *   node scripts/helm/values-schema.ts          rewrite values.schema.json
 *   node scripts/helm/values-schema.ts --check  exit 1 when it is out of date
 *
 * What differs from the configuration schema, and why:
 * - keywords only gatehouse's validator knows (`errorMessage`, `secret`, `envKeyStyle`,
 *   `pathSetting`, custom `format`s) and `default`s are dropped; a setting with a default is not
 *   `required`, since gatehouse fills it in before validating;
 * - `listeners` (the container ports), `sessions.redis` (built from the chart's `redis` values)
 *   and `devIdentityProvider` (local runs only) are refused: the chart owns them;
 * - a secret setting (`clientSecret`, `password`) is refused and only its `<name>File` form is
 *   accepted, so a secret can never land in the ConfigMap.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { ConfigSchema } from '../../src/config/schema.ts';

export const valuesSchemaPath = resolve(
  import.meta.dirname,
  '../../charts/gatehouse/values.schema.json',
);

type JsonSchema = Record<string, unknown>;

const droppedKeywords = new Set([
  'default',
  'errorMessage',
  'secret',
  'envKeyStyle',
  'pathSetting',
  'format',
]);
const chartOwned: readonly (readonly string[])[] = [
  ['listeners'],
  ['sessions', 'redis'],
  ['devIdentityProvider'],
];

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (!isObject(node)) return node;
  const out: JsonSchema = {};
  const properties = isObject(node.properties) ? node.properties : undefined;
  for (const [key, value] of Object.entries(node)) {
    if (droppedKeywords.has(key)) continue;
    if (key === 'properties' && properties !== undefined) {
      const converted: JsonSchema = {};
      for (const [name, child] of Object.entries(properties)) {
        if (isObject(child) && child.secret === true) {
          converted[`${name}File`] = {
            type: 'string',
            minLength: 1,
            description: `Path of a file holding ${name}; the chart sets it from \`secrets\`. A plain ${name} is refused: it would land in the ConfigMap.`,
          };
        } else {
          converted[name] = convert(child);
        }
      }
      out.properties = converted;
    } else if (key === 'required' && Array.isArray(value)) {
      const required = value.filter(
        (name): name is string =>
          typeof name === 'string' &&
          !(isObject(properties?.[name]) && 'default' in properties[name]) &&
          !(isObject(properties?.[name]) && properties[name].secret === true),
      );
      if (required.length > 0) out.required = required;
    } else {
      out[key] = convert(value);
    }
  }
  return out;
}

/** The JSON schema of the chart's `config` value. */
export function chartConfigSchema(): JsonSchema {
  const schema = convert(JSON.parse(JSON.stringify(ConfigSchema))) as JsonSchema;
  for (const path of chartOwned) {
    let parent: unknown = schema;
    for (const key of path.slice(0, -1)) {
      parent = isObject(parent) && isObject(parent.properties) ? parent.properties[key] : undefined;
    }
    const last = path.at(-1);
    if (isObject(parent) && isObject(parent.properties) && last !== undefined) {
      Reflect.deleteProperty(parent.properties, last);
    }
  }
  schema.description =
    "gatehouse's configuration (docs/configuration.md), merged over the chart's defaults and written into the ConfigMap. The chart owns listeners, sessions.redis and the secret file paths.";
  return schema;
}

/** values.schema.json with its `config` part regenerated, formatted as Prettier would. */
export async function renderValuesSchema(current: string): Promise<string> {
  const document = JSON.parse(current) as JsonSchema;
  if (!isObject(document.properties)) throw new Error(`${valuesSchemaPath} has no properties`);
  document.properties.config = chartConfigSchema();
  const options = (await resolveConfig(valuesSchemaPath)) ?? {};
  return format(JSON.stringify(document, null, 2), { ...options, parser: 'json' });
}

if (import.meta.main) {
  const current = await readFile(valuesSchemaPath, 'utf8');
  const next = await renderValuesSchema(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write(
        `${valuesSchemaPath} is out of date: run node scripts/helm/values-schema.ts\n`,
      );
      process.exit(1);
    }
  } else {
    await writeFile(valuesSchemaPath, next);
    process.stdout.write(`wrote ${valuesSchemaPath}\n`);
  }
}
