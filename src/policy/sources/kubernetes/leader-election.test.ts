import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LeaderElection } from './leader-election.ts';
import type { Lease, LeaseClient } from './leader-election.ts';

const logger = pino({ level: 'silent' });

function httpError(code: number): Error {
  return Object.assign(new Error(`HTTP ${String(code)}`), { statusCode: code });
}

/** One Lease with the API server's optimistic concurrency: a stale resourceVersion is a 409. */
class FakeLeases implements LeaseClient {
  lease: Lease | null = null;
  #version = 0;

  read(): Promise<Lease> {
    return this.lease === null
      ? Promise.reject(httpError(404))
      : Promise.resolve(structuredClone(this.lease));
  }

  create(_namespace: string, lease: Lease): Promise<Lease> {
    if (this.lease !== null) return Promise.reject(httpError(409));
    return Promise.resolve(this.#store(lease));
  }

  replace(_namespace: string, _name: string, lease: Lease): Promise<Lease> {
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
      return Promise.reject(httpError(409));
    }
    return Promise.resolve(this.#store(lease));
  }

  #store(lease: Lease): Lease {
    this.#version++;
    this.lease = {
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(this.#version) },
    };
    return structuredClone(this.lease);
  }

  holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }
}

function candidate(client: LeaseClient, identity: string, clock: { now: number }) {
  const events: string[] = [];
  const election = new LeaderElection({
    client,
    name: 'gatehouse-status-writer',
    namespace: 'gatehouse',
    identity,
    leaseDurationMs: 15_000,
    renewIntervalMs: 5_000,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
    logger,
    now: () => clock.now,
  });
  return { election, events };
}

/** Replicas `a` and `b` competing for one Lease, on one clock the test moves. */
function twoCandidates() {
  const leases = new FakeLeases();
  const clock = { now: 1_000_000 };
  return { leases, clock, a: candidate(leases, 'a', clock), b: candidate(leases, 'b', clock) };
}

describe('LeaderElection', () => {
  it('lets exactly one candidate lead, and the holder renew', async () => {
    const { leases, clock, a, b } = twoCandidates();
    expect(await a.election.tryAcquireOrRenew()).toBe(true);
    expect(await b.election.tryAcquireOrRenew()).toBe(false);
    clock.now += 5_000;
    expect(await a.election.tryAcquireOrRenew()).toBe(true);
    expect(await b.election.tryAcquireOrRenew()).toBe(false);
    expect(leases.holder()).toBe('a');
    expect(leases.lease?.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(a.events).toEqual(['started']);
    expect(b.events).toEqual([]);
  });

  it("takes over a holder that stopped renewing, judged by the candidate's own clock", async () => {
    const { leases, clock, a, b } = twoCandidates();
    await a.election.tryAcquireOrRenew();
    expect(await b.election.tryAcquireOrRenew()).toBe(false); // b first sees the record now
    clock.now += 14_000;
    expect(await b.election.tryAcquireOrRenew()).toBe(false);
    clock.now += 2_000;
    expect(await b.election.tryAcquireOrRenew()).toBe(true);
    expect(leases.holder()).toBe('b');
    expect(leases.lease?.spec?.leaseTransitions).toBe(1);
    // The old holder learns it lost at its next round.
    expect(await a.election.tryAcquireOrRenew()).toBe(false);
    expect(a.events).toEqual(['started', 'stopped']);
  });

  it('hands over at once when the holder releases on stop', async () => {
    const { leases, a, b } = twoCandidates();
    await a.election.tryAcquireOrRenew();
    await b.election.tryAcquireOrRenew();
    a.election.start();
    await a.election.stop();
    expect(leases.holder()).toBeUndefined();
    expect(await b.election.tryAcquireOrRenew()).toBe(true);
  });

  it('loses a race on the resourceVersion without error, and steps down when it cannot renew', async () => {
    const leases = new FakeLeases();
    const clock = { now: 1_000_000 };
    const a = candidate(leases, 'a', clock);
    await a.election.tryAcquireOrRenew();
    const failing: LeaseClient = {
      read: () => Promise.reject(new Error('connection refused')),
      create: () => Promise.reject(new Error('connection refused')),
      replace: () => Promise.reject(new Error('connection refused')),
    };
    Object.assign(leases, failing);
    clock.now += 5_000;
    expect(await a.election.tryAcquireOrRenew()).toBe(true); // still within the renew deadline
    clock.now += 5_000;
    expect(await a.election.tryAcquireOrRenew()).toBe(false); // 10 s without renewal: step down
    expect(a.election.isLeader()).toBe(false);
  });
});
