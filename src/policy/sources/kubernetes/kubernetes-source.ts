/**
 * Policy from the gatehouse.dev custom resources in the cluster (docs/architecture.md "Custom resources").
 *
 * Watches the four kinds, plus, for tenancy (host-ownership.ts), Ingresses, IngressClasses,
 * HostDelegations and (when the Gateway API is installed) HTTPRoutes, each through a resilient
 * list + watch (resilient-watch.ts). Every change schedules one
 * debounced rebuild: each object is validated on its own (validate.ts: what the API server's
 * schema cannot check), the valid ones become an immutable snapshot swapped in one reference,
 * and each object gets a verdict (object-status.ts) that the Lease holder writes to its status,
 * with a Warning Event when it is rejected. A rejected object is left out while the rest keeps
 * working; an API outage keeps the last good snapshot (the watches keep their objects).
 *
 * ready() is false until every watched resource has been listed in full once, so a replica never
 * answers from a partial view (e.g. ClusterAccessPolicies without the AccessPolicies).
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Metrics } from '../../../metrics/metrics.ts';
import type {
  PolicyChangeListener,
  PolicySource,
  ReloadListener,
  ReloadResult,
  Unsubscribe,
} from '../../policy-source.ts';
import { group, hostDelegationKind, kinds, resourceKinds, version } from '../../resources.ts';
import type { PolicyResource, ResourceKind } from '../../resources.ts';
import { buildSnapshot } from '../../snapshot.ts';
import type { PolicySnapshot } from '../../snapshot.ts';
import { SnapshotHolder } from '../../snapshot-holder.ts';
import { validateHostDelegation, validateResource } from '../../validate.ts';
import { kubeGroupVersionProbe } from './api-discovery.ts';
import type { GroupVersionProbe } from './api-discovery.ts';
import { EventRecorder, kubeEventSink } from './events.ts';
import type { EventSink } from './events.ts';
import {
  HostOwnership,
  delegationOf,
  httpRouteHosts,
  ingressClassInfo,
  ingressHosts,
  routeCounts,
} from './host-ownership.ts';
import type {
  Delegation,
  HostDeclaration,
  HostJudgement,
  IngressClassInfo,
  RulePath,
} from './host-ownership.ts';
import { loadKubeConfig, ownNamespace } from './kube-config.ts';
import { LeaderElection, kubeLeaseClient } from './leader-election.ts';
import type { LeaseClient } from './leader-election.ts';
import type { ObjectVerdict } from './object-status.ts';
import { ResilientWatch } from './resilient-watch.ts';
import type { BackoffOptions } from './resilient-watch.ts';
import { StatusWriter, kubeStatusPatcher } from './status-writer.ts';
import type { StatusPatcher } from './status-writer.ts';
import { KubeWatchTransport } from './watch-transport.ts';
import type { ResourceRef, WatchTransport } from './watch-transport.ts';
import { isRecord } from '../../../is-record.ts';
import { definedFields } from '../../../defined-fields.ts';

export const gatewayApi = { group: 'gateway.networking.k8s.io', version: 'v1' } as const;
const ingressRef = { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses' } as const;
const httpRouteRef = { ...gatewayApi, plural: 'httproutes' } as const;
const ingressClassRef = {
  group: 'networking.k8s.io',
  version: 'v1',
  plural: 'ingressclasses',
} as const;

export interface KubernetesSourceSettings {
  /** Empty: all namespaces. */
  readonly namespaces: readonly string[];
  readonly hostOwnership: boolean;
  /** IngressClasses whose Ingresses count for ownership; empty: any that exists. */
  readonly ingressClassNames?: readonly string[];
  /** Gateways (`namespace/name`) whose accepted HTTPRoutes count; empty: any. */
  readonly gateways?: readonly string[];
  readonly resyncPeriodMs: number;
  readonly watchdogTimeoutMs: number;
  /** Write status and Events (as the Lease holder). */
  readonly statusWriter: boolean;
  readonly lease: {
    readonly name: string;
    readonly namespace: string;
    readonly identity: string;
    readonly durationMs: number;
    readonly renewIntervalMs: number;
  };
}

