/**
 * Policy for the offline commands (`gatehouse check`, `gatehouse test`): read once, validated the
 * way the running service validates it, built into the same PolicySnapshot decide() searches.
 *
 * - A folder is read like the file source reads it (policy/sources/files): every problem in any
 *   file refuses the whole set, because the service would refuse that reload too.
 * - A live cluster is listed once through CustomObjectsApi (no informers). An object that fails
 *   validation is left out and reported as a warning, as the service leaves it out (and sets
 *   `Ready=False` on it) while the rest keeps working (docs/architecture.md "Custom resources").
 *
 * Tenancy (docs/architecture.md decision semantics 7: a namespaced AccessPolicy governs a host only if its
 * namespace declares that host in an Ingress or HTTPRoute) is NOT applied here: answers from the
 * CLI are what the policies say, as on a single-tenant installation.
 */
import { readFile } from 'node:fs/promises';
import type { PolicyProblem } from '../policy/policy-source.ts';
import type { CliIo } from './command.ts';
import {
  apiVersion,
  describeObject,
  group,
  kinds,
  resourceKinds,
  version,
} from '../policy/resources.ts';
import type { PolicyResource, ResourceKind } from '../policy/resources.ts';
import { buildSnapshot } from '../policy/snapshot.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import { listManifestFiles, loadPolicyDocuments } from '../policy/sources/files/file-source.ts';
import { validateResource } from '../policy/validate.ts';
import { isRecord } from '../is-record.ts';
import { definedFields } from '../defined-fields.ts';

export type PolicyLoadResult =
  | {
      readonly ok: true;
      readonly snapshot: PolicySnapshot;
      /** Where the policy came from, for the command's output. */
      readonly origin: string;
      /** Objects left out (cluster only); the snapshot holds the rest. */
      readonly warnings: readonly PolicyProblem[];
    }
  | { readonly ok: false; readonly origin: string; readonly problems: readonly PolicyProblem[] };

/** The CLI has no clock to honour: snapshots are stamped 0 so output never depends on the time. */
const fixedClock = (): number => 0;

/** Reads every `*.yaml`/`*.yml` below `directory`, as the file policy source does. */
export async function loadPoliciesFromDirectory(directory: string): Promise<PolicyLoadResult> {
  const origin = `folder ${directory}`;
  let paths: string[];
  try {
    paths = await listManifestFiles(directory);
  } catch (error) {
    return {
      ok: false,
      origin,
      problems: [{ file: directory, path: '', message: cannotRead(error) }],
    };
  }
  if (paths.length === 0) {
    // An empty folder would make every answer `no-matching-rule`: far more likely a wrong path.
    return {
      ok: false,
      origin,
      problems: [
        { file: directory, path: '', message: 'no *.yaml or *.yml manifests in this folder' },
      ],
    };
  }
  let files: { path: string; text: string }[];
  try {
    files = await Promise.all(
      paths.map(async (path) => ({ path, text: await readFile(path, 'utf8') })),
    );
  } catch (error) {
    return {
      ok: false,
      origin,
      problems: [{ file: directory, path: '', message: cannotRead(error) }],
    };
  }
  const loaded = loadPolicyDocuments(files);
  if (loaded.problems.length > 0) return { ok: false, origin, problems: loaded.problems };
  return {
    ok: true,
    origin,
    warnings: [],
    snapshot: buildSnapshot(loaded.resources, { now: fixedClock }),
  };
}

/** Lists the objects of one kind, all namespaces. The seam between validation and the API client. */
export interface ClusterObjectLister {
  /** Describes the cluster (server and context) for output. */
  readonly origin: string;
  list(kind: ResourceKind): Promise<readonly unknown[]>;
}

/** `Kind namespace/name` of a listed item, as far as it can be read. */
function labelOf(kind: ResourceKind, item: unknown): string {
  const metadata = isRecord(item) && isRecord(item.metadata) ? item.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '(unnamed)';
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  return describeObject(kind, namespace, name);
}

/**
 * Validates listed objects and builds a snapshot of the valid ones. Pure: `items` are what the
 * API server returned for each kind.
 */
export function snapshotFromClusterObjects(
  items: Readonly<Partial<Record<ResourceKind, readonly unknown[]>>>,
  origin: string,
): PolicyLoadResult {
  const resources: PolicyResource[] = [];
  const warnings: PolicyProblem[] = [];
  for (const kind of resourceKinds) {
    for (const item of items[kind] ?? []) {
      // List items of custom resources carry apiVersion and kind; fill them in if a proxy strips them.
      const object = isRecord(item) ? { apiVersion, kind, ...item } : item;
      const result = validateResource(object);
      if (result.ok) {
        resources.push(result.resource);
        continue;
      }
      const label = labelOf(kind, item);
      for (const problem of result.problems) {
        warnings.push({
          object: label,
          path: problem.path,
          message: `${problem.message} (object left out)`,
        });
      }
    }
  }
  return { ok: true, origin, warnings, snapshot: buildSnapshot(resources, { now: fixedClock }) };
}

