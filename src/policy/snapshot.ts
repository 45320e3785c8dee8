/**
 * An immutable, precompiled view of every policy object, swapped as one reference by a policy
 * source (docs/architecture.md "A request's path through the layers"). Everything decide() needs is computed here, once per change, so
 * the per-request path only does Map lookups and a scan of presorted lists.
 */
import { createHash } from 'node:crypto';
import type { DecisionIndex } from '../authz/decision-index.ts';
import type {
  MatchDescription,
  MatchedRule,
  UpstreamTokens,
  ValueMatchDescription,
} from '../authz/decision.ts';
import { SourceRanges } from '../authz/match-conditions.ts';
import type { MatchConditions, ValueCondition } from '../authz/match-conditions.ts';
import type { PathType } from '../authz/precedence.ts';
import { linearRegex } from '../authz/regex.ts';
import { RuleIndexBuilder, compiledMatch, methodMaskOf } from '../authz/rule-index.ts';
import type { PolicyOrder, RuleIndex } from '../authz/rule-index.ts';
import { RoleIndex } from '../authz/roles.ts';
import { parseMaxAge } from '../authz/step-up.ts';
import type { StepUpRequirement } from '../authz/step-up.ts';
import type { RoleGrant } from '../authz/roles.ts';
import { isAccessPolicy, kinds, resourceKinds } from './resources.ts';
import type {
  AccessRule,
  AnyAccessPolicy,
  HeaderMatch,
  PolicyResource,
  QueryParamMatch,
  ResourceKind,
  RuleMatch,
} from './resources.ts';
import { definedFields } from '../defined-fields.ts';

/** Identity and provenance of one object, kept so tenancy and status reporting need no reshaping. */
export interface SnapshotObject {
  readonly kind: ResourceKind;
  /** "" for cluster-scoped kinds. */
  readonly namespace: string;
  readonly name: string;
  readonly creationTimestamp: string;
  readonly generation?: number;
  readonly uid?: string;
  readonly resource: PolicyResource;
}

export interface PolicySnapshot extends DecisionIndex {
  /** Caller-supplied (e.g. a resourceVersion) or a content hash of the input objects. */
  readonly version: string;
  /** Epoch milliseconds when the snapshot was built. */
  readonly builtAt: number;
  readonly counts: Readonly<Record<ResourceKind, number>>;
  readonly objects: readonly SnapshotObject[];
  /** Host → precedence-sorted rules, searched by decide(). */
  readonly rules: RuleIndex;
  /** Role mappings by subject, per scope. */
  readonly roles: RoleIndex;
}

export interface BuildSnapshotOptions {
  /** Clock for `builtAt`; defaults to Date.now. */
  readonly now?: () => number;
  /** Version label; defaults to a SHA-256 of the objects. */
  readonly version?: string;
  /**
   * Whether a policy may govern one of its hosts. The seam for tenancy (docs/architecture.md decision
   * semantics 7: a namespaced AccessPolicy governs a host only if its namespace declares it);
   * by default every host is admitted.
   */
  readonly admitHost?: (policy: SnapshotObject, host: string) => boolean;
}

function objectKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function describe(resource: PolicyResource): SnapshotObject {
  const { metadata } = resource;
  const namespaced = kinds[resource.kind].scope === 'Namespaced';
  return Object.freeze({
    kind: resource.kind,
    namespace: namespaced ? (metadata.namespace ?? 'default') : '',
    name: metadata.name,
    creationTimestamp: metadata.creationTimestamp,
    ...definedFields({ generation: metadata.generation, uid: metadata.uid }),
    resource,
  });
}

function timestampMillis(timestamp: string): number {
  const millis = Date.parse(timestamp);
  // An unparsable time sorts last rather than failing the whole snapshot.
  return Number.isFinite(millis) ? millis : Number.MAX_SAFE_INTEGER;
}

