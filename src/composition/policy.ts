/**
 * The policy source the configuration names, with its reload metrics and the audit line of every
 * change, and the options decide() applies to its snapshots.
 */
import type { Logger } from 'pino';
import type { DecideOptions } from '../authz/decide.ts';
import type { Identity } from '../authz/identity.ts';
import { SubjectSources, unqualifiedSubjectSources } from '../authz/roles.ts';
import type { Config } from '../config/schema.ts';
import type { PolicySource } from '../policy/policy-source.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import { FilePolicySource } from '../policy/sources/files/file-source.ts';
import { createKubernetesPolicySource } from '../policy/sources/kubernetes/kubernetes-source.ts';
import type { Runtime } from './runtime.ts';

/** The serving snapshot; null until the first policy load succeeded. */
export type CurrentSnapshot = () => PolicySnapshot | null;

/** The configured source, not started yet (`startPolicySource`); stop it at shutdown. */
export function buildPolicySource(config: Pick<Config, 'policy'>, runtime: Runtime): PolicySource {
  const { metrics, audit, now } = runtime;
  const policy = createPolicySource(config, runtime);
  policy.onReload((result) => {
    metrics.policyReloads.inc({ source: policy.name, result: result.ok ? 'success' : 'failure' });
    if (result.ok) {
      for (const [kind, count] of Object.entries(result.counts))
        metrics.policyObjects.set({ kind }, count);
      if (result.changed) metrics.policyLastReload.set({ source: policy.name }, now() / 1000);
    }
  });
  policy.onChange((snapshot, event) => {
    audit.record({
      event: 'policy-change',
      source: event.source,
      version: event.version,
      previousVersion: event.previousVersion,
      objects: snapshot.counts,
    });
  });
  return policy;
}

function createPolicySource(config: Pick<Config, 'policy'>, runtime: Runtime): PolicySource {
  const { logger, metrics, now } = runtime;
  switch (config.policy.source) {
    case 'files':
      return new FilePolicySource({
        directory: config.policy.files.directory,
        watch: config.policy.files.watch,
        logger: logger.child({ component: 'policy' }),
        now,
      });
    case 'kubernetes':
      return createKubernetesPolicySource(config.policy.kubernetes, {
        logger: logger.child({ component: 'policy', source: 'kubernetes' }),
        metrics,
        now,
      });
  }
  throw new Error(`unknown policy.source "${String(config.policy.source)}"`);
}

/** The first load; a source without a valid policy yet keeps /readyz false, and says so. */
export async function startPolicySource(policy: PolicySource, logger: Logger): Promise<void> {
  await policy.start();
  if (!policy.ready()) {
    logger.warn(
      { source: policy.name },
      'no valid policy loaded yet: /readyz stays false and checks answer 503 until the problems logged above are fixed',
    );
  }
}

/** `authz`: the super role, the no-match default, whom unqualified role-mapping subjects match. */
export function decideOptionsFor(config: Pick<Config, 'authz' | 'providers'>): DecideOptions {
  return {
    superRole: config.authz.superRole ?? null,
    noMatch: config.authz.noMatch,
    // Role-mapping subjects without `sources` match only these identity sources (roles.ts).
    unqualifiedSources: SubjectSources.of(
      unqualifiedSubjectSources(
        config.authz.unqualifiedSubjectSources,
        config.providers.map((provider) => provider.name),
      ),
    ),
  };
}

/** The cluster-scope roles of an identity under the current snapshot (`guest` before any). */
export function clusterRolesOf(
  snapshot: CurrentSnapshot,
  decideOptions: DecideOptions,
): (identity: Identity) => readonly string[] {
  return (identity) =>
    snapshot()?.roles.rolesOf(identity, '', decideOptions.unqualifiedSources) ?? ['guest'];
}
