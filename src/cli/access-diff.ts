/**
 * What a policy change does to access (`gatehouse diff`, issue #19 part 4): for every host, the
 * requests (path regions × methods) and the callers (guest, any signed-in caller, each role,
 * each mapped subject) that gain or lose access between two policy sets, with the rule that
 * decides on each side.
 *
 * Exact, not sampled, for the rule language it enumerates: a decision depends on the request
 * only through the rule that matches it, and which rule matches changes only at the values the
 * rules name. So one probe per region is enough — each `Exact` value, each `PathPrefix` value and
 * "anything else below it", "anything else" on the host, each method a rule names (and HEAD where
 * GET is named), and one method no rule names — and decide() itself, the service's own
 * function, answers every probe on both sides. Matches this does not enumerate (conditions on
 * anything but path and method) are listed in `notEnumerated` rather than guessed.
 */
import type { AuthRequest } from '../authz/auth-request.ts';
import { decide, type DecideOptions } from '../authz/decide.ts';
import type { DecisionIndex } from '../authz/decision-index.ts';
import type { Decision } from '../authz/decision.ts';
import type { Identity } from '../authz/identity.ts';
import { authenticatedRole, guestRole, RoleIndex } from '../authz/roles.ts';
import { methodBits } from '../authz/rule-index.ts';
import { isAccessPolicy, type AnyAccessPolicy, type Subject } from '../policy/resources.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import { cliIdentity, cliRequest, ruleKey, type CliSubject } from './decision-inputs.ts';

/** Who gains or loses: a kind of caller, named as an operator would say it. */
export type Caller =
  | { readonly kind: 'guest' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'role'; readonly role: string }
  | { readonly kind: 'subject'; readonly subject: string };

export interface AccessChange {
  readonly host: string;
  /**
   * `/admin` (exactly), `/admin/…` (anything else below it), `/admin (and below)` (both alike)
   * or `/…` (anything else on the host).
   */
  readonly path: string;
  readonly methods: readonly string[];
  /** `policy/rule` or `namespace/policy/rule` on each side; null: no rule matched. */
  readonly before: string | null;
  readonly after: string | null;
  readonly gained: readonly Caller[];
  readonly lost: readonly Caller[];
}

export interface AccessDiff {
  readonly changes: readonly AccessChange[];
  /** Whether any caller gains access anywhere (the exit status of `gatehouse diff`). */
  readonly widened: boolean;
  /** Rules whose matches this diff cannot enumerate exactly, as `policy/rule: why`. */
  readonly notEnumerated: readonly string[];
}

/** A path segment no policy names, standing for "any other segment" in probes. */
const otherSegment = 'gatehouse-diff-other';
/** The label of the probe for "anything else below". */
const anythingBelow = '…';
/** Appended to a prefix whose own path and everything below it changed alike. */
const andBelow = ' (and below)';
/** The method label standing for every method no rule names. */
export const anyOtherMethod = '*';
/** The method label of a change that holds for every method alike. */
export const anyMethod = 'any method';

interface Probe {
  readonly host: string;
  readonly probeHost: string;
  readonly path: string;
  readonly label: string;
}

export function diffAccess(
  before: PolicySnapshot,
  after: PolicySnapshot,
  options: DecideOptions,
): AccessDiff {
  const policies = [...accessPolicies(before), ...accessPolicies(after)];
  const notEnumerated = new Set<string>();
  const probes = probesOf(policies, notEnumerated);
  const { methods, other } = methodsOf(policies);
  const callers = callersOf(before, after, policies, options);

  const changes: AccessChange[] = [];
  for (const probe of probes) {
    const byMethod = new Map<string, Omit<AccessChange, 'methods'>>();
    for (const method of methods) {
      const parsed = cliRequest(method, `https://${probe.probeHost}${probe.path}`);
      if (!parsed.ok) continue;
      const change = compare(parsed.request, probe, callers, before, after, options);
      if (change !== null) byMethod.set(method === other ? anyOtherMethod : method, change);
    }
    const everyMethod = byMethod.size === methods.length;
    for (const change of mergeMethods(byMethod)) {
      changes.push(
        everyMethod && change.methods.length === methods.length
          ? { ...change, methods: [anyMethod] }
          : change,
      );
    }
  }
  return {
    changes: mergePrefixes(changes),
    widened: changes.some((change) => change.gained.length > 0),
    notEnumerated: [...notEnumerated].sort(),
  };
}

function accessPolicies(snapshot: PolicySnapshot): AnyAccessPolicy[] {
  return snapshot.objects.flatMap(({ resource }) => (isAccessPolicy(resource) ? [resource] : []));
}

