/**
 * Tenancy (docs/architecture.md decision semantics 7, security invariant 9): which namespace's AccessPolicies
 * may govern a host. Pure: built from what the Ingress, IngressClass, HTTPRoute and HostDelegation
 * watches hold.
 *
 * 1. Only routes that route count. An Ingress counts when its class is one gatehouse protects
 *    (`policy.kubernetes.ingressClassNames`; empty: any IngressClass that exists in the cluster);
 *    an Ingress without a class takes the cluster's default IngressClass (annotation
 *    `ingressclass.kubernetes.io/is-default-class: "true"`, exactly one). An HTTPRoute counts
 *    when its status shows it `Accepted` (condition type Accepted, status True) by a parent
 *    Gateway of `policy.kubernetes.gateways` (`namespace/name`; empty: any Gateway). Tenants
 *    cannot create IngressClasses or write a route's status, so neither can be faked by them.
 * 2. Ownership is exclusive. Of the namespaces whose counting routes declare a host, the one with
 *    the earliest route owns it: oldest `creationTimestamp`, then namespace name, then route kind
 *    and name, the same order ingress-nginx and the Gateway API use for conflicting routes, so it
 *    is the same on every replica and after restarts. Ownership moves when the owner no longer
 *    has the earliest route, in particular when its last route for the host is gone.
 * 3. Explicit delegation. A cluster-scoped HostDelegation (platform admins) lets the namespaces
 *    it lists govern a host (exact, or every host under a `*.` wildcard), optionally only below a
 *    path prefix: a policy whose rules reach outside the prefix is not applied to that host.
 *
 * Hosts of policies and routes compare as exact strings: a policy for `*.shop.example.com` needs
 * that same wildcard declared; declaring `a.shop.example.com` does not own its siblings.
 * ClusterAccessPolicies are written by platform admins and are never restricted.
 */
import { isRecord } from '../../../is-record.ts';
import { definedFields } from '../../../defined-fields.ts';

/** The hosts one Ingress or HTTPRoute declares, and what decides whether it routes. */
export interface HostDeclaration {
  readonly kind: 'Ingress' | 'HTTPRoute';
  readonly namespace: string;
  readonly name: string;
  readonly hosts: readonly string[];
  /** RFC 3339; "" when absent (sorts last). */
  readonly creationTimestamp: string;
  /**
   * Ingress: `spec.ingressClassName`, else the legacy annotation `kubernetes.io/ingress.class`;
   * null when neither is set.
   */
  readonly ingressClassName?: string | null;
  /** HTTPRoute: `namespace/name` of each parent Gateway whose `Accepted` condition is True. */
  readonly acceptedBy?: readonly string[];
}

/** An IngressClass: its name and whether it is the cluster's default. */
export interface IngressClassInfo {
  readonly name: string;
  readonly isDefault: boolean;
}

/** A HostDelegation: `namespaces` may govern `host` (below `pathPrefix`, when set). */
export interface Delegation {
  readonly name: string;
  readonly host: string;
  readonly pathPrefix: string | null;
  readonly namespaces: readonly string[];
}

/** Which routes count (configuration `policy.kubernetes.ingressClassNames` and `.gateways`). */
export interface RouteSelection {
  /** Empty: any IngressClass that exists. */
  readonly ingressClassNames: readonly string[];
  /** `namespace/name`; empty: any Gateway. */
  readonly gateways: readonly string[];
}

export const defaultClassAnnotation = 'ingressclass.kubernetes.io/is-default-class';
const legacyClassAnnotation = 'kubernetes.io/ingress.class';
const gatewayGroup = 'gateway.networking.k8s.io';

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string' && item !== '')
    : [];
}

function identity(object: Record<string, unknown>): {
  namespace: string;
  name: string;
  creationTimestamp: string;
  annotations: Record<string, unknown>;
  spec: Record<string, unknown>;
} | null {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const { namespace, name, creationTimestamp } = metadata;
  if (typeof namespace !== 'string' || typeof name !== 'string') return null;
  return {
    namespace,
    name,
    creationTimestamp: typeof creationTimestamp === 'string' ? creationTimestamp : '',
    annotations: isRecord(metadata.annotations) ? metadata.annotations : {},
    spec: isRecord(object.spec) ? object.spec : {},
  };
}

