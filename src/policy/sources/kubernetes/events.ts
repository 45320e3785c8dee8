/**
 * Warning Events (events.k8s.io/v1) for objects gatehouse rejects, so `kubectl describe` and
 * `kubectl get events` show why a policy does not apply. One Event per object generation and
 * reason: re-evaluating an unchanged object never repeats it, and a verdict the object's status
 * already carries (written by a previous leader) is not announced again.
 */
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiVersion } from '../../resources.ts';
import { microTime } from './leader-election.ts';
import { truncateMessage } from './object-status.ts';
import type { ObjectVerdict } from './object-status.ts';
import { isRecord } from '../../../is-record.ts';

/** `reportingController` of every Event gatehouse writes. */
export const reportingController = 'gatehouse.dev/gatehouse';

/** An events.k8s.io/v1 Event as plain JSON. */
export interface KubeEvent {
  readonly apiVersion: 'events.k8s.io/v1';
  readonly kind: 'Event';
  readonly metadata: { readonly name: string; readonly namespace: string };
  /** MicroTime. */
  readonly eventTime: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly action: string;
  readonly note: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly regarding: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly name: string;
    readonly namespace?: string;
    readonly uid: string;
    readonly resourceVersion: string;
  };
}

/** Creates one Event; the seam tests replace. */
export type EventSink = (namespace: string, event: KubeEvent) => Promise<void>;

export function kubeEventSink(kubeConfig: KubeConfig): EventSink {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  return async (namespace, body) => {
    await api.createNamespacedCustomObject({
      group: 'events.k8s.io',
      version: 'v1',
      plural: 'events',
      namespace,
      body,
    });
  };
}

export interface EventRecorderOptions {
  readonly sink: EventSink;
  /** This replica (the Event's `reportingInstance`). */
  readonly instance: string;
  /** Where Events about cluster-scoped objects go (gatehouse's own namespace). */
  readonly clusterScopedNamespace: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Whether the object's status already reports this verdict for this generation. */
function alreadyReported(verdict: ObjectVerdict): boolean {
  const status = verdict.observedStatus;
  if (!isRecord(status) || !Array.isArray(status.conditions)) return false;
  return (status.conditions as unknown[]).some(
    (condition) =>
      isRecord(condition) &&
      condition.type === 'Ready' &&
      condition.status === 'False' &&
      condition.reason === verdict.reason &&
      condition.observedGeneration === verdict.generation,
  );
}

export class EventRecorder {
  readonly #options: EventRecorderOptions;
  readonly #now: () => number;
  /** uid → `generation/reason` last announced. */
  readonly #announced = new Map<string, string>();

  constructor(options: EventRecorderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Announces each rejected verdict once; returns how many Events were created. */
  async recordAll(verdicts: readonly ObjectVerdict[]): Promise<number> {
    let created = 0;
    const alive = new Set<string>();
    for (const verdict of verdicts) {
      alive.add(verdict.uid);
      if (await this.record(verdict)) created++;
    }
    for (const uid of this.#announced.keys()) if (!alive.has(uid)) this.#announced.delete(uid);
    return created;
  }

  async record(verdict: ObjectVerdict): Promise<boolean> {
    if (verdict.ready) {
      this.#announced.delete(verdict.uid);
      return false;
    }
    const key = `${String(verdict.generation)}/${verdict.reason}`;
    if (this.#announced.get(verdict.uid) === key) return false;
    if (alreadyReported(verdict)) {
      this.#announced.set(verdict.uid, key);
      return false;
    }
    const namespace =
      verdict.namespace === '' ? this.#options.clusterScopedNamespace : verdict.namespace;
    const event: KubeEvent = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: {
        // Unique and stable-prefixed, like client-go's recorder (`<object>.<random>`).
        name: `${verdict.name}.${randomBytes(8).toString('hex')}`,
        namespace,
      },
      eventTime: microTime(this.#now()),
      type: 'Warning',
      reason: verdict.reason,
      action: 'Validate',
      note: truncateMessage(verdict.message, 1024), // events.k8s.io/v1 caps `note` at 1 kB
      reportingController,
      reportingInstance: this.#options.instance.slice(0, 128),
      regarding: {
        apiVersion,
        kind: verdict.kind,
        name: verdict.name,
        ...(verdict.namespace === '' ? {} : { namespace: verdict.namespace }),
        uid: verdict.uid,
        resourceVersion: verdict.resourceVersion,
      },
    };
    try {
      await this.#options.sink(namespace, event);
      this.#announced.set(verdict.uid, key);
      return true;
    } catch (error) {
      this.#options.logger.warn(
        { err: error, object: `${verdict.kind} ${verdict.namespace}/${verdict.name}` },
        'could not create a Warning Event; will try again at the next change',
      );
      return false;
    }
  }
}