function policyName(policy: AnyAccessPolicy): string {
  const namespace = policy.kind === 'AccessPolicy' ? (policy.metadata.namespace ?? 'default') : '';
  return namespace === '' ? policy.metadata.name : `${namespace}/${policy.metadata.name}`;
}

/** One probe per path region of every host named by either side. */
function probesOf(policies: readonly AnyAccessPolicy[], notEnumerated: Set<string>): Probe[] {
  const pathsByHost = new Map<string, Set<string>>();
  for (const policy of policies) {
    const paths = new Set<string>(['/']);
    for (const rule of policy.spec.rules) {
      for (const match of rule.match) {
        const extra = Object.keys(match).filter((key) => key !== 'path' && key !== 'methods');
        if (extra.length > 0) {
          notEnumerated.add(
            `${policyName(policy)}/${rule.name}: matches on ${extra.join(', ')} are not enumerated`,
          );
        }
        const path = match.path ?? { type: 'PathPrefix', value: '/' };
        // Read as a string: a path type added to the language later must land in
        // notEnumerated, not be probed as if it were a prefix.
        const type: string = path.type;
        if (type === 'Exact' || type === 'PathPrefix') paths.add(path.value);
        else
          notEnumerated.add(`${policyName(policy)}/${rule.name}: ${type} paths are not enumerated`);
      }
    }
    for (const host of policy.spec.hosts) {
      const known = pathsByHost.get(host) ?? new Set<string>();
      for (const path of paths) known.add(path);
      pathsByHost.set(host, known);
    }
  }
  const probes: Probe[] = [];
  for (const [host, paths] of [...pathsByHost].sort(([a], [b]) => a.localeCompare(b))) {
    const probeHost = host.startsWith('*.') ? `${otherSegment}.${host.slice(2)}` : host;
    for (const path of [...paths].sort()) {
      probes.push({ host, probeHost, path, label: path });
      probes.push({
        host,
        probeHost,
        path: `${below(path)}${otherSegment}`,
        label: `${below(path)}${anythingBelow}`,
      });
    }
  }
  return probes;
}

/** The start of every path strictly below `path`. */
function below(path: string): string {
  return path.endsWith('/') ? path : `${path}/`;
}

/** Every method a rule names (HEAD too where GET is named), and one that no rule names. */
function methodsOf(policies: readonly AnyAccessPolicy[]): {
  methods: string[];
  other: string | undefined;
} {
  const named = new Set<string>();
  for (const policy of policies) {
    for (const rule of policy.spec.rules) {
      for (const match of rule.match) for (const method of match.methods ?? []) named.add(method);
    }
  }
  if (named.has('GET')) named.add('HEAD');
  const other = [...methodBits.keys()].find((method) => !named.has(method));
  return { methods: [...[...named].sort(), ...(other === undefined ? [] : [other])], other };
}

interface CallerProbe {
  readonly caller: Caller;
  readonly identity: Identity | null;
  /** The role index to decide with: the side's own, or one granting exactly one role. */
  readonly roles: (side: PolicySnapshot) => RoleIndex;
}

function callersOf(
  before: PolicySnapshot,
  after: PolicySnapshot,
  policies: readonly AnyAccessPolicy[],
  options: DecideOptions,
): CallerProbe[] {
  const own = (side: PolicySnapshot) => side.roles;
  const callers: CallerProbe[] = [
    { caller: { kind: 'guest' }, identity: null, roles: own },
    {
      caller: { kind: 'authenticated' },
      identity: cliIdentity({ user: 'gatehouse-diff:signed-in' }),
      roles: own,
    },
  ];

  // One caller per role a rule asks for (and the super role), holding exactly that role in
  // every scope: whether a role's holders gain or lose does not depend on who holds it.
  const scopes = new Set<string>(['']);
  const roles = new Set<string>();
  for (const policy of policies) {
    if (policy.kind === 'AccessPolicy') scopes.add(policy.metadata.namespace ?? 'default');
    for (const rule of policy.spec.rules) for (const role of rule.roles ?? []) roles.add(role);
  }
  if (options.superRole !== null) roles.add(options.superRole);
  roles.delete(guestRole);
  roles.delete(authenticatedRole);
  for (const role of [...roles].sort()) {
    const user = `gatehouse-diff:role:${role}`;
    const index = RoleIndex.build(
      [...scopes].map((scope) => ({
        scope,
        roles: [role],
        subjects: [{ kind: 'User', name: user }],
      })),
    );
    callers.push({
      caller: { kind: 'role', role },
      identity: cliIdentity({ user }),
      roles: () => index,
    });
  }

  // One caller per subject a role mapping names on either side, with the roles each side maps.
  const subjects = new Map<string, Subject>();
  for (const side of [before, after]) {
    for (const { resource } of side.objects) {
      if (isAccessPolicy(resource)) continue;
      for (const subject of resource.spec.subjects) subjects.set(subjectLabel(subject), subject);
    }
  }
  for (const [label, subject] of [...subjects].sort(([a], [b]) => a.localeCompare(b))) {
    callers.push({
      caller: { kind: 'subject', subject: label },
      identity: cliIdentity(identityOf(subject)),
      roles: own,
    });
  }
  return callers;
}

