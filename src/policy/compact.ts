/**
 * Deep-frozen, compact copies of decoded policy objects, for the ones a snapshot keeps for as
 * long as it serves (issue 17, scenario (f): 10,000 policies held 80 MB of parsed manifests).
 *
 * What a YAML decoder hands back costs far more than the data it holds:
 * - its strings are slices of the file's text, and V8 keeps a slice of 13 characters or more as a
 *   view of the whole text, so one host name or timestamp kept the whole file (17 MB of text for
 *   10,000 policies stayed alive beside the snapshot);
 * - its arrays grow by `push`, and a one-item list reserves room for 17 items (about 130 bytes of
 *   slack each: 27 MB in scenario (f), where every rule has a one-item `match` and `roles`); its
 *   objects start empty and reserve room for four fields;
 * - every `roles: [guest]` or `methods: [GET, HEAD]` is a list of its own.
 *
 * A copy made here is built by the JSON parser, which sizes every object and array exactly and
 * makes new strings (V8 interns the shortest); the pool then keeps one copy of each longer string
 * and of each list of strings, shared by every object copied through it. Sharing is only safe
 * because everything is frozen. The copy is deep-equal to its source, key order included, so hashes and
 * output built from it are unchanged; a value JSON cannot carry exactly (`.nan`, `-0`, a
 * `__proto__` key) is copied field by field instead.
 *
 * Only lists are shared, not mappings: most mappings of strings are distinct (every
 * `path: {type, value}`), and remembering each of them by its JSON cost more while loading than
 * sharing the few repeated ones saved.
 */

export class CompactPool {
  /** Frozen lists of strings, by their JSON. */
  readonly #lists = new Map<string, readonly string[]>();
  /** One copy of each string the JSON parser does not intern (V8 interns only the shortest). */
  readonly #strings = new Map<string, string>();

  /**
   * A deep-frozen copy of a decoded value (strings, numbers, booleans, null, arrays and plain
   * objects, as YAML and JSON decoders return), deep-equal to it with the same key order. Throws
   * a TypeError for a value that contains itself (a YAML anchor used inside its own node).
   */
  copy<T>(value: T): T {
    const copy: unknown = jsonExact(value, new Set())
      ? JSON.parse(JSON.stringify(value))
      : this.#copyFields(value);
    return this.#share(copy) as T;
  }

  /**
   * Freezes a fresh copy (one the pool made, so no other code holds it) and returns it, or, for a
   * list of strings, the equal list the pool already holds.
   */
  #share(value: unknown): unknown {
    if (typeof value === 'string') return this.#string(value);
    if (!isContainer(value)) return value;
    if (Array.isArray(value)) {
      const items = value as unknown[];
      let onlyStrings = true;
      for (let index = 0; index < items.length; index++) {
        const item = this.#share(items[index]);
        if (typeof item !== 'string') onlyStrings = false;
        items[index] = item;
      }
      Object.freeze(items);
      if (!onlyStrings) return items;
      const key = JSON.stringify(items);
      const shared = this.#lists.get(key);
      if (shared !== undefined) return shared;
      this.#lists.set(key, items as string[]);
      return items;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const field = record[key];
      if (!isContainer(field) && typeof field !== 'string') continue;
      const item = this.#share(field);
      // An own `__proto__` field (only in a copy made by #copyFields) is not the prototype.
      if (key === '__proto__') Object.defineProperty(record, key, { value: item });
      else record[key] = item;
    }
    return Object.freeze(record);
  }

  /**
   * The pool's copy of `value`. Strings under `pooledLength` characters are left alone: the
   * JSON parser already made them once each, and remembering every path and name of a large
   * policy set would cost more than it saves.
   */
  #string(value: string): string {
    if (value.length < pooledLength) return value;
    const pooled = this.#strings.get(value);
    if (pooled !== undefined) return pooled;
    this.#strings.set(value, value);
    return value;
  }

  /** A field-by-field copy, for values JSON cannot carry exactly. */
  #copyFields(value: unknown): unknown {
    if (typeof value === 'string') return detached(value);
    if (!isContainer(value)) return value;
    if (Array.isArray(value)) return (value as unknown[]).map((item) => this.#copyFields(item));
    const record = Object.create(Object.getPrototypeOf(value) as object | null) as Record<
      string,
      unknown
    >;
    for (const [key, field] of Object.entries(value)) {
      // defineProperty: an own field named `__proto__` (YAML allows it), not the prototype.
      Object.defineProperty(record, key, {
        value: this.#copyFields(field),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return record;
  }
}

/**
 * Strings at least this long are pooled. V8's JSON parser interns shorter values itself, but not
 * `PathPrefix` (80,000 copies in scenario (f)), `AccessPolicy` or the apiVersion, nor host names,
 * which repeat across the policies of one host.
 */
const pooledLength = 10;

/** An array or a plain object: what a copy descends into (anything else is kept as it is). */
function isContainer(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return true;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** At this length and above V8 may keep a substring as a view of its parent (a "sliced string"). */
const minimumSlicedLength = 13;

/**
 * `value` as a string of its own rather than a view of the text it was cut from. The JSON round
 * trip is exact for every string (lone surrogates are escaped) and its parser builds a new one.
 */
function detached(value: string): string {
  return value.length < minimumSlicedLength ? value : (JSON.parse(JSON.stringify(value)) as string);
}

/**
 * Whether `JSON.parse(JSON.stringify(value))` is deep-equal to `value`: only strings, booleans,
 * null, finite numbers other than `-0`, arrays and plain objects without a `__proto__` key.
 * Walks the whole value, with `within` holding the containers on the way down, to refuse one
 * that contains itself: neither kind of copy could end.
 */
function jsonExact(value: unknown, within: Set<object>): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (!isContainer(value)) return false;
      if (within.has(value)) throw new TypeError('a value contains itself (a recursive alias)');
      within.add(value);
      // JSON.parse makes every object an Object.prototype one, never with a `__proto__` field.
      let exact =
        Array.isArray(value) ||
        (Object.getPrototypeOf(value) === Object.prototype && !Object.hasOwn(value, '__proto__'));
      for (const item of Array.isArray(value) ? (value as unknown[]) : Object.values(value)) {
        exact = jsonExact(item, within) && exact;
      }
      within.delete(value);
      return exact;
    }
    default:
      return false;
  }
}