/** Lists the four kinds once through `lister` and builds a snapshot of the valid objects. */
export async function loadPoliciesFromCluster(
  lister: ClusterObjectLister,
): Promise<PolicyLoadResult> {
  const items: Partial<Record<ResourceKind, readonly unknown[]>> = {};
  const problems: PolicyProblem[] = [];
  for (const kind of resourceKinds) {
    try {
      items[kind] = await lister.list(kind);
    } catch (error) {
      problems.push({ object: kinds[kind].plural, path: '', message: listFailure(error) });
    }
  }
  if (problems.length > 0) return { ok: false, origin: lister.origin, problems };
  return snapshotFromClusterObjects(items, lister.origin);
}

export interface KubeconfigListerOptions {
  /** Path of the kubeconfig file. */
  readonly kubeconfig: string;
  /** Context to use; the file's current context when omitted. */
  readonly context?: string;
  /** Items per list request; the API server pages with `continue` beyond it. */
  readonly pageSize?: number;
}

/**
 * A lister over `@kubernetes/client-node`'s CustomObjectsApi. The client is imported on first use
 * so `gatehouse check --policies` does not pay for loading it. Throws for a missing context.
 */
export async function kubeconfigLister(
  options: KubeconfigListerOptions,
): Promise<ClusterObjectLister> {
  const { CustomObjectsApi, KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  config.loadFromFile(options.kubeconfig);
  if (options.context !== undefined) {
    if (config.getContextObject(options.context) === null) {
      throw new Error(`context "${options.context}" is not in ${options.kubeconfig}`);
    }
    config.setCurrentContext(options.context);
  }
  const api = config.makeApiClient(CustomObjectsApi);
  const limit = options.pageSize ?? 500;
  const server = config.getCurrentCluster()?.server ?? 'unknown server';
  return {
    origin: `cluster ${server} (context ${config.getCurrentContext()})`,
    async list(kind) {
      const { plural, scope } = kinds[kind];
      const found: unknown[] = [];
      let next: string | undefined;
      do {
        const page: unknown =
          scope === 'Cluster'
            ? await api.listClusterCustomObject({
                group,
                version,
                plural,
                limit,
                ...definedFields({ _continue: next }),
              })
            : await api.listCustomObjectForAllNamespaces({
                group,
                version,
                plural,
                limit,
                ...definedFields({ _continue: next }),
              });
        if (!isRecord(page) || !Array.isArray(page.items))
          throw new Error(`unexpected answer listing ${plural}`);
        found.push(...(page.items as unknown[]));
        const metadata = isRecord(page.metadata) ? page.metadata : {};
        next =
          typeof metadata.continue === 'string' && metadata.continue !== ''
            ? metadata.continue
            : undefined;
      } while (next !== undefined);
      return found;
    },
  };
}

function cannotRead(error: unknown): string {
  return `cannot read: ${error instanceof Error ? error.message : String(error)}`;
}

function listFailure(error: unknown): string {
  const code = isRecord(error) && typeof error.code === 'number' ? error.code : undefined;
  if (code === 404) return `cannot list: the ${group} CRDs are not installed in this cluster (404)`;
  if (code === 401 || code === 403) {
    return `cannot list: the kubeconfig's user may not list ${group} resources (${String(code)}); gatehouse check needs list on all four kinds`;
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return `cannot list: ${message ?? 'unknown error'}`;
}

/** One problem per line: `file:line (document n) Kind ns/name spec.field: message`. */
export function formatPolicyProblem(problem: PolicyProblem): string {
  let where = problem.file ?? '';
  if (problem.line !== undefined) where += `:${String(problem.line)}`;
  if (problem.document !== undefined) where += ` (document ${String(problem.document)})`;
  const parts = [where, problem.object ?? '', problem.path].filter((part) => part !== '');
  return parts.length === 0 ? problem.message : `${parts.join(' ')}: ${problem.message}`;
}

/** Writes load problems (exit 2) or warnings (objects left out) to stderr. */
export function reportPolicyLoad(result: PolicyLoadResult, io: CliIo, command: string): boolean {
  if (!result.ok) {
    io.stderr(
      `gatehouse ${command}: the policy from ${result.origin} has ${String(result.problems.length)} problem(s):\n` +
        result.problems.map((problem) => `  ${formatPolicyProblem(problem)}\n`).join(''),
    );
    return false;
  }
  for (const warning of result.warnings) {
    io.stderr(`gatehouse ${command}: warning: ${formatPolicyProblem(warning)}\n`);
  }
  return true;
}