/** `spec.rules[].host` and `spec.tls[].hosts[]` of a networking.k8s.io/v1 Ingress, and its class. */
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
  const explicit = found.spec.ingressClassName;
  const legacy = found.annotations[legacyClassAnnotation];
  const ingressClassName =
    typeof explicit === 'string' && explicit !== ''
      ? explicit
      : typeof legacy === 'string' && legacy !== ''
        ? legacy
        : null;
  return {
    kind: 'Ingress',
    namespace: found.namespace,
    name: found.name,
    hosts: [...hosts],
    creationTimestamp: found.creationTimestamp,
    ingressClassName,
  };
}

/** `spec.hostnames[]` of a gateway.networking.k8s.io/v1 HTTPRoute, and the Gateways that accepted it. */
export function httpRouteHosts(object: Record<string, unknown>): HostDeclaration | null {
  const found = identity(object);
  if (found === null) return null;
  const hosts = [...new Set(strings(found.spec.hostnames).map((host) => host.toLowerCase()))];
  const status = isRecord(object.status) ? object.status : {};
  const acceptedBy = new Set<string>();
  for (const parent of records(status.parents)) {
    const ref = isRecord(parent.parentRef) ? parent.parentRef : {};
    const group = typeof ref.group === 'string' ? ref.group : gatewayGroup;
    const kind = typeof ref.kind === 'string' ? ref.kind : 'Gateway';
    if (group !== gatewayGroup || kind !== 'Gateway' || typeof ref.name !== 'string') continue;
    const namespace = typeof ref.namespace === 'string' ? ref.namespace : found.namespace;
    const accepted = records(parent.conditions).some(
      (condition) => condition.type === 'Accepted' && condition.status === 'True',
    );
    if (accepted) acceptedBy.add(`${namespace}/${ref.name}`);
  }
  return {
    kind: 'HTTPRoute',
    namespace: found.namespace,
    name: found.name,
    hosts,
    creationTimestamp: found.creationTimestamp,
    acceptedBy: [...acceptedBy],
  };
}

/** A networking.k8s.io/v1 IngressClass. */
export function ingressClassInfo(object: Record<string, unknown>): IngressClassInfo | null {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  if (typeof metadata.name !== 'string') return null;
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  return { name: metadata.name, isDefault: annotations[defaultClassAnnotation] === 'true' };
}

/** A gatehouse.dev/v1alpha1 HostDelegation (already validated). */
export function delegationOf(object: Record<string, unknown>): Delegation | null {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const spec = isRecord(object.spec) ? object.spec : {};
  if (typeof metadata.name !== 'string' || typeof spec.host !== 'string') return null;
  return {
    name: metadata.name,
    host: spec.host.toLowerCase(),
    pathPrefix: typeof spec.pathPrefix === 'string' ? spec.pathPrefix : null,
    namespaces: strings(spec.namespaces),
  };
}

/**
 * Whether a route really routes through what gatehouse protects: an Ingress of a protected
 * class (an Ingress without a class takes the one default IngressClass), or an HTTPRoute
 * accepted by a configured Gateway.
 */
export function routeCounts(
  declaration: HostDeclaration,
  selection: RouteSelection,
  ingressClasses: readonly IngressClassInfo[],
): boolean {
  if (declaration.kind === 'HTTPRoute') {
    const accepted = declaration.acceptedBy ?? [];
    return selection.gateways.length === 0
      ? accepted.length > 0
      : accepted.some((gateway) => selection.gateways.includes(gateway));
  }
  let className = declaration.ingressClassName ?? null;
  if (className === null) {
    const defaults = ingressClasses.filter((entry) => entry.isDefault);
    // Two defaults: Kubernetes refuses new class-less Ingresses; so does ownership.
    if (defaults.length !== 1) return false;
    className = defaults[0]?.name ?? null;
    if (className === null) return false;
  }
  const name = className;
  return selection.ingressClassNames.length === 0
    ? ingressClasses.some((entry) => entry.name === name)
    : selection.ingressClassNames.includes(name);
}