function upstreamTokensOf(policy: AnyAccessPolicy): UpstreamTokens | undefined {
  const { accessToken, idToken } = policy.spec.upstreamTokens ?? {};
  if (accessToken === undefined && idToken === undefined) return undefined;
  return Object.freeze({
    ...(accessToken === undefined ? {} : { accessToken: { header: accessToken.header } }),
    ...(idToken === undefined ? {} : { idToken: { header: idToken.header } }),
  });
}

/**
 * A rule's `authentication` (step-up, issue #19) as decide() reads it: `maxAge` in seconds.
 * Validation refuses a malformed `maxAge`; should one reach a snapshot anyway, dropping it would
 * silently loosen the rule, so it becomes the strictest age (a minute), which only costs a
 * sign-in.
 */
function stepUpOf(rule: AccessRule): StepUpRequirement | undefined {
  const written = rule.authentication;
  if (written === undefined) return undefined;
  const maxAge = written.maxAge === undefined ? undefined : parseMaxAge(written.maxAge);
  return Object.freeze({
    ...(maxAge === undefined ? {} : { maxAge: typeof maxAge === 'number' ? maxAge : 60 }),
    ...(written.acr === undefined ? {} : { acr: Object.freeze([...written.acr]) }),
    ...(written.amr === undefined ? {} : { amr: Object.freeze([...written.amr]) }),
  });
}

function valueCondition(
  written: HeaderMatch | QueryParamMatch,
  key: string,
): [ValueCondition, ValueMatchDescription] {
  const type = written.type ?? 'Exact';
  const description = Object.freeze({ type, name: written.name, value: written.value });
  return [
    Object.freeze({
      name: written.name,
      key,
      type,
      value: written.value,
      regex: type === 'RegularExpression' ? linearRegex(written.value) : null,
    }),
    description,
  ];
}

/** The conditions beyond path and methods (authz/match-conditions.ts), and their description. */
function compileConditions(match: RuleMatch): {
  conditions: MatchConditions | null;
  headers: readonly ValueMatchDescription[] | undefined;
  queryParams: readonly ValueMatchDescription[] | undefined;
} {
  const headers = (match.headers ?? []).map((header) =>
    valueCondition(header, header.name.toLowerCase()),
  );
  const query = (match.queryParams ?? []).map((param) => valueCondition(param, param.name));
  const sources = match.sourceCIDRs === undefined ? null : new SourceRanges(match.sourceCIDRs);
  const none = headers.length === 0 && query.length === 0 && sources === null;
  return {
    conditions: none
      ? null
      : Object.freeze({
          headers: Object.freeze(headers.map(([condition]) => condition)),
          query: Object.freeze(query.map(([condition]) => condition)),
          sources,
        }),
    headers: match.headers === undefined ? undefined : Object.freeze(headers.map(([, d]) => d)),
    queryParams:
      match.queryParams === undefined ? undefined : Object.freeze(query.map(([, d]) => d)),
  };
}

/**
 * One frozen copy of each distinct list of strings in a snapshot: `requiredRoles: [guest]` or
 * `methods: [GET, HEAD]` repeat across thousands of rules (issue 17). A list that is frozen
 * already (the file source's compact copies, policy/compact.ts) is used as it is.
 */
class StringLists {
  readonly #lists = new Map<string, readonly string[]>();

  of<T extends string>(list: readonly T[]): readonly T[] {
    if (Object.isFrozen(list)) return list;
    const key = JSON.stringify(list);
    const known = this.#lists.get(key);
    if (known !== undefined) return known as readonly T[];
    const frozen = Object.freeze([...list]);
    this.#lists.set(key, frozen);
    return frozen;
  }
}

const noRoles: readonly string[] = Object.freeze([]);

/** Whether `object`'s own keys are exactly `keys`, in that order. */
function hasKeys(object: object, keys: readonly string[]): boolean {
  const own = Object.keys(object);
  return own.length === keys.length && own.every((key, index) => key === keys[index]);
}

const pathKeys = ['type', 'value'];
const matchKeys = ['path'];
const matchWithMethodsKeys = ['path', 'methods'];

