/**
 * Small operations on the raw (not yet validated) settings tree shared by the layers that
 * write into it: environment overrides and secret files.
 */
import { KindGuard } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import type { PathSegment } from './problems.ts';

export type SettingTree = Record<string, unknown>;

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads an override (environment value or file content) for a setting of `schema`. Plain
 * string settings take the text verbatim, so passwords containing `#`, `: ` or quotes survive;
 * everything else is a YAML scalar or flow value (`8081`, `true`, `[a, b]`, `{k: v}`).
 */
export function readSettingValue(
  text: string,
  schema: TSchema,
): { ok: true; value: unknown } | { ok: false; message: string } {
  if (KindGuard.IsString(schema)) return { ok: true, value: text };
  try {
    return { ok: true, value: parseYaml(text) as unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, message: `is not a valid YAML value (${reason ?? ''})` };
  }
}

/**
 * Sets `value` at `segments`, creating the mappings and lists on the way. A list index may
 * append (`providers[2]` when there are two) but not leave a hole. Returns a problem message,
 * or `undefined` when the value was set.
 */
export function setSetting(
  root: SettingTree,
  segments: readonly PathSegment[],
  value: unknown,
): string | undefined {
  let node: unknown = root;
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const next = segments[index + 1];
    const current = childOf(node, segment);
    const child = last
      ? value
      : typeof next === 'number'
        ? Array.isArray(current)
          ? current
          : []
        : isMapping(current)
          ? current
          : {};
    if (typeof segment === 'number') {
      const list = node as unknown[];
      if (segment > list.length) {
        return `index ${segment} leaves a gap: the list has ${list.length} entr${list.length === 1 ? 'y' : 'ies'}`;
      }
      list[segment] = child;
    } else {
      // defineProperty, so a key spelled `__proto__` is an ordinary key, never the prototype.
      Object.defineProperty(node, segment, {
        value: child,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
    node = child;
  }
  return undefined;
}

function childOf(node: unknown, segment: PathSegment): unknown {
  if (typeof segment === 'number') return Array.isArray(node) ? node[segment] : undefined;
  return isMapping(node) && Object.hasOwn(node, segment) ? node[segment] : undefined;
}
