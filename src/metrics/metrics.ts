import { buildInfo } from '../build-info.ts';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  PendingCounts,
  TalliedHistogram,
  type CountSlot,
  type DurationSeries,
} from './hot-path-metrics.ts';
import { collectProcessMetrics } from './process-metrics.ts';

/**
 * Every metric gatehouse exports, in one place so that the names, labels and help texts form one
 * reviewable contract (dashboards and alerts in the chart depend on them). A fresh `Metrics`
 * owns its own registry, so tests and several in-process instances never collide.
 */
export class Metrics {
  readonly registry: Registry;

  // -- decisions -----------------------------------------------------------------------------
  readonly decisions: Counter<'dialect' | 'outcome' | 'reason'>;
  readonly decisionDuration: TalliedHistogram<'dialect'>;
  readonly forgedIdentityHeaders: Counter<'dialect'>;
  readonly malformedRequests: Counter<'dialect'>;

  // -- authentication --------------------------------------------------------------------------
  readonly authentications: Counter<'method' | 'result'>;
  readonly preauthIgnored: Counter<'reason'>;
  readonly basicAuth: Counter<'result'>;
  readonly basicAuthBans: Counter<'scope'>;
  readonly impersonations: Counter<'action' | 'result'>;
  readonly htpasswdReloads: Counter<'result'>;
  readonly upstreamTokens: Counter<'token' | 'result'>;

  // -- policy ----------------------------------------------------------------------------------
  readonly policyObjects: Gauge<'kind'>;
  readonly policyReloads: Counter<'source' | 'result'>;
  readonly policySnapshotBuildDuration: Histogram;
  readonly policyLastReload: Gauge<'source'>;

  readonly auditOverrides: Counter<'outcome' | 'reason'>;

  // -- Kubernetes policy source ----------------------------------------------------------------
  readonly watchStarts: Counter<'resource'>;
  readonly watchErrors: Counter<'resource' | 'kind'>;
  readonly watchLastEvent: Gauge<'resource'>;
  readonly policyObjectsReady: Gauge<'kind' | 'ready'>;
  /** Hosts declared by routes of more than one namespace (tenancy: only the owner governs them). */
  readonly hostOwnershipConflicts: Gauge;
  readonly statusWrites: Counter<'kind' | 'result'>;
  readonly leader: Gauge;

  // -- sign-in and sessions --------------------------------------------------------------------
  readonly logins: Counter<'provider' | 'stage' | 'reason'>;
  /** Sign-in starts refused before any login state was written (`client-rate`, `pending-cap`). */
  readonly signInRefusals: Counter<'reason'>;
  /** `rd` destinations refused at sign-in or sign-out (the browser goes to the default instead). */
  readonly redirectRefusals: Counter<'flow' | 'reason'>;
  readonly tokenRefreshes: Counter<'provider' | 'result'>;
  readonly sessionRevocations: Counter<'source'>;
  /** Entries this replica received on the revocation channel, by kind (session, token). */
  readonly revocationsReceived: Counter<'kind'>;
  /**
   * Bearer tokens on this replica's revocation list (`gatehouse tokens revoke`, issue #20), read
   * at each scrape from the source `measureRevokedTokens` names (entries expire silently).
   */
  readonly revokedTokens: Gauge;
  #revokedTokensSize: (() => number) | undefined;

  /** Names where `gatehouse_revoked_tokens` is read at each scrape. */
  measureRevokedTokens(size: () => number): void {
    this.#revokedTokensSize = size;
  }
  readonly sessionStoreDuration: Histogram<'operation'>;
  readonly sessionStoreErrors: Counter<'operation'>;
  readonly sessionCacheLookups: Counter<'result'>;
  readonly sessionCacheRefreshes: Counter<'result'>;
  readonly providerDiscovery: Counter<'provider' | 'result'>;

  // -- dependencies ----------------------------------------------------------------------------
  readonly dependencyUp: Gauge<'dependency'>;

