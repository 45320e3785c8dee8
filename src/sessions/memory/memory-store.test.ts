import { describe, expect, it } from 'vitest';
import { describeSessionStoreContract } from '../session-store.contract.ts';
import { issueTicket, sessionKeyOf } from '../ticket.ts';
import { MemorySessionStore } from './memory-store.ts';

describeSessionStoreContract('memory', (setup) => {
  const store = new MemorySessionStore(setup);
  return Promise.resolve({
    store,
    // One process, one store: a "replica" is the same instance.
    replica: () => Promise.resolve(store),
    dispose: () => store.close(),
  });
});

describe('MemorySessionStore bounds', () => {
  const identity = { user: 'u', groups: [], claims: {} };

  it('ends the oldest session when full', async () => {
    const store = new MemorySessionStore({
      idleTimeoutMs: 60_000,
      absoluteLifetimeMs: 600_000,
      maxSessions: 2,
    });
    const tickets = [issueTicket(), issueTicket(), issueTicket()];
    for (const [position, ticket] of tickets.entries()) {
      await store.create(
        { provider: 'p', subject: `s${String(position)}`, identity, tokens: {} },
        ticket,
      );
    }
    expect(await store.get(tickets[0]!)).toBeNull();
    expect(await store.get(tickets[1]!)).not.toBeNull();
    expect(await store.get(tickets[2]!)).not.toBeNull();
    // The evicted session also left the per-user index.
    expect(await store.listKeysByUser('p\u0000s0')).toEqual([]);
    expect(await store.listKeysByUser('p\u0000s2')).toEqual([sessionKeyOf(tickets[2]!.id)]);
  });

  it('expires login state and replay markers with the injected clock', async () => {
    let now = 1_000_000;
    const store = new MemorySessionStore({
      idleTimeoutMs: 60_000,
      absoluteLifetimeMs: 600_000,
      now: () => now,
    });
    await store.putLoginState('state-1', 'value', 1000);
    expect(await store.rememberOnce('jti', 'a', 1000)).toBe(true);
    now += 1000;
    expect(await store.takeLoginState('state-1')).toBeNull();
    expect(await store.rememberOnce('jti', 'a', 1000)).toBe(true);
  });

  it('bounds pending login states', async () => {
    const store = new MemorySessionStore({
      idleTimeoutMs: 60_000,
      absoluteLifetimeMs: 600_000,
      maxEntries: 2,
    });
    await store.putLoginState('a', '1', 60_000);
    await store.putLoginState('b', '2', 60_000);
    await store.putLoginState('c', '3', 60_000);
    expect(await store.takeLoginState('a')).toBeNull();
    expect(await store.takeLoginState('c')).toBe('3');
  });
});