function subjectLabel(subject: Subject): string {
  const values = subject.values === undefined ? '' : `=${subject.values.join('|')}`;
  const sources = subject.sources === undefined ? '' : ` (${subject.sources.join(', ')})`;
  return `${subject.kind} ${subject.name}${values}${sources}`;
}

/** An identity that the subject matches, and nothing more specific. */
function identityOf(subject: Subject): CliSubject {
  const source = subject.sources?.[0];
  const from = source === undefined ? {} : { source };
  switch (subject.kind) {
    case 'User':
      return { user: subject.name, ...from };
    case 'Group':
      return { user: 'gatehouse-diff:member', groups: [subject.name], ...from };
    case 'EmailDomain':
      return { user: 'gatehouse-diff', email: `gatehouse-diff@${subject.name}`, ...from };
    case 'Organisation':
      return { user: 'gatehouse-diff:member', organisation: subject.name, ...from };
    case 'Claim':
      return {
        user: 'gatehouse-diff:claimant',
        claims: { [subject.name]: subject.values?.[0] ?? '' },
        ...from,
      };
  }
}

function compare(
  request: AuthRequest,
  probe: Probe,
  callers: readonly CallerProbe[],
  before: PolicySnapshot,
  after: PolicySnapshot,
  options: DecideOptions,
): Omit<AccessChange, 'methods'> | null {
  const gained: Caller[] = [];
  const lost: Caller[] = [];
  let ruleBefore: string | null = null;
  let ruleAfter: string | null = null;
  // Every identity is judged as it would be with no sources configured: a subject's own
  // `sources`, if any, are the identity's, so it matches exactly as the mapping says.
  const judge = (side: PolicySnapshot, caller: CallerProbe): Decision => {
    const index: DecisionIndex = { rules: side.rules, roles: caller.roles(side) };
    const { unqualifiedSources: _unqualified, ...rest } = options;
    return decide(request, caller.identity, index, rest);
  };
  for (const caller of callers) {
    const was = judge(before, caller);
    const is = judge(after, caller);
    ruleBefore ??= ruleKey(was);
    ruleAfter ??= ruleKey(is);
    const allowedBefore = was.outcome === 'allow';
    const allowedAfter = is.outcome === 'allow';
    if (!allowedBefore && allowedAfter) gained.push(caller.caller);
    if (allowedBefore && !allowedAfter) lost.push(caller.caller);
  }
  if (gained.length === 0 && lost.length === 0) return null;
  return {
    host: probe.host,
    path: probe.label,
    before: ruleBefore,
    after: ruleAfter,
    gained,
    lost,
  };
}

/**
 * `/admin` and `/admin/…` changed alike: one change for `/admin` and everything below it, which
 * is how the rule that caused it reads.
 */
function mergePrefixes(changes: readonly AccessChange[]): AccessChange[] {
  const merged: AccessChange[] = [];
  for (const change of changes) {
    const previous = merged.at(-1);
    if (
      previous !== undefined &&
      previous.host === change.host &&
      change.path === `${below(previous.path)}${anythingBelow}` &&
      sameChange(previous, change)
    ) {
      merged[merged.length - 1] = { ...previous, path: `${previous.path}${andBelow}` };
    } else {
      merged.push(change);
    }
  }
  return merged;
}

function sameChange(a: AccessChange, b: AccessChange): boolean {
  const facts = (c: AccessChange) =>
    JSON.stringify([c.methods, c.before, c.after, c.gained, c.lost]);
  return facts(a) === facts(b);
}

/** One change per region whose methods changed alike. */
function mergeMethods(
  byMethod: ReadonlyMap<string, Omit<AccessChange, 'methods'>>,
): AccessChange[] {
  const merged = new Map<string, { change: Omit<AccessChange, 'methods'>; methods: string[] }>();
  for (const [method, change] of byMethod) {
    const key = JSON.stringify([change.before, change.after, change.gained, change.lost]);
    const entry = merged.get(key);
    if (entry === undefined) merged.set(key, { change, methods: [method] });
    else entry.methods.push(method);
  }
  return [...merged.values()].map(({ change, methods }) => ({ ...change, methods }));
}

export function describeCaller(caller: Caller): string {
  switch (caller.kind) {
    case 'guest':
      return 'everyone (guest)';
    case 'authenticated':
      return 'any signed-in caller';
    case 'role':
      return `role ${caller.role}`;
    case 'subject':
      return caller.subject;
  }
}
