import type { Identity } from '../authz/identity.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import type { Session, SessionImpersonation } from '../sessions/session.ts';
import { identityOfSession } from '../authn/session-identity.ts';
import { definedFields } from '../defined-fields.ts';

/**
 * Impersonation ("switch user"): a signed-in user holding the configured role acts as another
 * user, so support staff see what that user sees. The session stays the real user's (its tokens,
 * provider and logout are unchanged); only the identity that checks answer for changes, and it
 * always names the real user as its actor: upstreams receive the impersonator header and the
 * assertion's `act` claim (RFC 8693 §4.1 "act (Actor) Claim"), so nothing downstream mistakes
 * an impersonated request for the user's own.
 *
 * The target is named by user name only: gatehouse cannot ask the identity provider about
 * another user, so the effective identity has that user name (also as subject), the e-mail
 * address the impersonator typed (if any), NO groups, and the roles `RoleMapping`s grant to a
 * `User` subject of that name or address. Group-based roles are therefore not reproduced.
 *
 * Refusals (OWASP ASVS V8 "Authorization"):
 * - the actor lacks the impersonation role (cluster scope: ClusterRoleMappings);
 * - the target holds the super role and the actor does not: impersonation must never be a way
 *   to gain more privilege than the actor has. The target's roles are looked up in EVERY scope
 *   (ClusterRoleMappings and every namespace's RoleMappings), since a namespace's administrator
 *   is as much a super holder for that namespace's hosts;
 * - the super role is granted through a subject gatehouse cannot evaluate for a target known by
 *   name only (a `Group`, a `Claim`, an `EmailDomain`, or a `User` named by e-mail address: the
 *   address typed in the form is the impersonator's word, not the provider's), and the actor
 *   does not hold it: any target might then be a super holder, so only super holders may
 *   impersonate (`super-role-unverifiable`);
 * - the actor names itself.
 * The rules are re-checked on every request (session-cookie.ts re-evaluates an impersonating
 * session at each check, not once per cached record), so removing the role from the actor (or
 * granting the super role to the target) ends a running impersonation at the next request; and
 * it is ENDED in the store (session-cookie.ts), so restoring the role later does not revive it.
 */
export interface ImpersonationOptions {
  /** The role that may impersonate (`impersonation.role`, default `impersonator`). */
  readonly role: string;
  /** `authz.superRole`; null when there is none. */
  readonly superRole: string | null;
  /** Cluster-scope roles of an identity (ClusterRoleMappings of the current snapshot). */
  readonly rolesOf: (identity: Identity) => readonly string[];
  /**
   * The current policy snapshot, to check a target's roles in every namespace and to find super
   * grants through subjects a name-only target cannot be checked against. Omitted: only
   * `rolesOf` (cluster scope) is consulted, which misses namespaced and group grants.
   */
  readonly policy?: (() => PolicySnapshot | null | undefined) | undefined;
}

export type ImpersonationRefusal =
  'not-impersonator' | 'super-role-target' | 'super-role-unverifiable' | 'self';

/**
 * What one snapshot says about the super role, computed once per snapshot: the namespaces that
 * have RoleMappings, and whether the role is granted through a subject that a target known only
 * by user name cannot be checked against.
 */
interface SuperRoleFacts {
  readonly scopes: readonly string[];
  readonly grantedUnverifiably: boolean;
}

const factsBySnapshot = new WeakMap<PolicySnapshot, Map<string, SuperRoleFacts>>();

function superRoleFacts(snapshot: PolicySnapshot, superRole: string): SuperRoleFacts {
  let bySuperRole = factsBySnapshot.get(snapshot);
  const known = bySuperRole?.get(superRole);
  if (known !== undefined) return known;
  const scopes = new Set<string>();
  let grantedUnverifiably = false;
  for (const object of snapshot.objects) {
    if (object.kind !== 'RoleMapping' && object.kind !== 'ClusterRoleMapping') continue;
    if (object.namespace !== '') scopes.add(object.namespace);
    const spec = (object.resource as { spec?: { roles?: unknown; subjects?: unknown } }).spec;
    const roles = Array.isArray(spec?.roles) ? (spec.roles as unknown[]) : [];
    if (!roles.includes(superRole)) continue;
    const subjects = Array.isArray(spec?.subjects) ? (spec.subjects as unknown[]) : [];
    for (const subject of subjects) {
      const { kind, name } = subject as { kind?: unknown; name?: unknown };
      // Only a `User` subject naming a user name is decided by the name alone.
      if (kind !== 'User' || typeof name !== 'string' || name.includes('@')) {
        grantedUnverifiably = true;
      }
    }
  }
  const facts = { scopes: [...scopes], grantedUnverifiably };
  if (bySuperRole === undefined) {
    bySuperRole = new Map();
    factsBySnapshot.set(snapshot, bySuperRole);
  }
  bySuperRole.set(superRole, facts);
  return facts;
}

