/**
 * Reads the single source of gatehouse's RBAC rules (charts/gatehouse/files/rbac-rules.yaml),
 * the same file the Helm chart renders into its ClusterRole and Role.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'yaml';

export const rbacRulesPath = resolve(
  import.meta.dirname,
  '../../../charts/gatehouse/files/rbac-rules.yaml',
);

export interface RbacRules {
  /** For a ClusterRole bound cluster-wide. */
  readonly clusterRules: V1PolicyRule[];
  /** For a Role bound in gatehouse's own namespace. */
  readonly namespaceRules: V1PolicyRule[];
}

function isRuleList(value: unknown): value is V1PolicyRule[] {
  return (
    Array.isArray(value) &&
    value.every(
      (rule: unknown) =>
        typeof rule === 'object' &&
        rule !== null &&
        Array.isArray((rule as { verbs?: unknown }).verbs) &&
        Array.isArray((rule as { resources?: unknown }).resources),
    )
  );
}

export async function loadRbacRules(): Promise<RbacRules> {
  const document: unknown = parse(await readFile(rbacRulesPath, 'utf8'));
  const { clusterRules, namespaceRules } = (document ?? {}) as Record<string, unknown>;
  if (!isRuleList(clusterRules) || !isRuleList(namespaceRules)) {
    throw new Error(
      `${rbacRulesPath} must hold clusterRules and namespaceRules: lists of { apiGroups, resources, verbs }`,
    );
  }
  return { clusterRules, namespaceRules };
}
