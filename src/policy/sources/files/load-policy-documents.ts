/**
 * Pure loading of policy manifests from YAML text: parse (package `yaml`), default what files may
 * omit, validate, and locate every problem by file, document, line, object and field. Shared by
 * the file source and `gatehouse check`.
 */
import { LineCounter, isNode, parseAllDocuments } from 'yaml';
import type { Document } from 'yaml';
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
 * Loads every object of every file. All problems are returned together; a caller that wants
 * all-or-nothing semantics (the file source) discards `resources` when `problems` is not empty.
 */
export function loadPolicyDocuments(
  files: readonly PolicyFile[],
  options: LoadOptions = {},
): LoadedPolicies {
  const resources: PolicyResource[] = [];
  const keys: string[] = [];
  const origins: string[] = [];
  const problems: PolicyProblem[] = [];
  const seen = new Map<string, string>();

  for (const file of files) {
    const bytes = Buffer.byteLength(file.text, 'utf8');
    if (bytes > maxManifestBytes) {
      problems.push({
        file: file.path,
        path: '',
        message:
          `file is ${String(bytes)} bytes, larger than the ${String(maxManifestBytes)}-byte limit ` +
          'for a policy manifest (the size of a ConfigMap); split it into several files',
      });
      continue;
    }
    const lineCounter = new LineCounter();
    const documents = parseAllDocuments(file.text, {
      lineCounter,
      uniqueKeys: true,
      prettyErrors: true,
    });
    documents.forEach((document, documentIndex) => {
      const where = { file: file.path, document: documentIndex + 1 };
      if (document.errors.length > 0) {
        for (const error of document.errors) {
          problems.push({
            ...where,
            ...(error.linePos === undefined ? {} : { line: error.linePos[0].line }),
            path: '',
            message: `YAML syntax error: ${error.message}`,
          });
        }
        return;
      }
      if (document.contents === null) return; // an empty document, e.g. after a final `---`

      let value: unknown;
      try {
        value = document.toJS({ maxAliasCount });
      } catch (error) {
        problems.push({ ...where, path: '', message: `cannot read YAML: ${String(error)}` });
        return;
      }
      if (value === null || value === undefined) return; // only comments
      // `kind: List` (as `kubectl get -o yaml` prints) holds its objects under `items`.
      const list: unknown[] | null =
        isRecord(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : null;
      const isList = list !== null;
      const items: unknown[] = list ?? [value];
      items.forEach((item, itemIndex) => {
        const prefix = isList ? `items[${String(itemIndex)}]` : '';
        const object = withDefaults(item, options);
        const label = objectLabel(object);
        const locate = (path: string): PolicyProblem['line'] =>
          lineOf(document, lineCounter, pathKeys(prefix === '' ? path : `${prefix}.${path}`));
        const result = validateResource(object);
        if (!result.ok) {
          for (const problem of result.problems) {
            const line = locate(problem.path);
            problems.push({
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
        const here = `${file.path} (document ${String(documentIndex + 1)})`;
        const previous = seen.get(key);
        if (previous !== undefined) {
          const line = locate('metadata.name');
          problems.push({
            ...where,
            ...definedFields({ line }),
            object: describeObject(resource.kind, namespace, resource.metadata.name),
            path: 'metadata.name',
            message: `defined twice: also in ${previous}`,
          });
          return;
        }
        seen.set(key, here);
        resources.push(resource);
        keys.push(key);
        origins.push(file.path);
      });
    });
  }
  return { resources, keys, files: origins, problems };
}
