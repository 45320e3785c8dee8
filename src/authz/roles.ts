/**
 * Which roles an identity holds in a scope (docs/architecture.md, decision semantics 5 and 7).
 *
 * Everyone holds `guest`; an identity also holds `authenticated`, the roles of every
 * ClusterRoleMapping whose subjects match it and, in a namespace's scope, the roles of that
 * namespace's RoleMappings. A RoleMapping never grants anything outside its namespace, so one
 * tenant cannot hand out roles for another tenant's hosts. The cluster scope ("") is the scope of
 * ClusterAccessPolicies.
 *
 * Subjects are bound to identity sources (docs/identity.md "The identity model"): a subject with
 * `sources` matches only identities from one of them (`provider/<name>`, `issuer/<name>`,
 * `preauth`, `basic`; authz/identity.ts subjectSource); a subject without matches only the
 * sources of configuration `authz.unqualifiedSubjectSources` (default: the first OpenID
 * provider). The corporate `bob`, a partner IdP's `bob`, a machine token with `sub: bob` and a
 * pre-authenticated `bob` are four people, and adding a provider, an issuer or a pre-auth front
 * hands out no existing role. The index keeps one table per source and one for unqualified
 * subjects, built once per snapshot, so a check looks up at most two tables per scope.
 *
 * Subjects (matched against indexes built once per snapshot):
 * - `User`: identity.user or identity.subject exactly, or identity.email case-insensitively
 *   (RFC 5321 allows case-sensitive local parts, but every mainstream provider treats addresses
 *   case-insensitively, and an IdP may normalise the case between logins);
 * - `Group`: any of identity.groups, exactly;
 * - `EmailDomain`: the domain of identity.email, case-insensitively and exactly (subdomains do
 *   not match: `example.com` does not grant to `evil.example.com`-hosted mailboxes);
 * - `Claim`: the claim is a string equal to one of `values`, or an array containing one. Other
 *   claim types (numbers, booleans, objects) never match;
 * - `Organisation`: identity.organisation exactly (a provider's `claims.organisation`, the
 *   pre-authentication front's `preauth-org`).
 */
import type { Identity } from './identity.ts';
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

/**
 * A set of identity sources (`provider/<name>`, `issuer/<name>`, `preauth`, `basic`), compiled
 * so that asking whether an identity comes from one of them allocates nothing. Used for the
 * sources unqualified subjects match (configuration `authz.unqualifiedSubjectSources`).
 */
export class SubjectSources {
  /** The sources as given (sorted, unique); `['*']` for `every`. */
  readonly list: readonly string[];
  readonly #providers: ReadonlySet<string>;
  readonly #issuers: ReadonlySet<string>;
  readonly #preauth: boolean;
  readonly #basic: boolean;
  readonly #every: boolean;

  private constructor(list: readonly string[], every: boolean) {
    const providers = new Set<string>();
    const issuers = new Set<string>();
    for (const source of list) {
      if (source.startsWith('provider/')) providers.add(source.slice('provider/'.length));
      else if (source.startsWith('issuer/')) issuers.add(source.slice('issuer/'.length));
    }
    this.list = Object.freeze([...list]);
    this.#providers = providers;
    this.#issuers = issuers;
    this.#preauth = list.includes('preauth');
    this.#basic = list.includes('basic');
    this.#every = every;
  }

  /** Exactly these sources; anything that is not a source string is ignored. */
  static of(sources: readonly string[]): SubjectSources {
    return new SubjectSources([...new Set(sources.filter(isSubjectSource))].sort(), false);
  }

  /**
   * Every source, as before subjects were bound to sources. Only for tools and tests without a
   * configuration, and for questions asked in order to refuse (the impersonation guard asks
   * whether a target MIGHT hold the super role). Never for granting on a running service.
   */
  static readonly every: SubjectSources = new SubjectSources(['*'], true);

  /** No source: unqualified subjects match nobody. */
  static readonly none: SubjectSources = new SubjectSources([], false);

