/**
 * Tenancy (DESIGN.md decision semantics 7, security invariant 9): a namespaced AccessPolicy
 * governs a host only if an Ingress or an HTTPRoute in the SAME namespace declares that host, so
 * a tenant can neither open nor close another tenant's host. Hosts compare as exact strings: a
 * wildcard policy host (`*.shop.example.com`) needs the same wildcard declared, because a
 * namespace that declares `a.shop.example.com` does not own its siblings. ClusterAccessPolicies
 * are written by platform admins and are never restricted.
 *
 * Pure: built from what the Ingress and HTTPRoute watches hold.
 */
import type { SnapshotObject } from '../../snapshot.ts';

/** The hosts one Ingress or HTTPRoute declares. */
export interface HostDeclaration {
  readonly kind: 'Ingress' | 'HTTPRoute';
  readonly namespace: string;
  readonly name: string;
  readonly hosts: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string' && item !== '')
    : [];
}

function identity(
  object: Record<string, unknown>,
): { namespace: string; name: string; spec: Record<string, unknown> } | null {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const { namespace, name } = metadata;
  if (typeof namespace !== 'string' || typeof name !== 'string') return null;
  return { namespace, name, spec: isRecord(object.spec) ? object.spec : {} };
}

/** `spec.rules[].host` and `spec.tls[].hosts[]` of a networking.k8s.io/v1 Ingress. */
export function ingressHosts(object: Record<string, unknown>): HostDeclaration | null {
  const found = identity(object);
  if (found === null) return null;
  const hosts = new Set<string>();
  for (const rule of records(found.spec.rules)) {
    if (typeof rule.host === 'string' && rule.host !== '') hosts.add(rule.host.toLowerCase());
  }
  for (const tls of records(found.spec.tls)) {
    for (const host of strings(tls.hosts)) hosts.add(host.toLowerCase());
  }
  return { kind: 'Ingress', namespace: found.namespace, name: found.name, hosts: [...hosts] };
}

/** `spec.hostnames[]` of a gateway.networking.k8s.io/v1 HTTPRoute. */
export function httpRouteHosts(object: Record<string, unknown>): HostDeclaration | null {
  const found = identity(object);
  if (found === null) return null;
  const hosts = [...new Set(strings(found.spec.hostnames).map((host) => host.toLowerCase()))];
  return { kind: 'HTTPRoute', namespace: found.namespace, name: found.name, hosts };
}

export class HostOwnership {
  /** namespace → declared hosts. */
  readonly #owned: ReadonlyMap<string, ReadonlySet<string>>;
  readonly #enforced: boolean;

  private constructor(owned: ReadonlyMap<string, ReadonlySet<string>>, enforced: boolean) {
    this.#owned = owned;
    this.#enforced = enforced;
  }

  /** `enforced: false` admits every host (single-tenant clusters, `hostOwnership: false`). */
  static build(declarations: Iterable<HostDeclaration>, enforced = true): HostOwnership {
    const owned = new Map<string, Set<string>>();
    for (const declaration of declarations) {
      let hosts = owned.get(declaration.namespace);
      if (hosts === undefined) {
        hosts = new Set();
        owned.set(declaration.namespace, hosts);
      }
      for (const host of declaration.hosts) hosts.add(host);
    }
    return new HostOwnership(owned, enforced);
  }

  get enforced(): boolean {
    return this.#enforced;
  }

  /** Whether a policy of `kind` in `namespace` may govern `host`. */
  admits(kind: string, namespace: string, host: string): boolean {
    return (
      !this.#enforced || kind !== 'AccessPolicy' || this.#owned.get(namespace)?.has(host) === true
    );
  }

  /** The snapshot's `admitHost` hook. */
  readonly admitHost = (policy: SnapshotObject, host: string): boolean =>
    this.admits(policy.kind, policy.namespace, host);

  /** The hosts of a policy its namespace does not declare, in the policy's order. */
  unownedHosts(kind: string, namespace: string, hosts: readonly string[]): string[] {
    return [...new Set(hosts)].filter((host) => !this.admits(kind, namespace, host));
  }
}

/** What an operator reads on an AccessPolicy whose namespace does not own a host. */
export function hostNotOwnedMessage(namespace: string, hosts: readonly string[]): string {
  return hosts
    .map(
      (host) =>
        `host ${host} is not declared by any Ingress or HTTPRoute in namespace ${namespace}; add it to an Ingress or HTTPRoute there or ask a platform admin for a ClusterAccessPolicy`,
    )
    .join('; ');
}
