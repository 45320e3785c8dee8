/**
 * Pure loading of policy manifests from YAML text: parse (package `yaml`), default what files may
 * omit, validate, and locate every problem by file, document, line, object and field. Shared by
 * the file source and `gatehouse check`.
 */
import { Composer, LineCounter, Parser, isNode, parseAllDocuments } from 'yaml';
import type { Document, ParseOptions, DocumentOptions, SchemaOptions, YAMLError } from 'yaml';
import { CompactPool } from '../../compact.ts';
import type { PolicyProblem } from '../../policy-source.ts';
import { describeObject, isResourceKind, kinds } from '../../resources.ts';
import type { PolicyResource } from '../../resources.ts';
import { validateResource } from '../../validate.ts';
import { isRecord } from '../../../is-record.ts';
import { definedFields } from '../../../defined-fields.ts';

export interface PolicyFile {
  readonly path: string;
  readonly text: string;
}

export interface LoadOptions {
  /**
   * creationTimestamp for an object that has none, by object key (`Kind/namespace/name`).
   * Precedence uses it (older first), so the file source keeps it stable across reloads.
   * Default: the Unix epoch, which leaves the order to `namespace/name`.
   */
  readonly creationTimestampFor?: (objectKey: string) => string;
}

export interface LoadedPolicies {
  readonly resources: readonly PolicyResource[];
  /** Object keys (`Kind/namespace/name`) of `resources`, in the same order. */
  readonly keys: readonly string[];
  /** The file (`PolicyFile.path`) each of `resources` came from, in the same order. */
  readonly files: readonly string[];
  readonly problems: readonly PolicyProblem[];
}

const epoch = '1970-01-01T00:00:00Z';
/**
 * Largest manifest file read, in UTF-8 bytes: the most a Kubernetes ConfigMap can hold (1 MiB), the
 * usual way policy files reach a pod. A larger file is not a policy anyone wrote by hand, and
 * parsing it would cost memory and time on every reload (gatehouse issue 9, input limits).
 */
export const maxManifestBytes = 1024 * 1024;
/** Billion-laughs guard (the `yaml` default, made explicit). */
const maxAliasCount = 100;

/** `spec.rules[2].name` → `['spec', 'rules', 2, 'name']`, to find the YAML node of a problem. */
function pathKeys(path: string): (string | number)[] {
  const keys: (string | number)[] = [];
  for (const [, key, index] of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (index !== undefined) keys.push(Number(index));
    else if (key !== undefined) keys.push(key);
  }
  return keys;
}

