/**
 * Which roles an identity holds in a scope (DESIGN.md, decision semantics 5 and 7).
 *
 * Everyone holds `guest`; an identity also holds `authenticated`, the roles of every
 * ClusterRoleMapping whose subjects match it and, in a namespace's scope, the roles of that
 * namespace's RoleMappings. A RoleMapping never grants anything outside its namespace, so one
 * tenant cannot hand out roles for another tenant's hosts. The cluster scope ("") is the scope of
 * ClusterAccessPolicies.
 *
 * Subjects (matched against indexes built once per snapshot):
 * - `User`: identity.user or identity.subject exactly, or identity.email case-insensitively
 *   (RFC 5321 allows case-sensitive local parts, but every mainstream provider treats addresses
 *   case-insensitively, and an IdP may normalise the case between logins);
 * - `Group`: any of identity.groups, exactly;
 * - `EmailDomain`: the domain of identity.email, case-insensitively and exactly (subdomains do
 *   not match: `example.com` does not grant to `evil.example.com`-hosted mailboxes);
 * - `Claim`: the claim is a string equal to one of `values`, or an array containing one. Other
 *   claim types (numbers, booleans, objects) never match.
 */
import type { Identity } from '../authn/identity.ts';
import type { Subject } from '../policy/resources.ts';

export const guestRole = 'guest';
export const authenticatedRole = 'authenticated';

/** One (Cluster)RoleMapping, reduced to what matching needs. */
export interface RoleGrant {
  /** The mapping's namespace, or "" for a ClusterRoleMapping. */
  readonly scope: string;
  readonly roles: readonly string[];
  readonly subjects: readonly Subject[];
}

interface ScopeIndex {
  readonly users: Map<string, Set<string>>;
  readonly emails: Map<string, Set<string>>;
  readonly groups: Map<string, Set<string>>;
  readonly domains: Map<string, Set<string>>;
  readonly claims: Map<string, Map<string, Set<string>>>;
}

function newScope(): ScopeIndex {
  return {
    users: new Map(),
    emails: new Map(),
    groups: new Map(),
    domains: new Map(),
    claims: new Map(),
  };
}

function grant(map: Map<string, Set<string>>, key: string, roles: readonly string[]): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  for (const role of roles) set.add(role);
}

function addAll(target: Set<string>, roles: ReadonlySet<string> | undefined): void {
  if (roles !== undefined) for (const role of roles) target.add(role);
}

function collect(
  scope: ScopeIndex,
  identity: Identity,
  email: string | null,
  held: Set<string>,
): void {
  addAll(held, scope.users.get(identity.user));
  if (identity.subject !== identity.user) addAll(held, scope.users.get(identity.subject));
  if (email !== null) {
    addAll(held, scope.emails.get(email));
    const at = email.lastIndexOf('@');
    if (at >= 0) addAll(held, scope.domains.get(email.slice(at + 1)));
  }
  for (const group of identity.groups) addAll(held, scope.groups.get(group));
  for (const [claim, byValue] of scope.claims) {
    const value = identity.claims[claim];
    if (typeof value === 'string') addAll(held, byValue.get(value));
    else if (Array.isArray(value)) {
      for (const item of value as readonly unknown[]) {
        if (typeof item === 'string') addAll(held, byValue.get(item));
      }
    }
  }
}

const anonymousRoles: readonly string[] = Object.freeze([guestRole]);

export class RoleIndex {
  readonly #cluster: ScopeIndex;
  readonly #namespaces: ReadonlyMap<string, ScopeIndex>;
  /**
   * Memo of computed role lists per identity object and scope. Identities are immutable and an
   * authenticator's session cache hands out the same object for repeated requests, so the hot
   * path usually finds its answer here. Invisible from outside: results are identical.
   */
  readonly #memo = new WeakMap<Identity, Map<string, readonly string[]>>();

  private constructor(cluster: ScopeIndex, namespaces: ReadonlyMap<string, ScopeIndex>) {
    this.#cluster = cluster;
    this.#namespaces = namespaces;
  }

  static build(grants: Iterable<RoleGrant>): RoleIndex {
    const cluster = newScope();
    const namespaces = new Map<string, ScopeIndex>();
    for (const { scope: scopeName, roles, subjects } of grants) {
      let scope = cluster;
      if (scopeName !== '') {
        scope = namespaces.get(scopeName) ?? newScope();
        namespaces.set(scopeName, scope);
      }
      for (const subject of subjects) {
        switch (subject.kind) {
          case 'User':
            grant(scope.users, subject.name, roles);
            if (subject.name.includes('@')) grant(scope.emails, subject.name.toLowerCase(), roles);
            break;
          case 'Group':
            grant(scope.groups, subject.name, roles);
            break;
          case 'EmailDomain':
            grant(scope.domains, subject.name.toLowerCase(), roles);
            break;
          case 'Claim': {
            let byValue = scope.claims.get(subject.name);
            if (byValue === undefined) {
              byValue = new Map();
              scope.claims.set(subject.name, byValue);
            }
            for (const value of subject.values ?? []) grant(byValue, value, roles);
            break;
          }
        }
      }
    }
    return new RoleIndex(cluster, namespaces);
  }

  /**
   * Sorted roles `identity` holds in `scope` (a namespace, or "" for the cluster scope).
   * The returned array is frozen and may be shared between calls.
   */
  rolesOf(identity: Identity | null, scope: string): readonly string[] {
    if (identity === null) return anonymousRoles;
    let byScope = this.#memo.get(identity);
    const cached = byScope?.get(scope);
    if (cached !== undefined) return cached;

    const held = new Set<string>([guestRole, authenticatedRole]);
    const email = identity.email === undefined ? null : identity.email.toLowerCase();
    collect(this.#cluster, identity, email, held);
    const namespaced = scope === '' ? undefined : this.#namespaces.get(scope);
    if (namespaced !== undefined) collect(namespaced, identity, email, held);
    const roles = Object.freeze([...held].sort());

    if (byScope === undefined) {
      byScope = new Map();
      this.#memo.set(identity, byScope);
    }
    byScope.set(scope, roles);
    return roles;
  }
}
