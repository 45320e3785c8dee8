import { KindGuard } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';

/**
 * The schema of `key` inside `schema` (an object property, an array item or a record value),
 * or `undefined` when the schema has no such child. Used to resolve environment overrides and
 * `<name>File` keys against the schema rather than guessing.
 */
export function childSchema(schema: TSchema, key: string | number): TSchema | undefined {
  if (KindGuard.IsObject(schema)) {
    return typeof key === 'string' && Object.hasOwn(schema.properties, key)
      ? schema.properties[key]
      : undefined;
  }
  if (KindGuard.IsArray(schema)) return typeof key === 'number' ? schema.items : undefined;
  if (KindGuard.IsRecord(schema)) return recordValueSchema(schema);
  return undefined;
}

/** The schema of every value in a record (`Type.Record(Type.String(), V)` → `V`). */
export function recordValueSchema(schema: TSchema): TSchema | undefined {
  const patterns = (schema as { patternProperties?: Record<string, TSchema> }).patternProperties;
  return patterns === undefined ? undefined : Object.values(patterns)[0];
}
