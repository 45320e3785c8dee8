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
import type { Runtime } from './runtime.ts';

/** The serving snapshot; null until the first policy load succeeded. */
export type CurrentSnapshot = () => PolicySnapshot | null;

/** The configured source, not started yet (`startPolicySource`); stop it at shutdown. */
export async function buildPolicySource(
  config: Pick<Config, 'policy'>,
  runtime: Runtime,
): Promise<PolicySource> {
  const { metrics, audit, now } = runtime;
  const policy = await createPolicySource(config, runtime);
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

/**
 * Only the configured source's module is imported (issue 17). The Kubernetes source brings
 * @kubernetes/client-node and what it pulls in (openid-client, ws, js-yaml, jsonpath-plus,
 * node-fetch, tar-fs, socks...): about 970 modules and 14.5 MB of source, which a `files`
 * gatehouse never uses and which cost it 41 MB of idle RSS (179 → 138 MB measured with the
 * benchmark's (c) configuration) and 18 MB of live heap.
 */
async function createPolicySource(
  config: Pick<Config, 'policy'>,
  runtime: Runtime,
): Promise<PolicySource> {
  const { logger, metrics, now } = runtime;
  switch (config.policy.source) {
    case 'files': {
      const { FilePolicySource } = await import('../policy/sources/files/file-source.ts');
      return new FilePolicySource({
        directory: config.policy.files.directory,
        watch: config.policy.files.watch,
        logger: logger.child({ component: 'policy' }),
        now,
      });
    }
    case 'kubernetes': {
      const { createKubernetesPolicySource } =
        await import('../policy/sources/kubernetes/kubernetes-source.ts');
      return createKubernetesPolicySource(config.policy.kubernetes, {
        logger: logger.child({ component: 'policy', source: 'kubernetes' }),
        metrics,
        now,
      });
    }
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