export interface KubernetesPolicySourceOptions {
  readonly settings: KubernetesSourceSettings;
  readonly transport: WatchTransport;
  readonly probeGroupVersion: GroupVersionProbe;
  /** Required when settings.statusWriter. */
  readonly statusPatcher?: StatusPatcher;
  readonly eventSink?: EventSink;
  readonly leaseClient?: LeaseClient;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Quiet period after the last event before rebuilding (bursts build once). Default 75 ms. */
  readonly debounceMs?: number;
  readonly backoff?: BackoffOptions;
  /** Retry delay of a failed Gateway API discovery. Default 5 s. */
  readonly discoveryRetryMs?: number;
}

type PolicyObject = Record<string, unknown>;

interface PolicyWatch {
  readonly kind: ResourceKind;
  readonly watch: ResilientWatch<PolicyObject>;
}

/**
 * The parts of an API object that are policy: status, managedFields, labels and the
 * resourceVersion would otherwise change the content hash on every status write.
 */
function policyDocument(object: PolicyObject): PolicyObject {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const kept: Record<string, unknown> = {};
  for (const key of ['name', 'namespace', 'creationTimestamp', 'generation', 'uid']) {
    if (metadata[key] !== undefined) kept[key] = metadata[key];
  }
  return { apiVersion: object.apiVersion, kind: object.kind, metadata: kept, spec: object.spec };
}

function stringField(object: PolicyObject, key: string): string {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const value = metadata[key];
  return typeof value === 'string' ? value : '';
}

function plural(count: number, word: string): string {
  return `${String(count)} ${word}${count === 1 ? '' : 's'}`;
}

export class KubernetesPolicySource implements PolicySource {
  readonly name = 'kubernetes';
  readonly #options: KubernetesPolicySourceOptions;
  readonly #settings: KubernetesSourceSettings;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #holder: SnapshotHolder;
  readonly #reloadListeners = new Set<ReloadListener>();
  readonly #policyWatches: PolicyWatch[] = [];
  readonly #ingressWatches: ResilientWatch<HostDeclaration>[] = [];
  readonly #ingressClassWatches: ResilientWatch<IngressClassInfo>[] = [];
  readonly #delegationWatches: ResilientWatch<PolicyObject>[] = [];
  #httpRouteWatches: ResilientWatch<HostDeclaration>[] = [];
  readonly #statusWriter: StatusWriter | null;
  readonly #events: EventRecorder | null;
  readonly #election: LeaderElection | null;
  #verdicts: readonly ObjectVerdict[] = [];
  /** uid → `generation/reason` last logged, so a rejection is logged once, not per rebuild. */
  #loggedRejections = new Map<string, string>();
  #rebuildTimer: NodeJS.Timeout | null = null;
  #resyncTimer: NodeJS.Timeout | null = null;
  #discoveryTimer: NodeJS.Timeout | null = null;
  #statusRun: Promise<void> | null = null;
  #statusPending = false;
  #started = false;
  #stop = false;

