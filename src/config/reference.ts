/**
 * Renders the configuration reference (docs/configuration.md) from the one schema, so every
 * default and description is written once, in src/config/schema.ts. A unit test fails when the
 * committed file drifts from the schema; `make docs` rewrites it.
 */
import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';
import { ConfigSchema } from './schema.ts';

interface Row {
  readonly path: string;
  readonly type: string;
  readonly defaultValue: string;
  readonly description: string;
}

export function configurationReference(): string {
  const sections: string[] = [];
  const topLevel = ConfigSchema.properties as Record<string, TSchema>;
  for (const [name, schema] of Object.entries(topLevel)) {
    const rows: Row[] = [];
    collect(name, schema, rows);
    const description = typeof schema.description === 'string' ? `${schema.description}\n\n` : '';
    sections.push(`## \`${name}\`\n\n${description}${table(rows)}`);
  }
  return `<!-- Generated from src/config/schema.ts by \`make docs\`. Do not edit by hand. -->

# Configuration reference

gatehouse reads one YAML file (\`gatehouse serve --config FILE\`, or \`$GATEHOUSE_CONFIG\`), then
applies \`GATEHOUSE_*\` environment variables, then secret files. Every setting below has a
default, so an empty file is a valid configuration. Problems are reported all at once, each with
its path, and nothing starts until every one is fixed.

- **Environment**: \`GATEHOUSE_\` + the path in SCREAMING_SNAKE_CASE with \`__\` between levels:
  \`listeners.main.port\` → \`GATEHOUSE_LISTENERS__MAIN__PORT=8081\`; list items by index:
  \`GATEHOUSE_PROVIDERS__0__CLIENT_ID\`. Values are read as YAML (\`[a, b]\`, \`true\`, \`42\`),
  except plain text settings, which are taken verbatim.
- **Secrets**: settings marked *secret* may be given as a file instead: \`clientSecretFile: /path\`
  in YAML, or \`GATEHOUSE_PROVIDERS__0__CLIENT_SECRET_FILE=/path\`. Secret values never appear in
  logs or error messages.
- **Durations**: \`500ms\`, \`30s\`, \`10m\`, \`8h\`, \`7d\`, \`1h30m\`, or whole seconds.

${sections.join('\n')}`;
}

function collect(path: string, schema: TSchema, rows: Row[]): void {
  const properties = schema['properties'] as Record<string, TSchema> | undefined;
  if (schema[Kind] === 'Object' && properties !== undefined && Object.keys(properties).length > 0) {
    for (const [name, child] of Object.entries(properties)) collect(`${path}.${name}`, child, rows);
    return;
  }
  if (schema[Kind] === 'Array') {
    const items = schema['items'] as TSchema;
    const itemProperties = items['properties'] as Record<string, TSchema> | undefined;
    if (items[Kind] === 'Object' && itemProperties !== undefined) {
      rows.push(row(path, schema, 'list of objects'));
      for (const [name, child] of Object.entries(itemProperties)) {
        collect(`${path}[].${name}`, child, rows);
      }
      return;
    }
  }
  rows.push(row(path, schema, typeOf(schema)));
}

function row(path: string, schema: TSchema, type: string): Row {
  const description = typeof schema.description === 'string' ? schema.description : '';
  return {
    path,
    type: schema['secret'] === true ? `${type} (secret)` : type,
    defaultValue:
      'default' in schema
        ? `\`${JSON.stringify(schema.default)}\``
        : schema[OptionalKind] === 'Optional'
          ? '*optional*'
          : '*required*',
    description,
  };
}

function typeOf(schema: TSchema): string {
  const kind = schema[Kind];
  if (kind === 'Union') {
    const members = schema['anyOf'] as TSchema[];
    if (members.every((member) => member[Kind] === 'Literal')) {
      return members.map((member) => `\`${String(member['const'])}\``).join(' \\| ');
    }
    if (
      schema['errorMessage'] !== undefined &&
      String(schema['errorMessage']).includes('duration')
    ) {
      return 'duration';
    }
    return members.map(typeOf).join(' \\| ');
  }
  if (kind === 'Array') return `list of ${typeOf(schema['items'] as TSchema)}`;
  if (kind === 'Record') return 'map';
  if (kind === 'Integer') return 'integer';
  if (kind === 'Literal') return `\`${String(schema['const'])}\``;
  const format: unknown = schema['format'];
  if (kind === 'String' && typeof format === 'string') return `string (${format})`;
  return kind.toLowerCase();
}

function table(rows: readonly Row[]): string {
  const escape = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = rows.map(
    (r) => `| \`${r.path}\` | ${r.type} | ${r.defaultValue} | ${escape(r.description)} |`,
  );
  return `| setting | type | default | description |\n| --- | --- | --- | --- |\n${lines.join('\n')}\n`;
}