  /** Whether `identity` comes from one of these sources (authz/identity.ts subjectSource). */
  includes(identity: Identity): boolean {
    if (this.#every) return true;
    if (identity.actor !== undefined) return this.#providers.has(identity.actor.provider);
    switch (identity.method) {
      case 'session':
        return this.#providers.has(identity.provider);
      case 'bearer':
        return this.#issuers.has(identity.provider);
      case 'header':
        return this.#preauth;
      case 'basic':
        return this.#basic;
    }
  }
}

const sourcePattern = /^((provider|issuer)\/[a-z0-9]([a-z0-9-]*[a-z0-9])?|preauth|basic)$/;

/** Whether `value` is a source a subject may name (`provider/<name>`, `issuer/<name>`, ...). */
export function isSubjectSource(value: string): boolean {
  return sourcePattern.test(value);
}

/**
 * The sources unqualified subjects match: configuration `authz.unqualifiedSubjectSources`, or
 * when it is empty the first configured OpenID provider (none when there is no provider).
 */
export function unqualifiedSubjectSources(
  configured: readonly string[],
  providerNames: readonly string[],
): readonly string[] {
  if (configured.length > 0) return configured;
  const first = providerNames[0];
  return first === undefined ? [] : [`provider/${first}`];
}

interface ScopeIndex {
  readonly users: Map<string, Set<string>>;
  readonly emails: Map<string, Set<string>>;
  readonly groups: Map<string, Set<string>>;
  readonly domains: Map<string, Set<string>>;
  readonly organisations: Map<string, Set<string>>;
  readonly claims: Map<string, Map<string, Set<string>>>;
}

/** One scope's subjects, split by the source they are bound to. */
interface SourcedScope {
  readonly providers: Map<string, ScopeIndex>;
  readonly issuers: Map<string, ScopeIndex>;
  preauth: ScopeIndex | undefined;
  basic: ScopeIndex | undefined;
  /** Subjects without `sources`. */
  unqualified: ScopeIndex | undefined;
}

function newScope(): ScopeIndex {
  return {
    users: new Map(),
    emails: new Map(),
    groups: new Map(),
    domains: new Map(),
    organisations: new Map(),
    claims: new Map(),
  };
}

function newSourcedScope(): SourcedScope {
  return {
    providers: new Map(),
    issuers: new Map(),
    preauth: undefined,
    basic: undefined,
    unqualified: undefined,
  };
}

/** The table of `source` in `scope` (created on first use); `undefined`: unqualified. */
function tableFor(scope: SourcedScope, source: string | undefined): ScopeIndex {
  if (source === undefined) return (scope.unqualified ??= newScope());
  if (source === 'preauth') return (scope.preauth ??= newScope());
  if (source === 'basic') return (scope.basic ??= newScope());
  const slash = source.indexOf('/');
  const byName = source.startsWith('provider/') ? scope.providers : scope.issuers;
  const name = source.slice(slash + 1);
  let table = byName.get(name);
  if (table === undefined) {
    table = newScope();
    byName.set(name, table);
  }
  return table;
}

/** The table of the identity's own source (subjectSource, without building the string). */
function ownTable(scope: SourcedScope, identity: Identity): ScopeIndex | undefined {
  if (identity.actor !== undefined) return scope.providers.get(identity.actor.provider);
  switch (identity.method) {
    case 'session':
      return scope.providers.get(identity.provider);
    case 'bearer':
      return scope.issuers.get(identity.provider);
    case 'header':
      return scope.preauth;
    case 'basic':
      return scope.basic;
  }
}

function grant(map: Map<string, Set<string>>, key: string, roles: readonly string[]): void {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  for (const role of roles) set.add(role);
}

function addSubject(scope: ScopeIndex, subject: Subject, roles: readonly string[]): void {
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
    case 'Organisation':
      grant(scope.organisations, subject.name, roles);
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
  if (identity.organisation !== undefined) {
    addAll(held, scope.organisations.get(identity.organisation));
  }
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

function collectSourced(
  scope: SourcedScope,
  identity: Identity,
  email: string | null,
  unqualified: SubjectSources,
  held: Set<string>,
): void {
  const own = ownTable(scope, identity);
  if (own !== undefined) collect(own, identity, email, held);
  if (scope.unqualified !== undefined && unqualified.includes(identity)) {
    collect(scope.unqualified, identity, email, held);
  }
}

const anonymousRoles: readonly string[] = Object.freeze([guestRole]);

export class RoleIndex {
  readonly #cluster: SourcedScope;
  readonly #namespaces: ReadonlyMap<string, SourcedScope>;
  /**
   * Memo of computed role lists per unqualified-source set, identity object and scope.
   * Identities are immutable and an authenticator's session cache hands out the same object for
   * repeated requests, so the hot path usually finds its answer here. Invisible from outside:
   * results are identical.
   */
  readonly #memo = new WeakMap<SubjectSources, WeakMap<Identity, Map<string, readonly string[]>>>();

  private constructor(cluster: SourcedScope, namespaces: ReadonlyMap<string, SourcedScope>) {
    this.#cluster = cluster;
    this.#namespaces = namespaces;
  }

  static build(grants: Iterable<RoleGrant>): RoleIndex {
    const cluster = newSourcedScope();
    const namespaces = new Map<string, SourcedScope>();
    for (const { scope: scopeName, roles, subjects } of grants) {
      let scope = cluster;
      if (scopeName !== '') {
        scope = namespaces.get(scopeName) ?? newSourcedScope();
        namespaces.set(scopeName, scope);
      }
      for (const subject of subjects) {
        if (subject.sources === undefined) {
          addSubject(tableFor(scope, undefined), subject, roles);
          continue;
        }
        // A malformed source (the schema refuses them) binds the subject to nothing.
        for (const source of new Set(subject.sources)) {
          if (isSubjectSource(source)) addSubject(tableFor(scope, source), subject, roles);
        }
      }
    }
    return new RoleIndex(cluster, namespaces);
  }

  /**
   * Sorted roles `identity` holds in `scope` (a namespace, or "" for the cluster scope).
   * `unqualified`: the sources subjects without `sources` match (DecideOptions); omitted, every
   * source — see SubjectSources.every for the only callers that may omit it.
   * The returned array is frozen and may be shared between calls.
   */
  rolesOf(
    identity: Identity | null,
    scope: string,
    unqualified: SubjectSources = SubjectSources.every,
  ): readonly string[] {
    if (identity === null) return anonymousRoles;
    let byIdentity = this.#memo.get(unqualified);
    let byScope = byIdentity?.get(identity);
    const cached = byScope?.get(scope);
    if (cached !== undefined) return cached;

    const held = new Set<string>([guestRole, authenticatedRole]);
    const email = identity.email === undefined ? null : identity.email.toLowerCase();
    collectSourced(this.#cluster, identity, email, unqualified, held);
    const namespaced = scope === '' ? undefined : this.#namespaces.get(scope);
    if (namespaced !== undefined) collectSourced(namespaced, identity, email, unqualified, held);
    const roles = Object.freeze([...held].sort());

    if (byIdentity === undefined) {
      byIdentity = new WeakMap();
      this.#memo.set(unqualified, byIdentity);
    }
    if (byScope === undefined) {
      byScope = new Map();
      byIdentity.set(identity, byScope);
    }
    byScope.set(scope, roles);
    return roles;
  }
}
