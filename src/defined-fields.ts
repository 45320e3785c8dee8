/**
 * The fields of `fields` whose value is not `undefined`, for building objects with optional
 * properties under `exactOptionalPropertyTypes` (tsconfig.json): an optional property may be
 * absent but never present-and-undefined, so `{ email: identity.email }` does not type-check
 * where `email?: string` is expected, and the absent property must stay absent at run time too
 * (a JSON body, a signed assertion or a frozen config object would otherwise carry
 * `"email": undefined` or an extra key).
 *
 *     { subject, ...definedFields({ email: identity.email, name: identity.name }) }
 *
 * A field whose type cannot be undefined stays required in the result.
 */
export type DefinedFields<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

export function definedFields<T extends Record<string, unknown>>(fields: T): DefinedFields<T> {
  const result: Record<string, unknown> = {};
  for (const key in fields) {
    const value = fields[key];
    if (value !== undefined) result[key] = value;
  }
  return result as DefinedFields<T>;
}
