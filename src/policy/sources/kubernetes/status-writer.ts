/**
 * Writes the verdicts of object-status.ts to the objects' `/status` subresource as JSON merge
 * patches (RFC 7396), only when the content would change. Never fights: a write that finds the
 * object gone (404) or conflicting (409) is dropped and the next watch event decides again; an
 * object version already written from is not written again, so a status that the API server
 * prunes (an older CRD) cannot cause a write per rebuild.
 */
import { createHash } from 'node:crypto';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Metrics } from '../../../metrics/metrics.ts';
import { group, version } from '../../resources.ts';
import { desiredStatus, statusNeedsWrite, statusPatch } from './object-status.ts';
import type { ObjectStatus, ObjectVerdict } from './object-status.ts';
import { httpStatusOf } from './watch-transport.ts';

/** The `fieldManager` of gatehouse's writes (visible in `managedFields`). */
export const fieldManager = 'gatehouse';

export type StatusWriteResult = 'written' | 'unchanged' | 'not_found' | 'conflict' | 'error';

/** One merge patch of one object's status; the seam tests replace. */
export type StatusPatcher = (
  verdict: ObjectVerdict,
  patch: Record<string, unknown>,
) => Promise<void>;

export function kubeStatusPatcher(kubeConfig: KubeConfig): StatusPatcher {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  // The generated client sends application/json-patch+json by default; this middleware
  // replaces the Content-Type so the body is read as a merge patch.
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return async (verdict, patch) => {
    const common = {
      group,
      version,
      plural: verdict.plural,
      name: verdict.name,
      body: patch,
      fieldManager,
    };
    if (verdict.namespace === '') {
      await api.patchClusterCustomObjectStatus(common, mergePatch);
    } else {
      await api.patchNamespacedCustomObjectStatus(
        { ...common, namespace: verdict.namespace },
        mergePatch,
      );
    }
  };
}

export interface StatusWriterOptions {
  readonly patch: StatusPatcher;
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, 'statusWrites'>;
  readonly now?: () => number;
}

function contentHash(status: ObjectStatus): string {
  // lastTransitionTime follows the clock until our write is observed; it is not content.
  const conditions = status.conditions.map(({ lastTransitionTime: _, ...rest }) => rest);
  return createHash('sha256')
    .update(JSON.stringify({ ...status, conditions }))
    .digest('hex');
}

export class StatusWriter {
  readonly #options: StatusWriterOptions;
  readonly #now: () => number;
  /** uid → what was last written from which object version. */
  #written = new Map<string, { resourceVersion: string; hash: string }>();

  constructor(options: StatusWriterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Writes what needs writing, one object after the other (no burst against the API server). */
  async writeAll(verdicts: readonly ObjectVerdict[]): Promise<Map<string, StatusWriteResult>> {
    const results = new Map<string, StatusWriteResult>();
    const alive = new Set<string>();
    for (const verdict of verdicts) {
      alive.add(verdict.uid);
      results.set(verdict.uid, await this.write(verdict));
    }
    for (const uid of this.#written.keys()) if (!alive.has(uid)) this.#written.delete(uid);
    return results;
  }

  /** Forgets what was written, so the next writeAll re-checks everything (a new leader term). */
  reset(): void {
    this.#written.clear();
  }

  async write(verdict: ObjectVerdict): Promise<StatusWriteResult> {
    const desired = desiredStatus(verdict, this.#now());
    if (!statusNeedsWrite(verdict.observedStatus, desired)) return 'unchanged';
    const hash = contentHash(desired);
    const last = this.#written.get(verdict.uid);
    if (last?.resourceVersion === verdict.resourceVersion && last.hash === hash) {
      // Written from this very version already: the watch has not caught up yet, or the
      // API server dropped some field. Either way, writing again would change nothing.
      return 'unchanged';
    }
    const { logger, metrics } = this.#options;
    const labels = { kind: verdict.kind };
    try {
      await this.#options.patch(verdict, statusPatch(verdict.observedStatus, desired));
      this.#written.set(verdict.uid, { resourceVersion: verdict.resourceVersion, hash });
      metrics?.statusWrites.inc({ ...labels, result: 'success' });
      logger.debug(
        {
          object: `${verdict.kind} ${verdict.namespace}/${verdict.name}`,
          reason: verdict.reason,
          generation: verdict.generation,
        },
        'status written',
      );
      return 'written';
    } catch (error) {
      const status = httpStatusOf(error);
      const result: StatusWriteResult =
        status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'error';
      metrics?.statusWrites.inc({ ...labels, result });
      const log = result === 'error' ? logger.warn : logger.debug;
      log.call(
        logger,
        {
          object: `${verdict.kind} ${verdict.namespace}/${verdict.name}`,
          httpStatus: status,
          err: result === 'error' ? error : undefined,
        },
        result === 'error'
          ? 'status write failed; will try again at the next change or resync'
          : 'status write skipped: the object changed or is gone',
      );
      return result;
    }
  }
}
