/**
 * `<name>File` keys in the YAML file: `clientSecretFile: /run/secrets/oidc` stands for
 * `clientSecret` read from that file, for every setting the schema marks as secret. The keys
 * are taken out of the tree (they are not settings) and returned as file references, read
 * after every other layer.
 */
import { KindGuard } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import type { FileReference } from './env-overrides.ts';
import type { PathSegment, PendingProblem } from './problems.ts';
import { isSecret } from './schema.ts';
import { recordValueSchema } from './schema-navigation.ts';
import { isMapping } from './setting-tree.ts';

const SUFFIX = 'File';

export interface SecretFileKeys {
  readonly problems: PendingProblem[];
  readonly files: FileReference[];
}

/** Removes the `<secret>File` keys from `tree` (in place) and returns what they reference. */
export function takeSecretFileKeys(
  tree: unknown,
  schema: TSchema,
  locate: (segments: readonly PathSegment[]) => string | undefined,
): SecretFileKeys {
  const result: SecretFileKeys = { problems: [], files: [] };
  visit(tree, schema, [], locate, result);
  return result;
}

function visit(
  node: unknown,
  schema: TSchema | undefined,
  segments: PathSegment[],
  locate: (segments: readonly PathSegment[]) => string | undefined,
  result: SecretFileKeys,
): void {
  if (schema === undefined) return;
  if (KindGuard.IsObject(schema) && isMapping(node)) {
    for (const key of Object.keys(node)) {
      if (!key.endsWith(SUFFIX) || Object.hasOwn(schema.properties, key)) continue;
      const base = key.slice(0, -SUFFIX.length);
      const target = Object.hasOwn(schema.properties, base) ? schema.properties[base] : undefined;
      if (target === undefined || !isSecret(target)) continue;
      const file = node[key];
      const keySegments = [...segments, key];
      if (typeof file !== 'string' || file === '') {
        result.problems.push({ segments: keySegments, message: 'must be a file path' });
      } else if (Object.hasOwn(node, base)) {
        result.problems.push({
          segments: keySegments,
          message: `set either ${base} or ${key}, not both`,
        });
      } else {
        result.files.push({
          segments: [...segments, base],
          schema: target,
          file,
          source: locate(keySegments) ?? 'the configuration file',
        });
      }
      Reflect.deleteProperty(node, key);
    }
    for (const [key, child] of Object.entries(schema.properties)) {
      visit(node[key], child, [...segments, key], locate, result);
    }
  } else if (KindGuard.IsArray(schema) && Array.isArray(node)) {
    node.forEach((item, index) => {
      visit(item, schema.items, [...segments, index], locate, result);
    });
  } else if (KindGuard.IsRecord(schema) && isMapping(node)) {
    for (const [key, value] of Object.entries(node)) {
      visit(value, recordValueSchema(schema), [...segments, key], locate, result);
    }
  }
}
