/**
 * Freezes a plain data tree (objects and arrays) recursively, so the loaded configuration
 * cannot be changed by any consumer; a write throws in strict mode (every ES module).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