/** The route that makes a namespace own a host. */
export interface HostOwner {
  readonly namespace: string;
  /** `Ingress shop/shop`. */
  readonly route: string;
  readonly creationTimestamp: string;
}

/** One request path a policy's rules cover (`value` as written; `/` when a match has no path). */
export interface RulePath {
  readonly rule: string;
  readonly exact: boolean;
  readonly value: string;
  /**
   * A `RegularExpression` path: `value` is a pattern, which may match paths anywhere on the host
   * (issue #19), so it stays below no prefix but `/`.
   */
  readonly regex?: boolean;
}

/** Whether a rule's path stays below a delegated prefix. */
function rulePathUnder(prefix: string, path: RulePath): boolean {
  return underPrefix(prefix, path.regex === true ? '/' : path.value);
}

export type HostJudgement =
  | { readonly admitted: true; readonly delegation?: string }
  | {
      readonly admitted: false;
      readonly reason: 'HostNotOwned' | 'HostOwnedByAnotherNamespace' | 'OutsideDelegatedPath';
      readonly owner?: HostOwner;
      readonly message: string;
    };

function millis(timestamp: string): number {
  const value = Date.parse(timestamp);
  return Number.isFinite(value) ? value : Number.MAX_SAFE_INTEGER;
}

/** Negative when route `a` was declared before `b` (the ownership order). */
function compareDeclarations(a: HostDeclaration, b: HostDeclaration): number {
  const time = millis(a.creationTimestamp) - millis(b.creationTimestamp);
  if (time !== 0) return time;
  for (const [x, y] of [
    [a.namespace, b.namespace],
    [a.kind, b.kind],
    [a.name, b.name],
  ] as const) {
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Whether delegation host `pattern` covers policy host `host` (exact, or under a wildcard). */
export function delegationCovers(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  return pattern.startsWith('*.') && host.endsWith(pattern.slice(1));
}

/** Whether a rule path stays below `prefix` by whole segments (`/api` covers `/api`, `/api/x`). */
export function underPrefix(prefix: string, value: string): boolean {
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (base === '') return true;
  return value === base || value.startsWith(`${base}/`);
}

export class HostOwnership {
  /** host → its owner (the earliest counting route). */
  readonly #owners: ReadonlyMap<string, HostOwner>;
  /** host → every namespace whose counting routes declare it. */
  readonly #declaredBy: ReadonlyMap<string, ReadonlySet<string>>;
  readonly #delegations: readonly Delegation[];
  readonly #enforced: boolean;

  private constructor(
    owners: ReadonlyMap<string, HostOwner>,
    declaredBy: ReadonlyMap<string, ReadonlySet<string>>,
    delegations: readonly Delegation[],
    enforced: boolean,
  ) {
    this.#owners = owners;
    this.#declaredBy = declaredBy;
    this.#delegations = delegations;
    this.#enforced = enforced;
  }

  /**
   * From the routes that count (see routeCounts) and the HostDelegations. `enforced: false`
   * admits every host (single-tenant clusters, `hostOwnership: false`).
   */
  static build(
    declarations: Iterable<HostDeclaration>,
    enforced = true,
    delegations: readonly Delegation[] = [],
  ): HostOwnership {
    const earliest = new Map<string, HostDeclaration>();
    const declaredBy = new Map<string, Set<string>>();
    for (const declaration of declarations) {
      for (const host of declaration.hosts) {
        const current = earliest.get(host);
        if (current === undefined || compareDeclarations(declaration, current) < 0) {
          earliest.set(host, declaration);
        }
        let namespaces = declaredBy.get(host);
        if (namespaces === undefined) {
          namespaces = new Set();
          declaredBy.set(host, namespaces);
        }
        namespaces.add(declaration.namespace);
      }
    }
    const owners = new Map<string, HostOwner>();
    for (const [host, declaration] of earliest) {
      owners.set(host, {
        namespace: declaration.namespace,
        route: `${declaration.kind} ${declaration.namespace}/${declaration.name}`,
        creationTimestamp: declaration.creationTimestamp,
      });
    }
    return new HostOwnership(owners, declaredBy, delegations, enforced);
  }

  get enforced(): boolean {
    return this.#enforced;
  }

  /** The namespace owning `host`, if any route that counts declares it. */
  owner(host: string): HostOwner | undefined {
    return this.#owners.get(host);
  }

  /** Hosts declared by routes of more than one namespace (the owner wins; the rest are refused). */
  conflictedHosts(): string[] {
    return [...this.#declaredBy]
      .filter(([, namespaces]) => namespaces.size > 1)
      .map(([host]) => host)
      .sort();
  }

  /**
   * Whether a policy of `kind` in `namespace` may govern `host`, given the paths of its rules
   * (a path-limited delegation admits a policy only if every rule stays below the prefix).
   */
  judge(
    kind: string,
    namespace: string,
    host: string,
    paths: readonly RulePath[] = [],
  ): HostJudgement {
    if (!this.#enforced || kind !== 'AccessPolicy') return { admitted: true };
    const owner = this.#owners.get(host);
    if (owner?.namespace === namespace) return { admitted: true };

    const delegations = this.#delegations.filter(
      (delegation) =>
        delegation.namespaces.includes(namespace) && delegationCovers(delegation.host, host),
    );
    const whole = delegations.find((delegation) => delegation.pathPrefix === null);
    if (whole !== undefined) return { admitted: true, delegation: whole.name };
    const fitting = delegations.find((delegation) =>
      paths.every((path) => rulePathUnder(delegation.pathPrefix ?? '/', path)),
    );
    if (fitting !== undefined) return { admitted: true, delegation: fitting.name };
    if (delegations.length > 0) {
      const prefixes = delegations.map((delegation) => delegation.pathPrefix ?? '/');
      const outside = paths
        .filter((path) => !prefixes.some((prefix) => rulePathUnder(prefix, path)))
        .map((path) => `${path.rule} (${path.value})`);
      const names = delegations.map((delegation) => delegation.name).join(', ');
      return {
        admitted: false,
        reason: 'OutsideDelegatedPath',
        ...definedFields({ owner }),
        message: `host ${host} is delegated to namespace ${namespace} only below ${prefixes.join(', ')} (HostDelegation ${names}), but rule ${outside.length === 0 ? 'paths span several prefixes' : outside.join(', ')} reach outside it; keep every rule of this policy below the prefix (or move them to another policy), or ask a platform admin to widen the HostDelegation`,
      };
    }
    if (owner !== undefined) {
      return {
        admitted: false,
        reason: 'HostOwnedByAnotherNamespace',
        owner,
        message: `host ${host} is owned by namespace ${owner.namespace} (its ${owner.route}, created ${owner.creationTimestamp === '' ? 'earlier' : owner.creationTimestamp}, declared it first); remove the host from this policy, or ask a platform admin for a HostDelegation naming namespace ${namespace}`,
      };
    }
    return {
      admitted: false,
      reason: 'HostNotOwned',
      message: hostNotOwnedMessage(namespace, [host]),
    };
  }

  /** Whether a policy of `kind` in `namespace` may govern `host` (whole-host delegations only). */
  admits(kind: string, namespace: string, host: string): boolean {
    return this.judge(kind, namespace, host).admitted;
  }

  /** The hosts of a policy it may not govern, in the policy's order. */
  unownedHosts(kind: string, namespace: string, hosts: readonly string[]): string[] {
    return [...new Set(hosts)].filter((host) => !this.admits(kind, namespace, host));
  }
}

/** What an operator reads on an AccessPolicy whose namespace does not declare a host. */
export function hostNotOwnedMessage(namespace: string, hosts: readonly string[]): string {
  return hosts
    .map(
      (host) =>
        `host ${host} is not declared by any Ingress or HTTPRoute in namespace ${namespace} that gatehouse protects (an Ingress of a protected class, or an HTTPRoute accepted by a protected Gateway); add it to one there or ask a platform admin for a HostDelegation or a ClusterAccessPolicy`,
    )
    .join('; ');
}