  constructor(options: KubernetesPolicySourceOptions) {
    this.#options = options;
    this.#settings = options.settings;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#holder = new SnapshotHolder(this.name, options.logger);

    for (const kind of resourceKinds) {
      for (const ref of this.#refs({ group, version, plural: kinds[kind].plural }, kind)) {
        this.#policyWatches.push({
          kind,
          watch: this.#newWatch(ref, (object) =>
            object.kind === undefined ? { ...object, kind } : object,
          ),
        });
      }
    }
    if (this.#settings.hostOwnership) {
      for (const ref of this.#refs(ingressRef)) {
        this.#ingressWatches.push(this.#newWatch(ref, ingressHosts));
      }
      // Cluster-scoped: which classes exist and which one is the default.
      this.#ingressClassWatches.push(this.#newWatch(ingressClassRef, ingressClassInfo));
      // Cluster-scoped, written by platform admins: who may govern a host besides its owner.
      this.#delegationWatches.push(
        this.#newWatch({ group, version, plural: hostDelegationKind.plural }, (object) => object),
      );
    }

    const { lease } = this.#settings;
    if (this.#settings.statusWriter) {
      if (options.statusPatcher === undefined || options.leaseClient === undefined) {
        throw new Error('statusWriter needs a statusPatcher and a leaseClient');
      }
      this.#statusWriter = new StatusWriter({
        patch: options.statusPatcher,
        logger: options.logger.child({ part: 'status' }),
        ...definedFields({ metrics: options.metrics }),
        now: this.#now,
      });
      this.#events =
        options.eventSink === undefined
          ? null
          : new EventRecorder({
              sink: options.eventSink,
              instance: lease.identity,
              clusterScopedNamespace: lease.namespace,
              logger: options.logger.child({ part: 'events' }),
              now: this.#now,
            });
      this.#election = new LeaderElection({
        client: options.leaseClient,
        name: lease.name,
        namespace: lease.namespace,
        identity: lease.identity,
        leaseDurationMs: lease.durationMs,
        renewIntervalMs: lease.renewIntervalMs,
        onStartedLeading: () => {
          // A new term: re-check every object, whatever this replica wrote in an earlier one.
          this.#statusWriter?.reset();
          this.#scheduleStatus();
        },
        onStoppedLeading: () => undefined,
        logger: options.logger.child({ part: 'lease' }),
        ...definedFields({ metrics: options.metrics }),
        now: this.#now,
        ...definedFields({ random: options.random }),
      });
    } else {
      this.#statusWriter = null;
      this.#events = null;
      this.#election = null;
    }
  }

  /** One ref per watched namespace for namespaced resources; one for everything else. */
  #refs(base: Omit<ResourceRef, 'namespace'>, kind?: ResourceKind): ResourceRef[] {
    const namespaced = kind === undefined || kinds[kind].scope === 'Namespaced';
    if (!namespaced || this.#settings.namespaces.length === 0) return [base];
    return this.#settings.namespaces.map((namespace) => ({ ...base, namespace }));
  }

  #newWatch<T>(ref: ResourceRef, transform: (object: PolicyObject) => T | null): ResilientWatch<T> {
    const label = ref.namespace === undefined ? ref.plural : `${ref.namespace}/${ref.plural}`;
    return new ResilientWatch<T>({
      resource: ref,
      label,
      transport: this.#options.transport,
      transform,
      onChange: () => {
        this.#scheduleRebuild();
      },
      watchdogTimeoutMs: this.#settings.watchdogTimeoutMs,
      logger: this.#logger,
      ...definedFields({
        metrics: this.#options.metrics,
        backoff: this.#options.backoff,
        random: this.#options.random,
      }),
      now: this.#now,
    });
  }

  get #initialWatches(): ResilientWatch<unknown>[] {
    return [
      ...this.#policyWatches.map((entry) => entry.watch),
      ...this.#ingressWatches,
      ...this.#ingressClassWatches,
      ...this.#delegationWatches,
    ];
  }

  /**
   * Starts every watch and resolves once each has made its first list attempt (so a reachable
   * cluster is ready when this resolves, and an unreachable one does not block start-up).
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { settings } = this;
    this.#logger.info(
      {
        namespaces: settings.namespaces.length === 0 ? 'all' : settings.namespaces,
        hostOwnership: settings.hostOwnership,
        ...(settings.hostOwnership
          ? {
              ingressClassNames:
                (settings.ingressClassNames ?? []).length === 0
                  ? 'any IngressClass'
                  : settings.ingressClassNames,
              gateways: (settings.gateways ?? []).length === 0 ? 'any' : settings.gateways,
            }
          : {}),
        statusWriter: settings.statusWriter,
        ...(settings.statusWriter
          ? {
              lease: `${settings.lease.namespace}/${settings.lease.name}`,
              identity: settings.lease.identity,
            }
          : {}),
      },
      'watching policy resources',
    );
    for (const watch of this.#initialWatches) watch.start();
    if (settings.hostOwnership) {
      // Waited for briefly, so HTTPRoutes count from the first snapshot when the API answers;
      // a hung discovery must not hold start-up (the watches are added whenever it answers).
      await Promise.race([this.#discoverGatewayApi(), sleep(5_000, undefined, { ref: false })]);
    }
    this.#election?.start();
    await Promise.all(this.#initialWatches.map((watch) => watch.firstAttempt()));
    await Promise.all(this.#httpRouteWatches.map((watch) => watch.firstAttempt()));
    this.#rebuild();
    this.#resyncTimer = setInterval(() => {
      this.#resync();
    }, settings.resyncPeriodMs);
    this.#resyncTimer.unref();
  }

  /** Set while a batch runs; read through a method because it changes while we await. */
  #isStatusPending(): boolean {
    return this.#statusPending;
  }

  /** A method, not a field read: it changes while we await, which narrowing cannot know. */
  #isStopped(): boolean {
    return this.#stop;
  }

  get settings(): KubernetesSourceSettings {
    return this.#settings;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    for (const timer of [this.#rebuildTimer, this.#discoveryTimer]) {
      if (timer !== null) clearTimeout(timer);
    }
    if (this.#resyncTimer !== null) clearInterval(this.#resyncTimer);
    await this.#statusRun;
    // Release the Lease first so a peer takes over while the watches shut down.
    await this.#election?.stop();
    await Promise.all(
      [...this.#initialWatches, ...this.#httpRouteWatches].map((watch) => watch.stop()),
    );
  }

  current(): PolicySnapshot | null {
    return this.#holder.current();
  }

  ready(): boolean {
    return this.#holder.current() !== null && this.#initialWatches.every((watch) => watch.synced());
  }

  /** Whether this replica holds the status-writer Lease. */
  isStatusWriter(): boolean {
    return this.#election?.isLeader() ?? false;
  }

  /** The latest verdict of every policy object (what its status says or will say). */
  verdicts(): readonly ObjectVerdict[] {
    return this.#verdicts;
  }

  onChange(listener: PolicyChangeListener): Unsubscribe {
    return this.#holder.onChange(listener);
  }

  onReload(listener: ReloadListener): Unsubscribe {
    this.#reloadListeners.add(listener);
    return () => {
      this.#reloadListeners.delete(listener);
    };
  }

  #resync(): void {
    if (this.#settings.hostOwnership) void this.#discoverGatewayApi();
    this.#scheduleRebuild();
  }

  /** Adds (or drops) the HTTPRoute watches when the Gateway API appears (or goes). */
  async #discoverGatewayApi(): Promise<void> {
    if (this.#isStopped()) return;
    let present: boolean;
    try {
      present = await this.#options.probeGroupVersion(gatewayApi.group, gatewayApi.version);
    } catch (error) {
      this.#logger.warn(
        { err: error },
        'API discovery failed: cannot tell yet whether the Gateway API (HTTPRoutes) is installed; retrying',
      );
      if (this.#discoveryTimer !== null) clearTimeout(this.#discoveryTimer);
      this.#discoveryTimer = setTimeout(() => {
        this.#discoveryTimer = null;
        void this.#discoverGatewayApi();
      }, this.#options.discoveryRetryMs ?? 5_000);
      this.#discoveryTimer.unref();
      return;
    }
    if (this.#isStopped()) return;
    const watching = this.#httpRouteWatches.length > 0;
    if (present && !watching) {
      this.#logger.info('Gateway API found: HTTPRoute hostnames now count for host ownership');
      this.#httpRouteWatches = this.#refs(httpRouteRef).map((ref) =>
        this.#newWatch(ref, httpRouteHosts),
      );
      for (const watch of this.#httpRouteWatches) watch.start();
    } else if (!present && watching) {
      this.#logger.info('Gateway API gone: HTTPRoutes no longer count for host ownership');
      const old = this.#httpRouteWatches;
      this.#httpRouteWatches = [];
      await Promise.all(old.map((watch) => watch.stop()));
      this.#scheduleRebuild();
    }
  }

  #scheduleRebuild(): void {
    if (this.#isStopped() || !this.#started) return;
    if (this.#rebuildTimer !== null) clearTimeout(this.#rebuildTimer);
    this.#rebuildTimer = setTimeout(() => {
      this.#rebuildTimer = null;
      this.#rebuild();
    }, this.#options.debounceMs ?? 75);
  }

  #rebuild(): void {
    if (this.#isStopped()) return;
    // Never answer from a partial view: wait until every resource has been listed once.
    if (!this.#initialWatches.every((watch) => watch.synced())) return;
    const started = this.#now();
    let result: ReloadResult;
    try {
      result = this.#build();
    } catch (error) {
      // A bug must not take the last good snapshot down with it.
      this.#logger.error({ err: error }, 'policy rebuild failed; keeping the last good snapshot');
      result = { ok: false, problems: [{ path: '', message: `rebuild failed: ${String(error)}` }] };
    }
    this.#options.metrics?.policySnapshotBuildDuration.observe((this.#now() - started) / 1000);
    for (const listener of this.#reloadListeners) {
      try {
        listener(result);
      } catch (error) {
        this.#logger.error({ err: error }, 'policy reload listener failed');
      }
    }
    this.#scheduleStatus();
  }

  #build(): ReloadResult {
    const declarations: HostDeclaration[] = [];
    for (const watch of [...this.#ingressWatches, ...this.#httpRouteWatches]) {
      if (watch.synced()) declarations.push(...watch.items());
    }
    const ingressClasses = this.#ingressClassWatches.flatMap((watch) => [...watch.items()]);
    const selection = {
      ingressClassNames: this.#settings.ingressClassNames ?? [],
      gateways: this.#settings.gateways ?? [],
    };
    // Only routes that route through what gatehouse protects count (host-ownership.ts).
    const counting = declarations.filter((declaration) =>
      routeCounts(declaration, selection, ingressClasses),
    );
    const delegations: Delegation[] = [];
    const delegationVerdicts: ObjectVerdict[] = [];
    for (const object of this.#delegationWatches.flatMap((watch) => [...watch.items()])) {
      const judged = this.#judgeDelegation(object);
      delegationVerdicts.push(judged.verdict);
      if (judged.delegation !== null) delegations.push(judged.delegation);
    }
    const ownership = HostOwnership.build(counting, this.#settings.hostOwnership, delegations);
    this.#options.metrics?.hostOwnershipConflicts.set(
      this.#settings.hostOwnership ? ownership.conflictedHosts().length : 0,
    );

    const verdicts: ObjectVerdict[] = [];
    const valid: { key: string; resource: PolicyResource; admitted: string[] }[] = [];
    for (const { kind, watch } of this.#policyWatches) {
      for (const object of watch.items()) {
        const verdict = this.#judge(kind, object, ownership);
        verdicts.push(verdict.verdict);
        if (verdict.resource !== null) {
          valid.push({
            key: `${kind}/${verdict.verdict.namespace}/${verdict.verdict.name}`,
            resource: verdict.resource,
            admitted: verdict.admitted,
          });
        }
      }
    }
    valid.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    verdicts.push(...delegationVerdicts);

    // Admission is part of the version: an Ingress added in a namespace changes what its
    // policies govern without changing the policies.
    const hash = createHash('sha256');
    for (const entry of valid) {
      hash.update(JSON.stringify(entry.resource)).update(entry.admitted.join(',')).update('\n');
    }
    const admittedHosts = new Map<string, ReadonlySet<string>>();
    for (const entry of valid) {
      if (entry.resource.kind === 'AccessPolicy') {
        admittedHosts.set(
          `${entry.resource.metadata.namespace ?? ''}/${entry.resource.metadata.name}`,
          new Set(entry.admitted),
        );
      }
    }
    const snapshot = buildSnapshot(
      valid.map((entry) => entry.resource),
      {
        // What #judge admitted, host by host (ownership and delegation, with their path limits).
        admitHost: (policy, host) =>
          !this.#settings.hostOwnership ||
          policy.kind !== 'AccessPolicy' ||
          admittedHosts.get(`${policy.namespace}/${policy.name}`)?.has(host) === true,
        version: hash.digest('hex').slice(0, 16),
        now: this.#now,
      },
    );
    const previous = this.#holder.current();
    const changed = snapshot.version !== previous?.version;
    this.#verdicts = verdicts;
    this.#reportVerdicts(verdicts);
    if (changed) {
      this.#holder.swap(snapshot);
      this.#logger.info(
        {
          source: this.name,
          version: snapshot.version,
          counts: snapshot.counts,
          rejected: verdicts.filter((v) => v.reason === 'Invalid').length,
          hostNotOwned: verdicts.filter((v) => v.reason === 'HostNotOwned').length,
          hostOwnedByAnotherNamespace: verdicts.filter(
            (v) => v.reason === 'HostOwnedByAnotherNamespace',
          ).length,
        },
        'policy loaded',
      );
    }
    return { ok: true, version: snapshot.version, changed, counts: snapshot.counts };
  }

  #judge(
    kind: ResourceKind,
    object: PolicyObject,
    ownership: HostOwnership,
  ): { verdict: ObjectVerdict; resource: PolicyResource | null; admitted: string[] } {
    const namespaced = kinds[kind].scope === 'Namespaced';
    const generationValue = isRecord(object.metadata) ? object.metadata.generation : undefined;
    const base = {
      kind,
      plural: kinds[kind].plural,
      namespace: namespaced ? stringField(object, 'namespace') : '',
      name: stringField(object, 'name'),
      uid: stringField(object, 'uid'),
      generation: typeof generationValue === 'number' ? generationValue : 0,
      resourceVersion: stringField(object, 'resourceVersion'),
      observedStatus: object.status,
    };
    const result = validateResource(policyDocument(object));
    if (!result.ok) {
      const message = result.problems
        .map((problem) => `${problem.path === '' ? 'object' : problem.path}: ${problem.message}`)
        .join('; ');
      return {
        verdict: { ...base, ready: false, reason: 'Invalid', message: `not applied: ${message}` },
        resource: null,
        admitted: [],
      };
    }
    const { resource } = result;
    if (resource.kind === 'AccessPolicy' || resource.kind === 'ClusterAccessPolicy') {
      const hosts = [...new Set(resource.spec.hosts)];
      const paths: RulePath[] = resource.spec.rules.flatMap((rule) =>
        rule.match.map((match) => ({
          rule: rule.name,
          exact: match.path?.type === 'Exact',
          value: match.path?.value ?? '/',
          ...(match.path?.type === 'RegularExpression' ? { regex: true } : {}),
        })),
      );
      // `preflight: Allow` opens every path of the host to preflights (issue #19): a policy
      // admitted only below a delegated prefix may not set it.
      if (resource.spec.preflight === 'Allow') {
        paths.push({ rule: 'spec.preflight: Allow', exact: false, value: '/' });
      }
      const refused: (HostJudgement & { admitted: false })[] = [];
      const admitted: string[] = [];
      for (const host of hosts) {
        const judgement = ownership.judge(kind, base.namespace, host, paths);
        if (judgement.admitted) admitted.push(host);
        else refused.push(judgement);
      }
      const hostOwners =
        kind === 'AccessPolicy' && ownership.enforced
          ? hosts.flatMap((host) => {
              const owner = ownership.owner(host);
              return owner === undefined ? [] : [`${host}=${owner.namespace}`];
            })
          : [];
      const counts = {
        ruleCount: resource.spec.rules.length,
        mode: resource.spec.mode ?? 'Enforce',
        ...(kind === 'AccessPolicy' ? { hostOwners } : {}),
      };
      if (refused.length > 0) {
        // Owned hosts still apply: one refused host must not take a tenant's own hosts down.
        const scope =
          admitted.length === 0 ? 'not applied' : `applied to ${admitted.join(', ')} only`;
        const reason =
          (['HostOwnedByAnotherNamespace', 'OutsideDelegatedPath', 'HostNotOwned'] as const).find(
            (candidate) => refused.some((judgement) => judgement.reason === candidate),
          ) ?? 'HostNotOwned';
        return {
          verdict: {
            ...base,
            ...counts,
            ready: false,
            reason,
            message: `${scope}: ${refused.map((judgement) => judgement.message).join('; ')}`,
          },
          resource,
          admitted,
        };
      }
      return {
        verdict: {
          ...base,
          ...counts,
          ready: true,
          reason: 'Accepted',
          message: `${plural(counts.ruleCount, 'rule')} applied to ${hosts.join(', ')}`,
        },
        resource,
        admitted,
      };
    }
    const subjects = resource.spec.subjects.length;
    const scope = namespaced ? `for policies in namespace ${base.namespace}` : 'cluster-wide';
    return {
      verdict: {
        ...base,
        subjectCount: subjects,
        ready: true,
        reason: 'Accepted',
        message: `roles ${resource.spec.roles.join(', ')} granted to ${plural(subjects, 'subject')} ${scope}`,
      },
      resource,
      admitted: [],
    };
  }

  #judgeDelegation(object: PolicyObject): {
    verdict: ObjectVerdict;
    delegation: Delegation | null;
  } {
    const generationValue = isRecord(object.metadata) ? object.metadata.generation : undefined;
    const base = {
      kind: hostDelegationKind.kind,
      plural: hostDelegationKind.plural,
      namespace: '',
      name: stringField(object, 'name'),
      uid: stringField(object, 'uid'),
      generation: typeof generationValue === 'number' ? generationValue : 0,
      resourceVersion: stringField(object, 'resourceVersion'),
      observedStatus: object.status,
    };
    const result = validateHostDelegation(
      policyDocument({ ...object, kind: object.kind ?? hostDelegationKind.kind }),
    );
    if (!result.ok) {
      const message = result.problems
        .map((problem) => `${problem.path === '' ? 'object' : problem.path}: ${problem.message}`)
        .join('; ');
      return {
        verdict: { ...base, ready: false, reason: 'Invalid', message: `not applied: ${message}` },
        delegation: null,
      };
    }
    const delegation = delegationOf(result.delegation);
    if (delegation === null) {
      return {
        verdict: { ...base, ready: false, reason: 'Invalid', message: 'not applied: no host' },
        delegation: null,
      };
    }
    const where = delegation.pathPrefix === null ? '' : ` below ${delegation.pathPrefix}`;
    return {
      verdict: {
        ...base,
        ready: true,
        reason: 'Accepted',
        message: `host ${delegation.host}${where} delegated to namespace${delegation.namespaces.length === 1 ? '' : 's'} ${delegation.namespaces.join(', ')}${this.#settings.hostOwnership ? '' : ' (hostOwnership is off: every namespace governs every host)'}`,
      },
      delegation,
    };
  }

  /** Readiness gauges, and one log line per rejected object generation (every replica logs). */
  #reportVerdicts(verdicts: readonly ObjectVerdict[]): void {
    const metrics = this.#options.metrics;
    if (metrics !== undefined) {
      for (const kind of [...resourceKinds, hostDelegationKind.kind]) {
        const ofKind = verdicts.filter((verdict) => verdict.kind === kind);
        const ready = ofKind.filter((verdict) => verdict.ready).length;
        metrics.policyObjectsReady.set({ kind, ready: 'true' }, ready);
        metrics.policyObjectsReady.set({ kind, ready: 'false' }, ofKind.length - ready);
      }
    }
    const seen = new Map<string, string>();
    for (const verdict of verdicts) {
      if (verdict.ready) continue;
      const key = `${String(verdict.generation)}/${verdict.reason}`;
      seen.set(verdict.uid, key);
      if (this.#loggedRejections.get(verdict.uid) === key) continue;
      this.#logger.warn(
        {
          object: `${verdict.kind} ${verdict.namespace === '' ? '' : `${verdict.namespace}/`}${verdict.name}`,
          generation: verdict.generation,
          reason: verdict.reason,
        },
        verdict.message,
      );
    }
    this.#loggedRejections = seen;
  }

  /** Runs status writes one batch at a time; a request while one runs queues one more. */
  #scheduleStatus(): void {
    const writer = this.#statusWriter;
    if (writer === null || this.#isStopped()) return;
    if (this.#statusRun !== null) {
      this.#statusPending = true;
      return;
    }
    this.#statusRun = (async () => {
      do {
        this.#statusPending = false;
        if (this.#election?.isLeader() !== true) break;
        // Only objects from a full view: a verdict made before the first sync is not written.
        if (!this.ready()) break;
        const verdicts = this.#verdicts;
        try {
          await writer.writeAll(verdicts);
          await this.#events?.recordAll(verdicts);
        } catch (error) {
          this.#logger.error({ err: error }, 'status update failed');
        }
      } while (this.#isStatusPending() && !this.#isStopped());
    })().finally(() => {
      this.#statusRun = null;
    });
  }
}