/**
 * The description of a match (decision.ts): the match as written, its path defaulted. A frozen
 * written match that already reads exactly like its description (a path with `type` and `value`,
 * maybe methods, nothing else, in that order) is its own description, which saves two objects
 * for each of the 100,000 matches of scenario (f); any other is described by a new object, as
 * before.
 */
function describeMatch(
  match: RuleMatch,
  pathType: PathType,
  value: string,
  headers: readonly ValueMatchDescription[] | undefined,
  queryParams: readonly ValueMatchDescription[] | undefined,
  lists: StringLists,
): MatchDescription {
  const written = match.path;
  const pathReusable =
    written !== undefined && Object.isFrozen(written) && hasKeys(written, pathKeys);
  if (
    pathReusable &&
    Object.isFrozen(match) &&
    (match.methods === undefined
      ? hasKeys(match, matchKeys)
      : Object.isFrozen(match.methods) && hasKeys(match, matchWithMethodsKeys))
  ) {
    return match as MatchDescription;
  }
  return Object.freeze({
    path: pathReusable ? written : Object.freeze({ type: pathType, value }),
    ...(match.methods === undefined ? {} : { methods: lists.of(match.methods) }),
    ...definedFields({ headers, queryParams }),
    ...(match.sourceCIDRs === undefined ? {} : { sourceCIDRs: lists.of(match.sourceCIDRs) }),
  });
}

/** What every rule of a policy repeats in its MatchedRule after the required fields. */
type PolicyRuleFields = Pick<
  MatchedRule,
  'identityHeaders' | 'basicAuth' | 'upstreamTokens' | 'providers' | 'bearerAudiences'
>;

function policyRuleFields(policy: AnyAccessPolicy, lists: StringLists): PolicyRuleFields {
  const authentication = policy.spec.authentication;
  return {
    ...definedFields({ identityHeaders: policy.spec.identityHeaders }),
    ...(authentication?.basic === true ? { basicAuth: true } : {}),
    ...definedFields({ upstreamTokens: upstreamTokensOf(policy) }),
    ...(authentication?.providers === undefined
      ? {}
      : { providers: lists.of(authentication.providers) }),
    ...(authentication?.bearer === undefined
      ? {}
      : { bearerAudiences: lists.of(authentication.bearer.audiences) }),
  };
}

/**
 * The frozen MatchedRule of one rule. Most rules have none of the optional fields: those are
 * built as one literal of exactly the seven required ones (80 bytes; with spreads V8 reserved
 * room for 14), in the same key order as the others.
 */
function matchedRuleOf(
  required: Pick<
    MatchedRule,
    'kind' | 'namespace' | 'policy' | 'rule' | 'requiredRoles' | 'action' | 'mode'
  >,
  guardrail: boolean,
  policyFields: PolicyRuleFields,
  policyHasFields: boolean,
  stepUp: StepUpRequirement | undefined,
): MatchedRule {
  const { kind, namespace, policy, rule, requiredRoles, action, mode } = required;
  if (!guardrail && !policyHasFields && stepUp === undefined) {
    return Object.freeze({ kind, namespace, policy, rule, requiredRoles, action, mode });
  }
  return Object.freeze({
    kind,
    namespace,
    policy,
    rule,
    requiredRoles,
    action,
    mode,
    ...(guardrail ? { enforcement: 'Guardrail' as const } : {}),
    ...policyFields,
    ...definedFields({ stepUp }),
  });
}

