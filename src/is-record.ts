/** A plain object (not null, not an array): the shape YAML, JSON and the Kubernetes API hand back. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
