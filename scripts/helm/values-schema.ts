/**
 * Keeps the `config` part of charts/gatehouse/values.schema.json equal to gatehouse's own
 * configuration schema (src/config/schema.ts), so `helm install` refuses a misspelt or mistyped
 * setting before a pod ever starts. `definitions.cidr` is written from the same IP expressions.
 * The rest of values.schema.json (the chart's own values) is written by hand.
 *
 *   node scripts/helm/values-schema.ts          rewrite values.schema.json
 *   node scripts/helm/values-schema.ts --check  exit 1 when it is out of date
 *
 * What differs from the configuration schema, and why:
 * - keywords only gatehouse's validator knows (`errorMessage`, `secret`, `envKeyStyle`,
 *   `pathSetting`) and `default`s are dropped; a setting with a default is not `required`, since
 *   gatehouse fills it in before validating;
 * - each custom `format` (src/config/formats.ts), which Helm's validator does not know, becomes
 *   the `pattern` of `formatPatterns` below, so a duration like `8 hours`, a URL without a scheme
 *   or a bad CIDR fails at `helm install` rather than at pod start. The patterns are written for
 *   both Go's RE2 (Helm) and ECMAScript (JSON Schema's dialect); test/integration/chart/
 *   chart-values-schema.test.ts checks that each agrees with gatehouse's own predicate;
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
]);

/** RFC 1123 label, as `isDnsLabel` of src/config/formats.ts. */
const dnsLabel = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const domain = `\\.?${dnsLabel}(\\.${dnsLabel})*`;
const httpUrl = '[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+([/?#]\\S*)?';
// Node's own isIP() expressions (lib/internal/net.js), which parseIpOrCidr calls.
const v4Segment = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const v4 = `(${v4Segment}\\.){3}${v4Segment}`;
const h = '[0-9a-fA-F]{1,4}';
const v6Address =
  `((${h}:){7}(${h}|:)|` +
  `(${h}:){6}(${v4}|:${h}|:)|` +
  `(${h}:){5}(:${v4}|(:${h}){1,2}|:)|` +
  `(${h}:){4}((:${h}){0,1}:${v4}|(:${h}){1,3}|:)|` +
  `(${h}:){3}((:${h}){0,2}:${v4}|(:${h}){1,4}|:)|` +
  `(${h}:){2}((:${h}){0,3}:${v4}|(:${h}){1,5}|:)|` +
  `(${h}:){1}((:${h}){0,4}:${v4}|(:${h}){1,6}|:)|` +
  `(:((:${h}){0,5}:${v4}|(:${h}){1,7}|:)))`;
const v6 = `${v6Address}(%[0-9a-zA-Z.:-]+)?`;
// parseIpOrCidr reads up to three digits and compares the number, so `/08` is `/8`.
const v4Prefix = '(0{0,2}[0-9]|0?[12][0-9]|0?3[0-2])';
const v6Prefix = '(0{0,2}[0-9]|0?[1-9][0-9]|1[01][0-9]|12[0-8])';

export interface FormatPattern {
  readonly pattern: string;
  readonly maxLength?: number;
}

/**
 * The `pattern` standing for each format of src/config/formats.ts (`Formats`). A format missing
 * here stops the generation, so a new one cannot reach the chart unchecked.
 */
export const formatPatterns: Readonly<Record<string, FormatPattern>> = {
  // tryParseDuration (src/config/duration.ts): whole seconds, or number+unit parts covering the
  // whole text; surrounding white space is trimmed.
  duration: { pattern: '^\\s*([0-9]+|([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+)\\s*$' },
  // isHttpUrl: an http(s) URL with a host. Stricter than WHATWG URL parsing in one spelling only:
  // the `//` after the scheme is required (`https:host` is refused).
  'http-url': { pattern: `^${httpUrl}$` },
  'http-url-or-empty': { pattern: `^(|${httpUrl})$` },
  'redis-url-or-empty': { pattern: '^(|[Rr][Ee][Dd][Ii][Ss][Ss]?:\\S*)$' },
  'ip-or-cidr': { pattern: `^(${v4}(/${v4Prefix})?|${v6}(/${v6Prefix})?)$` },
  'dns-label': { pattern: `^${dnsLabel}$` },
  // isDomain: at most 253 characters after the optional leading dot.
  domain: { pattern: `^${domain}$`, maxLength: 254 },
  'domain-or-empty': { pattern: `^(|${domain})$`, maxLength: 254 },
};

/**
 * `definitions.cidr` of values.schema.json, for the chart's own NetworkPolicy `ipBlock`s: an IPv4
 * or IPv6 block with its prefix length, as Kubernetes requires (no zone, no leading zeros).
 */
export const cidrDefinition: JsonSchema = {
  $comment:
    'An IP block with its prefix length (NetworkPolicy ipBlock.cidr), built from the expressions of scripts/helm/values-schema.ts.',
  type: 'string',
  pattern: `^(${v4}/(3[0-2]|[12]?[0-9])|${v6Address}/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$`,
};

/** The keywords replacing `format: <name>`, with a `$comment` naming where the rule comes from. */
function formatKeywords(name: unknown): JsonSchema {
  const known = typeof name === 'string' ? formatPatterns[name] : undefined;
  if (known === undefined) {
    throw new Error(
      `format ${JSON.stringify(name)} of src/config/schema.ts has no pattern in scripts/helm/values-schema.ts formatPatterns`,
    );
  }
  return {
    $comment: `The "${String(name)}" format of src/config/formats.ts, as a pattern (scripts/helm/values-schema.ts formatPatterns).`,
    pattern: known.pattern,
    ...(known.maxLength === undefined ? {} : { maxLength: known.maxLength }),
  };
}
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
    if (key === 'format') {
      Object.assign(out, formatKeywords(value));
    } else if (key === 'properties' && properties !== undefined) {
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
  if (!isObject(document.definitions)) throw new Error(`${valuesSchemaPath} has no definitions`);
  document.definitions.cidr = cidrDefinition;
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
