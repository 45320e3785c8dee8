/**
 * Where policy comes from: YAML files for local runs, Kubernetes informers in a cluster. Both
 * build a new immutable snapshot and swap one reference; a source that fails keeps the last
 * good snapshot (docs/architecture.md "A request's path through the layers").
 */
import type { ResourceKind } from './resources.ts';
import type { PolicySnapshot } from './snapshot.ts';

/** One reason a load was refused, located as precisely as the source can. */
export interface PolicyProblem {
  /** File the problem is in (file source). */
  readonly file?: string;
  /** 1-based position of the YAML document in its file. */
  readonly document?: number;
  /** 1-based line of the offending node, when known. */
  readonly line?: number;
  /** `Kind namespace/name` of the object, when it could be read. */
  readonly object?: string;
  /** Field path inside the object (`spec.rules[0].roles`), "" for the whole object or file. */
  readonly path: string;
  readonly message: string;
}

/** The outcome of one (re)load, e.g. for `policy_reloads_total{result}`. */
export type ReloadResult =
  | {
      readonly ok: true;
      readonly version: string;
      /** False when the content did not change (the snapshot was not swapped). */
      readonly changed: boolean;
      readonly counts: Readonly<Record<ResourceKind, number>>;
    }
  | { readonly ok: false; readonly problems: readonly PolicyProblem[] };

export interface PolicyChangeEvent {
  /** The source's name. */
  readonly source: string;
  readonly version: string;
  /** Null for the first snapshot. */
  readonly previousVersion: string | null;
}

export type PolicyChangeListener = (snapshot: PolicySnapshot, event: PolicyChangeEvent) => void;
export type ReloadListener = (result: ReloadResult) => void;
/** Removes the listener it was returned for. */
export type Unsubscribe = () => void;

export interface PolicySource {
  /** `files`, `kubernetes`: for logs and metric labels. */
  readonly name: string;
  /** Resolves after the first load attempt, whatever its outcome (see ready()). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The last good snapshot; null until a first load succeeds. */
  current(): PolicySnapshot | null;
  /** True once a good snapshot exists: the readiness probe's policy half. */
  ready(): boolean;
  /** Called after each swap to a new snapshot. */
  onChange(listener: PolicyChangeListener): Unsubscribe;
  /** Called after each load attempt, good or bad. */
  onReload(listener: ReloadListener): Unsubscribe;
}
