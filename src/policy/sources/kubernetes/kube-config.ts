/**
 * Where the Kubernetes API is and who we are to it: the pod's service account (token and CA
 * mounted under /var/run/secrets/kubernetes.io/serviceaccount) in a cluster, or a kubeconfig
 * file for local runs and tests. The token is never logged.
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { definedFields } from '../../../defined-fields.ts';

/** Mounted into every pod whose service account token is automounted. */
export const serviceAccountDirectory = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeConfigOptions {
  /** Path of a kubeconfig file; unset: in-cluster. */
  readonly kubeconfig: string | undefined;
  readonly logger: Logger;
}

export function loadKubeConfig(options: LoadKubeConfigOptions): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (options.kubeconfig === undefined) {
    // Reads KUBERNETES_SERVICE_HOST/PORT and the mounted token file; client-node re-reads the
    // token file, so projected tokens that the kubelet rotates keep working.
    kubeConfig.loadFromCluster();
  } else {
    kubeConfig.loadFromFile(options.kubeconfig);
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) {
    throw new Error(
      options.kubeconfig === undefined
        ? 'no in-cluster Kubernetes configuration: KUBERNETES_SERVICE_HOST is not set (running outside a pod? set policy.kubernetes.kubeconfig)'
        : `kubeconfig ${options.kubeconfig} has no current cluster`,
    );
  }
  options.logger.info(
    {
      mode: options.kubeconfig === undefined ? 'in-cluster' : 'kubeconfig',
      ...definedFields({ kubeconfig: options.kubeconfig }),
      server: cluster.server,
      user: kubeConfig.getCurrentUser()?.name ?? '',
    },
    'Kubernetes API configuration loaded',
  );
  return kubeConfig;
}

/**
 * The namespace gatehouse runs in: the configured value, else the service account's namespace
 * file (present in every pod), else `default` (local runs).
 */
export function ownNamespace(configured: string | undefined, readFile = readNamespaceFile): string {
  if (configured !== undefined) return configured;
  return readFile() ?? 'default';
}

function readNamespaceFile(): string | null {
  try {
    const text = readFileSync(`${serviceAccountDirectory}/namespace`, 'utf8').trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}