/** The provider name of impersonated identities, in logs and in `X-Auth-Request-*` consumers. */
export const impersonationProvider = 'impersonation';

/** Longest accepted user name or e-mail address in the form. */
const maxFieldLength = 256;
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const controlCharacters = /[\u0000-\u001F\u007F-\u009F]/;

/** The user and optional e-mail typed into the form, trimmed; null when unusable. */
export function parseImpersonationTarget(
  user: string | null,
  email: string | null,
): { readonly user: string; readonly email?: string } | null {
  const name = user?.trim() ?? '';
  const address = email?.trim() ?? '';
  if (name === '' || name.length > maxFieldLength || controlCharacters.test(name)) return null;
  if (address === '') return { user: name };
  if (
    address.length > maxFieldLength ||
    controlCharacters.test(address) ||
    !/^[^\s@]+@[^\s@]+$/.test(address)
  ) {
    return null;
  }
  return { user: name, email: address };
}

export class Impersonation {
  readonly #options: ImpersonationOptions;

  constructor(options: ImpersonationOptions) {
    this.#options = options;
  }

  /** The role that may impersonate. */
  get role(): string {
    return this.#options.role;
  }

  /** Whether `actor` (the real user) may impersonate at all. */
  mayImpersonate(actor: Identity): boolean {
    const roles = this.#options.rolesOf(actor);
    return roles.includes(this.#options.role);
  }

  /** Why `actor` may not act as `target`, or null when it may. */
  refusal(actor: Identity, target: Identity): ImpersonationRefusal | null {
    if (!this.mayImpersonate(actor)) return 'not-impersonator';
    if (target.user === actor.user || target.subject === actor.subject) return 'self';
    const superRole = this.#options.superRole;
    if (superRole === null || this.#options.rolesOf(actor).includes(superRole)) return null;
    const snapshot = this.#options.policy?.() ?? undefined;
    if (snapshot === undefined) {
      return this.#options.rolesOf(target).includes(superRole) ? 'super-role-target' : null;
    }
    const facts = superRoleFacts(snapshot, superRole);
    for (const scope of ['', ...facts.scopes]) {
      if (snapshot.roles.rolesOf(target, scope).includes(superRole)) return 'super-role-target';
    }
    return facts.grantedUnverifiably ? 'super-role-unverifiable' : null;
  }

  /**
   * The identity a session answers for: the impersonated one (with its actor) while an
   * impersonation runs and is still allowed, the session's own otherwise.
   */
  effectiveIdentity(session: Session): Identity {
    const real = identityOfSession(session);
    const impersonation = session.impersonation;
    if (impersonation === undefined) return real;
    const target = impersonatedIdentity(session, impersonation);
    return this.refusal(real, target) === null ? target : real;
  }
}

/** The identity `session`'s user acts as; see the file comment for what it carries. */
export function impersonatedIdentity(
  session: Session,
  impersonation: Pick<SessionImpersonation, 'user' | 'email'>,
): Identity {
  const real = identityOfSession(session);
  return Object.freeze({
    subject: impersonation.user,
    user: impersonation.user,
    ...definedFields({ email: impersonation.email }),
    groups: Object.freeze([]),
    claims: Object.freeze({}),
    provider: impersonationProvider,
    method: 'session' as const,
    ...definedFields({ sessionId: real.sessionId, expiresAt: real.expiresAt }),
    actor: Object.freeze({ user: real.user, subject: real.subject, provider: real.provider }),
  });
}
