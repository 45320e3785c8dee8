/**
 * Turns TypeBox validation errors into problems an operator understands. TypeBox's own
 * messages ("Expected union value") describe the schema, not the setting; a schema node's
 * `errorMessage` (with `{value}` standing for the offending value) wins, otherwise the message
 * is derived from the kind of check that failed.
 */
import { KindGuard } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { ValueError } from '@sinclair/typebox/errors';
import type { PathSegment, PendingProblem } from './problems.ts';
import { childSchema } from './schema-navigation.ts';
import { isSecret } from './schema.ts';

/** One problem per setting (the first error found there), in the order TypeBox reports them. */
export function describeSchemaErrors(
  root: TSchema,
  errors: Iterable<ValueError>,
): PendingProblem[] {
  const seen = new Set<string>();
  const problems: PendingProblem[] = [];
  for (const error of errors) {
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    problems.push({ segments: pointerSegments(root, error.path), message: describe(error) });
  }
  return problems;
}

function describe(error: ValueError): string {
  const schema = error.schema as TSchema & { errorMessage?: unknown };
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown setting';
    default:
      break;
  }
  if (typeof schema.errorMessage === 'string') {
    // A secret is never echoed back, even when it is malformed.
    const shown = isSecret(schema) ? '(hidden)' : JSON.stringify(error.value);
    return schema.errorMessage.replace('{value}', shown);
  }
  return genericMessage(error, schema);
}

function genericMessage(error: ValueError, schema: TSchema): string {
  const limits = schema as {
    minimum?: number;
    maximum?: number;
    minItems?: number;
    minLength?: number;
    pattern?: string;
    format?: string;
  };
  switch (error.type) {
    case ValueErrorType.Object:
      return 'must be a mapping (key: value)';
    case ValueErrorType.Array:
      return 'must be a list';
    case ValueErrorType.ArrayMinItems:
      return `must list at least ${limits.minItems ?? 1} item${limits.minItems === 1 ? '' : 's'}`;
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
      return numberMessage(limits.minimum, limits.maximum);
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.StringMinLength:
      return limits.minLength === 1
        ? 'must not be empty'
        : `must be at least ${limits.minLength ?? 0} characters`;
    case ValueErrorType.StringPattern:
      return `must match ${limits.pattern ?? ''}`;
    case ValueErrorType.StringFormat:
      return `must be a valid ${limits.format ?? 'value'}`;
    case ValueErrorType.Union: {
      const literals = KindGuard.IsUnion(schema) ? schema.anyOf.filter(KindGuard.IsLiteral) : [];
      if (KindGuard.IsUnion(schema) && literals.length === schema.anyOf.length) {
        return `must be one of ${literals.map((literal) => String(literal.const)).join(', ')}`;
      }
      return 'has an invalid value';
    }
    default:
      return error.message;
  }
}

function numberMessage(minimum: number | undefined, maximum: number | undefined): string {
  if (minimum !== undefined && maximum !== undefined) {
    return `must be a whole number from ${minimum} to ${maximum}`;
  }
  if (minimum !== undefined) return `must be a whole number of at least ${minimum}`;
  return 'must be a whole number';
}

/** JSON pointer (`/providers/0/name`) to segments, numbering only what indexes an array. */
function pointerSegments(root: TSchema, pointer: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let schema: TSchema | undefined = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const segment: PathSegment =
      schema !== undefined && KindGuard.IsArray(schema) && /^\d+$/.test(key) ? Number(key) : key;
    segments.push(segment);
    schema = schema === undefined ? undefined : childSchema(schema, segment);
  }
  return segments;
}