  /**
   * The per-check metrics, counted in slots resolved once per label set and added to the
   * prom-client metrics at each scrape (hot-path-metrics.ts): prom-client hashes the label
   * object on every `inc`/`observe`, even through a label-bound child.
   */
  readonly #decisionCounts = new PendingCounts<'dialect' | 'outcome' | 'reason'>();
  readonly #decisionSlots = new Map<string, Map<string, Map<string, CountSlot>>>();
  readonly #durationSeries = new Map<string, DurationSeries<'dialect'>>();
  readonly #authenticationCounts = new PendingCounts<'method' | 'result'>();
  readonly #identifiedSlots = new Map<string, CountSlot>();
  readonly #cacheLookupCounts = new PendingCounts<'result'>();
  readonly #cacheHits = this.#cacheLookupCounts.slot({ result: 'hit' });
  readonly #cacheMisses = this.#cacheLookupCounts.slot({ result: 'miss' });

  countDecision(dialect: string, outcome: string, reason: string): void {
    let byOutcome = this.#decisionSlots.get(dialect);
    if (byOutcome === undefined) {
      byOutcome = new Map();
      this.#decisionSlots.set(dialect, byOutcome);
    }
    let byReason = byOutcome.get(outcome);
    if (byReason === undefined) {
      byReason = new Map();
      byOutcome.set(outcome, byReason);
    }
    let slot = byReason.get(reason);
    if (slot === undefined) {
      slot = this.#decisionCounts.slot({ dialect, outcome, reason });
      byReason.set(reason, slot);
    }
    slot.pending += 1;
  }

  /** `authentications{method, result="identified"}`, counted like countDecision. */
  countIdentified(method: string): void {
    let slot = this.#identifiedSlots.get(method);
    if (slot === undefined) {
      slot = this.#authenticationCounts.slot({ method, result: 'identified' });
      this.#identifiedSlots.set(method, slot);
    }
    slot.pending += 1;
  }