export interface CreateKubernetesPolicySourceOptions {
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

/** The `policy.kubernetes` configuration section (config/schema.ts), durations in ms. */
export interface KubernetesSourceConfig {
  readonly kubeconfig: string | undefined;
  readonly namespaces: readonly string[];
  readonly hostOwnership: boolean;
  readonly ingressClassNames: readonly string[];
  readonly gateways: readonly string[];
  readonly resyncPeriod: number;
  readonly watchdogTimeout: number;
  readonly statusWriter: boolean;
  readonly leaseName: string;
  readonly leaseNamespace: string | undefined;
  readonly podNamespace: string | undefined;
  readonly identity: string | undefined;
  readonly leaseDuration: number;
  readonly leaseRenewInterval: number;
}

/** Wires the source to a real API server from the configuration. */
export function createKubernetesPolicySource(
  config: KubernetesSourceConfig,
  options: CreateKubernetesPolicySourceOptions,
): KubernetesPolicySource {
  const logger = options.logger;
  const kubeConfig = loadKubeConfig({ kubeconfig: config.kubeconfig, logger });
  const namespace = config.leaseNamespace ?? ownNamespace(config.podNamespace);
  // A pod's host name is its name; the suffix keeps two local runs on one machine apart.
  const identity = config.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  return new KubernetesPolicySource({
    settings: {
      namespaces: config.namespaces,
      hostOwnership: config.hostOwnership,
      ingressClassNames: config.ingressClassNames,
      gateways: config.gateways,
      resyncPeriodMs: config.resyncPeriod,
      watchdogTimeoutMs: config.watchdogTimeout,
      statusWriter: config.statusWriter,
      lease: {
        name: config.leaseName,
        namespace,
        identity,
        durationMs: config.leaseDuration,
        renewIntervalMs: config.leaseRenewInterval,
      },
    },
    transport: new KubeWatchTransport(kubeConfig),
    probeGroupVersion: kubeGroupVersionProbe(kubeConfig),
    statusPatcher: kubeStatusPatcher(kubeConfig),
    eventSink: kubeEventSink(kubeConfig),
    leaseClient: kubeLeaseClient(kubeConfig),
    logger,
    ...definedFields({ metrics: options.metrics, now: options.now }),
  });
}