function lineOf(
  document: Document.Parsed,
  lineCounter: LineCounter,
  keys: readonly (string | number)[],
): number | undefined {
  // Walk up to the deepest existing node: a missing field is reported at its parent.
  for (let depth = keys.length; depth >= 0; depth--) {
    const node: unknown =
      depth === 0 ? document.contents : document.getIn(keys.slice(0, depth), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Fills in what a file may omit and the API server would have set. */
function withDefaults(object: unknown, options: LoadOptions): unknown {
  if (!isRecord(object) || !isRecord(object.metadata) || !isResourceKind(object.kind))
    return object;
  const metadata = { ...object.metadata };
  if (kinds[object.kind].scope === 'Namespaced' && metadata.namespace === undefined) {
    metadata.namespace = 'default'; // as kubectl does without --namespace
  }
  if (metadata.creationTimestamp === undefined && typeof metadata.name === 'string') {
    const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
    const key = `${object.kind}/${namespace}/${metadata.name}`;
    metadata.creationTimestamp = (options.creationTimestampFor ?? (() => epoch))(key);
  }
  return { ...object, metadata };
}

function objectLabel(object: unknown): string | undefined {
  if (!isRecord(object) || typeof object.kind !== 'string') return undefined;
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '(unnamed)';
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  return describeObject(object.kind, namespace, name);
}

/**
 * The documents of one file, one at a time, as `parseAllDocuments` would return them all at
 * once. Only the document being loaded is alive: with a whole file's parse trees alive (100
 * policies a file in scenario (f)), young-generation collections kept finding them and moved
 * them to the old generation, where they piled up as garbage until a full collection. Loading
 * 10,000 policies promoted 243 MB that way, against 63 MB one document at a time
 * (`--trace-gc-nvp`, issue 17).
 */
function* parsedDocuments(
  text: string,
  options: ParseOptions & DocumentOptions & SchemaOptions & { lineCounter: LineCounter },
): Generator<Document.Parsed> {
  const parser = new Parser(options.lineCounter.addNewLine);
  const composer = new Composer(options);
  // The composer hands a document over complete, once the next one has begun or the text ended.
  yield* composer.compose(parser.parse(text)) as Generator<Document.Parsed>;
}

/**
 * The errors of each document, with the line, column and source excerpt `prettyErrors` adds.
 * Only `parseAllDocuments` applies that formatting (the package does not export it), so a file
 * with a syntax error is parsed once more as a whole: the same text gives the same documents and
 * errors, and only a broken file pays for it.
 */
function prettyErrorsOf(
  text: string,
  options: ParseOptions & DocumentOptions & SchemaOptions,
): (documentIndex: number) => readonly YAMLError[] {
  let documents: readonly Document.Parsed[] | undefined;
  return (documentIndex) => {
    documents ??= parseAllDocuments(text, { ...options, lineCounter: new LineCounter() });
    return documents[documentIndex]?.errors ?? [];
  };
}

/**
 * Loads files one after another into one set of objects, so a caller can let go of each file's
 * text once it is loaded (the file source reads 17 MB of text for 10,000 policies). All problems
 * are kept together; a caller that wants all-or-nothing semantics (the file source) discards the
 * resources when `problems` is not empty.
 *
 * The resources are deep-frozen compact copies (policy/compact.ts) of what the YAML decoder
 * returned, sharing string lists across the whole load.
 */
export class PolicyDocumentLoader {
  readonly #options: LoadOptions;
  readonly #resources: PolicyResource[] = [];
  readonly #keys: string[] = [];
  readonly #origins: string[] = [];
  readonly #problems: PolicyProblem[] = [];
  /** Object key → where it was first defined, to refuse a second definition. */
  readonly #seen = new Map<string, string>();
  readonly #pool = new CompactPool();

  constructor(options: LoadOptions = {}) {
    this.#options = options;
  }

  /** Loads every object of `file`. */
  add(file: PolicyFile): void {
    const bytes = Buffer.byteLength(file.text, 'utf8');
    if (bytes > maxManifestBytes) {
      this.#problems.push({
        file: file.path,
        path: '',
        message:
          `file is ${String(bytes)} bytes, larger than the ${String(maxManifestBytes)}-byte limit ` +
          'for a policy manifest (the size of a ConfigMap); split it into several files',
      });
      return;
    }
    const lineCounter = new LineCounter();
    const parseOptions = { lineCounter, uniqueKeys: true, prettyErrors: true };
    const errorsOf = prettyErrorsOf(file.text, parseOptions);
    let documentIndex = 0;
    for (const document of parsedDocuments(file.text, parseOptions)) {
      if (document.errors.length > 0) {
        for (const error of errorsOf(documentIndex)) {
          this.#problems.push({
            file: file.path,
            document: documentIndex + 1,
            ...(error.linePos === undefined ? {} : { line: error.linePos[0].line }),
            path: '',
            message: `YAML syntax error: ${error.message}`,
          });
        }
      } else this.#addDocument(file, document, documentIndex, lineCounter);
      documentIndex++;
    }
  }

  /** Everything loaded so far. */
  result(): LoadedPolicies {
    return {
      resources: this.#resources,
      keys: this.#keys,
      files: this.#origins,
      problems: this.#problems,
    };
  }

  #addDocument(
    file: PolicyFile,
    document: Document.Parsed,
    documentIndex: number,
    lineCounter: LineCounter,
  ): void {
    if (document.contents === null) return; // an empty document, e.g. after a final `---`
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount });
    } catch (error) {
      this.#problems.push({
        file: file.path,
        document: documentIndex + 1,
        path: '',
        message: `cannot read YAML: ${String(error)}`,
      });
      return;
    }
    if (value === null || value === undefined) return; // only comments
    const locate = (path: string): PolicyProblem['line'] =>
      lineOf(document, lineCounter, pathKeys(path));
    // `kind: List` (as `kubectl get -o yaml` prints) holds its objects under `items`.
    if (isRecord(value) && value.kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item: unknown, itemIndex) => {
        this.#addObject(file.path, documentIndex, locate, `items[${String(itemIndex)}]`, item);
      });
    } else this.#addObject(file.path, documentIndex, locate, '', value);
  }

  #addObject(
    file: string,
    documentIndex: number,
    locateInDocument: (path: string) => PolicyProblem['line'],
    prefix: string,
    item: unknown,
  ): void {
    const where = { file, document: documentIndex + 1 };
    const object = withDefaults(item, this.#options);
    const locate = (path: string): PolicyProblem['line'] =>
      locateInDocument(prefix === '' ? path : `${prefix}.${path}`);
    const result = validateResource(object);
    if (!result.ok) {
      const label = objectLabel(object);
      for (const problem of result.problems) {
        const line = locate(problem.path);
        this.#problems.push({
          ...where,
          ...definedFields({ line, object: label }),
          path:
            prefix !== '' && problem.path !== ''
              ? `${prefix}.${problem.path}`
              : prefix || problem.path,
          message: problem.message,
        });
      }
      return;
    }
    const { resource } = result;
    const namespace = resource.metadata.namespace ?? '';
    const key = `${resource.kind}/${namespace}/${resource.metadata.name}`;
    const previous = this.#seen.get(key);
    if (previous !== undefined) {
      const line = locate('metadata.name');
      this.#problems.push({
        ...where,
        ...definedFields({ line }),
        object: describeObject(resource.kind, namespace, resource.metadata.name),
        path: 'metadata.name',
        message: `defined twice: also in ${previous}`,
      });
      return;
    }
    let copy: PolicyResource;
    try {
      copy = this.#pool.copy(resource);
    } catch (error) {
      // An anchor used inside its own node: no schema field refuses it where anything goes
      // (metadata.annotations), and no copy or hash of it could end.
      this.#problems.push({
        ...where,
        object: describeObject(resource.kind, namespace, resource.metadata.name),
        path: '',
        message: `cannot read YAML: ${String(error)}`,
      });
      return;
    }
    this.#seen.set(key, `${file} (document ${String(documentIndex + 1)})`);
    this.#resources.push(copy);
    this.#keys.push(key);
    this.#origins.push(file);
  }
}

/** Loads every object of every file (PolicyDocumentLoader, for texts already in memory). */
export function loadPolicyDocuments(
  files: readonly PolicyFile[],
  options: LoadOptions = {},
): LoadedPolicies {
  const loader = new PolicyDocumentLoader(options);
  for (const file of files) loader.add(file);
  return loader.result();
}
