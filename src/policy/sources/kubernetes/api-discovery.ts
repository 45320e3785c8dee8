/**
 * Whether the API server serves an API group version, through discovery (`GET /apis`), which
 * every authenticated client may read (the `system:discovery` ClusterRole), so looking for the
 * Gateway API needs no RBAC on CustomResourceDefinitions.
 */
import { ApisApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

/** Resolves true/false, rejects when the API server cannot be asked. */
export type GroupVersionProbe = (group: string, version: string) => Promise<boolean>;

export function kubeGroupVersionProbe(kubeConfig: KubeConfig): GroupVersionProbe {
  const api = kubeConfig.makeApiClient(ApisApi);
  return async (group, version) => {
    const list = await api.getAPIVersions();
    return list.groups.some(
      (candidate) =>
        candidate.name === group && candidate.versions.some((v) => v.version === version),
    );
  };
}
