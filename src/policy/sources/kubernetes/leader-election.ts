/**
 * Elects the one replica that writes status and Events, with a coordination.k8s.io/v1 Lease,
 * the way client-go's leaderelection does: the holder renews `renewTime` every
 * `renewIntervalMs`; another replica takes over only after it has seen the Lease unchanged for
 * `leaseDurationMs` by its OWN clock (no cross-node clock comparison), or at once when the holder
 * released it. Every write carries the `resourceVersion` it read (optimistic concurrency), so
 * two candidates can never both win. A holder that could not renew for
 * `leaseDurationMs - renewIntervalMs` steps down before anyone else may take over.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Metrics } from '../../../metrics/metrics.ts';
import { httpStatusOf } from './watch-transport.ts';

/** A coordination.k8s.io/v1 Lease as plain JSON (MicroTime fields are RFC 3339 strings). */
export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface Lease {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: Readonly<Record<string, unknown>> & {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
  };
  readonly spec?: LeaseSpec;
}

/** The three Lease calls; the seam tests replace. */
export interface LeaseClient {
  read(namespace: string, name: string): Promise<Lease>;
  create(namespace: string, lease: Lease): Promise<Lease>;
  replace(namespace: string, name: string, lease: Lease): Promise<Lease>;
}

const leaseApi = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' } as const;

/** MicroTime (RFC 3339 with microseconds), the format Lease times must have. */
export function microTime(millis: number): string {
  return new Date(millis).toISOString().replace(/Z$/, '000Z');
}

export function kubeLeaseClient(kubeConfig: KubeConfig): LeaseClient {
  // Plain JSON through the generic client keeps MicroTime formatting in our hands.
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const typed = (lease: Lease): Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    ...lease,
  });
  return {
    read: async (namespace, name) =>
      (await api.getNamespacedCustomObject({ ...leaseApi, namespace, name })) as Lease,
    create: async (namespace, body) =>
      (await api.createNamespacedCustomObject({
        ...leaseApi,
        namespace,
        body: typed(body),
      })) as Lease,
    replace: async (namespace, name, body) =>
      (await api.replaceNamespacedCustomObject({
        ...leaseApi,
        namespace,
        name,
        body: typed(body),
      })) as Lease,
  };
}

export interface LeaderElectionOptions {
  readonly client: LeaseClient;
  readonly name: string;
  readonly namespace: string;
  /** This replica's name in `holderIdentity` (pod name). */
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewIntervalMs: number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, 'leader'>;
  readonly now?: () => number;
  readonly random?: () => number;
}

export class LeaderElection {
  readonly #options: LeaderElectionOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #stop = new AbortController();
  #leading = false;
  #lastRenewed = 0;
  /** The Lease version last seen and when (our clock), to judge expiry without clock skew. */
  #observed: { resourceVersion: string; at: number } | null = null;
  #loop: Promise<void> | null = null;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#options.metrics?.leader.set(0);
    this.#loop ??= this.#run();
  }

  /** Stops campaigning and releases the Lease if held, so a peer takes over at once. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    if (this.#leading) {
      await this.#release();
      this.#setLeading(false);
    }
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      await this.tryAcquireOrRenew();
      // Jitter spreads candidates (client-go uses JitterFactor 1.2 for retries).
      const wait = this.#leading
        ? this.#options.renewIntervalMs
        : this.#options.renewIntervalMs * (1 + this.#random() * 0.2);
      try {
        await sleep(wait, undefined, { signal: this.#stop.signal });
      } catch {
        return;
      }
    }
  }

  /** One round: acquire, renew, or observe someone else's Lease. Exposed for tests. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity, logger } = this.#options;
    const now = this.#now();
    try {
      let lease: Lease;
      try {
        lease = await client.read(namespace, name);
      } catch (error) {
        if (httpStatusOf(error) !== 404) throw error;
        await client.create(namespace, {
          metadata: { name, namespace },
          spec: this.#spec(now, now, 0),
        });
        this.#renewed(now);
        return true;
      }
      const resourceVersion = lease.metadata?.resourceVersion ?? '';
      if (this.#observed?.resourceVersion !== resourceVersion) {
        this.#observed = { resourceVersion, at: now };
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder !== identity && holder !== '' && now < this.#observed.at + durationMs) {
        if (this.#leading) logger.warn({ holder }, 'status-writer Lease taken by another replica');
        this.#setLeading(false);
        return false;
      }
      const held = holder === identity && spec.acquireTime !== undefined;
      const acquireTime = held ? Date.parse(spec.acquireTime ?? '') : now;
      const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
      await client.replace(namespace, name, {
        metadata: { ...lease.metadata, name, namespace, resourceVersion },
        spec: this.#spec(acquireTime, now, transitions),
      });
      this.#renewed(now);
      return true;
    } catch (error) {
      const status = httpStatusOf(error);
      // 409: another replica wrote first (it won this round).
      if (status !== 409) {
        logger.warn(
          { err: error, httpStatus: status, lease: `${namespace}/${name}` },
          'Lease request failed',
        );
      }
      if (
        this.#leading &&
        now - this.#lastRenewed >= this.#options.leaseDurationMs - this.#options.renewIntervalMs
      ) {
        logger.warn('could not renew the status-writer Lease in time: stepping down');
        this.#setLeading(false);
      }
      return this.#leading;
    }
  }

  #spec(acquireTime: number, renewTime: number, leaseTransitions: number): LeaseSpec {
    return {
      holderIdentity: this.#options.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.#options.leaseDurationMs / 1000)),
      acquireTime: microTime(Number.isFinite(acquireTime) ? acquireTime : renewTime),
      renewTime: microTime(renewTime),
      leaseTransitions,
    };
  }

  #renewed(now: number): void {
    this.#lastRenewed = now;
    this.#observed = null; // our own write changed the version
    this.#setLeading(true);
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.#options.metrics?.leader.set(leading ? 1 : 0);
    this.#options.logger.info(
      {
        identity: this.#options.identity,
        lease: `${this.#options.namespace}/${this.#options.name}`,
      },
      leading ? 'became the status writer (Lease acquired)' : 'no longer the status writer',
    );
    if (leading) this.#options.onStartedLeading();
    else this.#options.onStoppedLeading();
  }

  async #release(): Promise<void> {
    const { client, namespace, name, logger } = this.#options;
    try {
      const lease = await client.read(namespace, name);
      if (lease.spec?.holderIdentity !== this.#options.identity) return;
      const now = this.#now();
      // As client-go's ReleaseOnCancel: no holder, 1 s duration.
      await client.replace(namespace, name, {
        metadata: { ...lease.metadata, name, namespace },
        spec: {
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: lease.spec.leaseTransitions ?? 0,
        },
      });
    } catch (error) {
      logger.warn(
        { err: error },
        'could not release the status-writer Lease; it expires by itself',
      );
    }
  }
}