function compilePolicy(
  object: SnapshotObject,
  policy: AnyAccessPolicy,
  admitHost: BuildSnapshotOptions['admitHost'],
  index: RuleIndexBuilder,
  lists: StringLists,
): void {
  const cluster = policy.kind === 'ClusterAccessPolicy';
  const hosts = [...new Set(policy.spec.hosts)].filter(
    (host) => admitHost === undefined || admitHost(object, host),
  );
  if (hosts.length === 0) return;
  const mode = policy.spec.mode ?? 'Enforce';
  const order: PolicyOrder = {
    cluster,
    createdAt: timestampMillis(object.creationTimestamp),
    objectKey: `${object.namespace}/${object.name}`,
    preflight:
      policy.spec.preflight === 'Allow'
        ? Object.freeze({ kind: policy.kind, namespace: object.namespace, policy: object.name })
        : null,
  };
  const policyFields = policyRuleFields(policy, lists);
  const policyHasFields = Object.keys(policyFields).length > 0;

  for (const rule of policy.spec.rules) {
    const deny = rule.action === 'Deny';
    const requiredRoles = deny || rule.roles === undefined ? noRoles : lists.of(rule.roles);
    // Only platform admins write ClusterAccessPolicies; validation refuses guardrails elsewhere,
    // and this check keeps a namespaced one from ever becoming a guardrail.
    const guardrail = cluster && rule.enforcement === 'Guardrail';
    const matched = matchedRuleOf(
      {
        kind: policy.kind,
        namespace: object.namespace,
        policy: object.name,
        rule: rule.name,
        requiredRoles,
        action: deny ? 'Deny' : 'Allow',
        // Audit mode never turns a guardrail off.
        mode: guardrail ? 'Enforce' : mode,
      },
      guardrail,
      policyFields,
      policyHasFields,
      deny ? undefined : stepUpOf(rule),
    );
    for (const match of rule.match) {
      const pathType = match.path?.type ?? 'PathPrefix';
      const value = match.path?.value ?? '/';
      const path = pathType !== 'PathPrefix' || !value.endsWith('/') ? value : value.slice(0, -1);
      const { conditions, headers, queryParams } = compileConditions(match);
      const compiled = compiledMatch({
        rule: matched,
        path,
        pathRegex: pathType === 'RegularExpression' ? linearRegex(value) : null,
        methodMask: methodMaskOf(match.methods ?? []),
        conditions,
        description: describeMatch(match, pathType, value, headers, queryParams, lists),
      });
      for (const host of hosts) index.add(host, compiled, order);
    }
  }
}

/**
 * Builds a snapshot from validated resources (policy/validate.ts). Pure apart from the clock
 * option. When two resources share kind, namespace and name, the later one wins, as a later
 * `kubectl apply` would.
 */
export function buildSnapshot(
  resources: readonly PolicyResource[],
  options: BuildSnapshotOptions = {},
): PolicySnapshot {
  const unique = new Map<string, SnapshotObject>();
  for (const resource of resources) {
    const object = describe(resource);
    const key = objectKey(object.kind, object.namespace, object.name);
    unique.delete(key); // keep the later position too
    unique.set(key, object);
  }
  const objects = Object.freeze([...unique.values()]);

  const counts = Object.fromEntries(resourceKinds.map((kind) => [kind, 0])) as Record<
    ResourceKind,
    number
  >;
  const index = new RuleIndexBuilder();
  const grants: RoleGrant[] = [];
  const lists = new StringLists();
  for (const object of objects) {
    counts[object.kind]++;
    const { resource } = object;
    if (isAccessPolicy(resource)) {
      compilePolicy(object, resource, options.admitHost, index, lists);
    } else {
      grants.push({
        scope: object.namespace,
        roles: resource.spec.roles,
        subjects: resource.spec.subjects,
      });
    }
  }

  return Object.freeze({
    version: options.version ?? contentVersion(objects),
    builtAt: (options.now ?? Date.now)(),
    counts: Object.freeze(counts),
    objects,
    rules: index.build(),
    roles: RoleIndex.build(grants),
  });
}

function contentVersion(objects: readonly SnapshotObject[]): string {
  const hash = createHash('sha256');
  for (const object of objects) hash.update(JSON.stringify(object.resource)).update('\n');
  return hash.digest('hex').slice(0, 16);
}

const empty: PolicySnapshot = buildSnapshot([], { now: () => 0, version: 'empty' });

/** A snapshot without objects: every request is a no-match. */
export function emptySnapshot(): PolicySnapshot {
  return empty;
}