  /** `session_cache_lookups{result}`, counted on every session check. */
  countSessionCacheLookup(hit: boolean): void {
    (hit ? this.#cacheHits : this.#cacheMisses).pending += 1;
  }

  observeDecisionDuration(dialect: string, seconds: number): void {
    let series = this.#durationSeries.get(dialect);
    if (series === undefined) {
      series = this.decisionDuration.series({ dialect });
      this.#durationSeries.set(dialect, series);
    }
    series.observe(seconds);
  }

  constructor(options: { collectProcessMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (options.collectProcessMetrics ?? true) collectProcessMetrics(registry, 'gatehouse_');
    const registers = [registry];

    // Which build runs, as a gauge of 1 with the facts as labels (the Prometheus convention of
    // *_build_info, e.g. prometheus_build_info): dashboards join on it, alerts spot a mixed rollout.
    const build = buildInfo();
    new Gauge({
      name: 'gatehouse_build_info',
      help: 'Always 1; the labels say which build runs: version, commit and Node.js version.',
      labelNames: ['version', 'commit', 'node'],
      registers,
    }).set({ version: build.version, commit: build.commit, node: build.node }, 1);

    const decisionCounts = this.#decisionCounts;
    this.decisions = new Counter({
      name: 'gatehouse_decisions_total',
      help: 'Authorization decisions by proxy dialect, outcome (allow, unauthenticated, forbidden, error) and reason code.',
      labelNames: ['dialect', 'outcome', 'reason'],
      registers,
      collect() {
        decisionCounts.flushInto(this);
      },
    });
    this.decisionDuration = new TalliedHistogram({
      name: 'gatehouse_decision_duration_seconds',
      help: 'Time to answer one external-auth check, from request to response, including authentication.',
      labelNames: ['dialect'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.forgedIdentityHeaders = new Counter({
      name: 'gatehouse_forged_identity_headers_total',
      help: 'Checks refused because the client sent its own copy of an identity header.',
      labelNames: ['dialect'],
      registers,
    });
    this.malformedRequests = new Counter({
      name: 'gatehouse_malformed_requests_total',
      help: 'Checks refused with 400 because the proxy request could not be understood.',
      labelNames: ['dialect'],
      registers,
    });
    const authenticationCounts = this.#authenticationCounts;
    this.authentications = new Counter({
      name: 'gatehouse_authentications_total',
      help: 'Credentials examined, by method (bearer, session, header, basic) and result (identified, rejected, error).',
      labelNames: ['method', 'result'],
      registers,
      collect() {
        authenticationCounts.flushInto(this);
      },
    });
    this.preauthIgnored = new Counter({
      name: 'gatehouse_preauth_ignored_total',
      help: 'Pre-authentication headers ignored, by reason (untrusted-client, missing-secret, bad-secret).',
      labelNames: ['reason'],
      registers,
    });
    this.basicAuth = new Counter({
      name: 'gatehouse_basic_auth_total',
      help: 'HTTP Basic authentications by result (success, cached, unknown-user, wrong-password, banned).',
      labelNames: ['result'],
      registers,
    });
    this.basicAuthBans = new Counter({
      name: 'gatehouse_basic_auth_bans_total',
      help: 'Bans placed by the Basic-auth brute-force regulation, by scope (user, ip).',
      labelNames: ['scope'],
      registers,
    });
    this.impersonations = new Counter({
      name: 'gatehouse_impersonations_total',
      help: 'Impersonation starts and stops by result (success, refused; revoked: an impersonation ended because it lost its right).',
      labelNames: ['action', 'result'],
      registers,
    });
    this.htpasswdReloads = new Counter({
      name: 'gatehouse_htpasswd_reloads_total',
      help: 'Re-reads of the htpasswd file by result (success, failure). A failure keeps the last good file.',
      labelNames: ['result'],
      registers,
    });
    this.upstreamTokens = new Counter({
      name: 'gatehouse_upstream_tokens_total',
      help: 'Tokens passed to upstreams by token (access, id) and result (sent, missing).',
      labelNames: ['token', 'result'],
      registers,
    });
    this.policyObjects = new Gauge({
      name: 'gatehouse_policy_objects',
      help: 'Policy objects in the serving snapshot, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.policyReloads = new Counter({
      name: 'gatehouse_policy_reloads_total',
      help: 'Policy snapshot rebuilds by source and result (success, failure). A failure keeps the last good snapshot.',
      labelNames: ['source', 'result'],
      registers,
    });
    this.policySnapshotBuildDuration = new Histogram({
      name: 'gatehouse_policy_snapshot_build_seconds',
      help: 'Time to validate policy objects and build a snapshot.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.policyLastReload = new Gauge({
      name: 'gatehouse_policy_last_reload_timestamp_seconds',
      help: 'Unix time of the last successful policy snapshot swap, by source.',
      labelNames: ['source'],
      registers,
    });
    this.auditOverrides = new Counter({
      name: 'gatehouse_audit_overrides_total',
      help: 'Requests allowed only because the matched policy is in Audit mode, by the outcome and reason they would have had.',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.watchStarts = new Counter({
      name: 'gatehouse_kubernetes_watch_starts_total',
      help: 'Kubernetes watches (re)started, by resource; a steady climb means watches keep failing.',
      labelNames: ['resource'],
      registers,
    });
    this.watchErrors = new Counter({
      name: 'gatehouse_kubernetes_watch_errors_total',
      help: 'Kubernetes watch failures by resource and kind (error, expired, stalled).',
      labelNames: ['resource', 'kind'],
      registers,
    });
    this.watchLastEvent = new Gauge({
      name: 'gatehouse_kubernetes_watch_last_event_timestamp_seconds',
      help: 'Unix time of the last event (or bookmark, or relist) seen on each watch.',
      labelNames: ['resource'],
      registers,
    });
    this.policyObjectsReady = new Gauge({
      name: 'gatehouse_policy_objects_by_readiness',
      help: 'Policy objects by kind and readiness (true: in the snapshot; false: rejected, see its status).',
      labelNames: ['kind', 'ready'],
      registers,
    });
    this.hostOwnershipConflicts = new Gauge({
      name: 'gatehouse_host_ownership_conflicts',
      help: 'Hosts declared by Ingresses or HTTPRoutes of more than one namespace: the earliest owns the host, the policies of the others for it are refused (Ready=False, HostOwnedByAnotherNamespace).',
      registers,
    });
    this.statusWrites = new Counter({
      name: 'gatehouse_kubernetes_status_writes_total',
      help: 'Status patches written to policy objects, by kind and result.',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.leader = new Gauge({
      name: 'gatehouse_kubernetes_status_leader',
      help: 'Whether this replica holds the status-writer Lease (1) or not (0).',
      registers,
    });
    this.logins = new Counter({
      name: 'gatehouse_logins_total',
      help: 'Sign-ins by provider and stage (started, completed, failed) with the failure reason.',
      labelNames: ['provider', 'stage', 'reason'],
      registers,
    });
    this.signInRefusals = new Counter({
      name: 'gatehouse_sign_in_refusals_total',
      help: 'Sign-in starts answered 429 before any login state was stored: client-rate (one client address started too many in the window), pending-cap (too many sign-ins pending in total).',
      labelNames: ['reason'],
      registers,
    });
    this.redirectRefusals = new Counter({
      name: 'gatehouse_redirect_refusals_total',
      help: 'Destinations (rd) refused after sign-in or sign-out, by flow and reason (e.g. insecure-scheme, domain-not-allowed); the browser went to the default URL instead.',
      labelNames: ['flow', 'reason'],
      registers,
    });
    this.tokenRefreshes = new Counter({
      name: 'gatehouse_token_refreshes_total',
      help: 'Access-token refreshes by provider and result (success, invalid-grant, error, reused).',
      labelNames: ['provider', 'result'],
      registers,
    });
    this.sessionRevocations = new Counter({
      name: 'gatehouse_session_revocations_total',
      help: 'Sessions ended before expiry, by source (sign-out, backchannel, admin, invalid-grant, self-service: the person ended them from the portal). Sessions ended with the gatehouse sessions command are in the audit trail and in gatehouse_revocations_received_total, not here: the command is not scraped.',
      labelNames: ['source'],
      registers,
    });
    this.revocationsReceived = new Counter({
      name: 'gatehouse_revocations_received_total',
      help: 'Revocations this replica received on the revocation channel and applied at once, by kind (session: a session key dropped from the cache; token: a bearer jti added to the revocation list). Every replica counts every revocation, from any replica or from the gatehouse command.',
      labelNames: ['kind'],
      registers,
    });
    const revokedTokensSize = (): number | undefined => this.#revokedTokensSize?.();
    this.revokedTokens = new Gauge({
      name: 'gatehouse_revoked_tokens',
      help: 'Bearer tokens on the revocation list of this replica (revoked by jti and not yet expired). Replicas that disagree for more than a moment missed a revocation message.',
      registers,
      collect() {
        const size = revokedTokensSize();
        if (size !== undefined) this.set(size);
      },
    });
    this.sessionStoreDuration = new Histogram({
      name: 'gatehouse_session_store_duration_seconds',
      help: 'Session store operation latency by operation.',
      labelNames: ['operation'],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers,
    });
    this.sessionStoreErrors = new Counter({
      name: 'gatehouse_session_store_errors_total',
      help: 'Session store operations that failed (Redis unreachable, timeout), by operation.',
      labelNames: ['operation'],
      registers,
    });
    const cacheLookupCounts = this.#cacheLookupCounts;
    this.sessionCacheLookups = new Counter({
      name: 'gatehouse_session_cache_lookups_total',
      help: 'Per-replica session cache lookups by result (hit, miss).',
      labelNames: ['result'],
      registers,
      collect() {
        cacheLookupCounts.flushInto(this);
      },
    });
    this.sessionCacheRefreshes = new Counter({
      name: 'gatehouse_session_cache_refreshes_total',
      help: 'Background re-reads of sessions in use (refresh-ahead) by result (ok, failed).',
      labelNames: ['result'],
      registers,
    });
    this.providerDiscovery = new Counter({
      name: 'gatehouse_provider_discovery_total',
      help: 'OpenID Provider discovery attempts by provider and result.',
      labelNames: ['provider', 'result'],
      registers,
    });
    this.dependencyUp = new Gauge({
      name: 'gatehouse_dependency_up',
      help: 'Whether a dependency answered its last readiness probe (1) or not (0).',
      labelNames: ['dependency'],
      registers,
    });
  }
}
