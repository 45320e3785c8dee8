import { describe, expect, it, vi } from 'vitest';
import { memorySessionsOnClock } from '../../test/fixtures/builders/memory-sessions.ts';
import { MemorySessionStore } from './memory/memory-store.ts';
import { SessionCache, type SessionCacheOptions } from './session-cache.ts';
import { describeSessionStoreContract } from './session-store.contract.ts';
import type { NewSession } from './session.ts';
import { issueTicket, sessionKeyOf } from './ticket.ts';

const MINUTE = 60_000;

function setup(cacheOptions: Pick<SessionCacheOptions, 'ttlMs' | 'maxEntries' | 'onRefresh'> = {}) {
  const { store, now, advance } = memorySessionsOnClock();
  const reads = vi.spyOn(store, 'get');
  const cache = new SessionCache({ store, ttlMs: 3000, ...cacheOptions, now });
  /** Holds the next store read, once it has read, until the returned function is called. */
  function holdNextRead(): () => void {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const original = MemorySessionStore.prototype.get.bind(store);
    reads.mockImplementationOnce(async (ticketArg) => {
      const session = await original(ticketArg);
      await gate;
      return session;
    });
    return release;
  }
  async function login(subject = 'alice') {
    const ticket = issueTicket();
    const fields: NewSession = {
      provider: 'idp',
      subject,
      identity: { user: subject, groups: [], claims: {} },
      tokens: { accessToken: 'at' },
    };
    await cache.create(fields, ticket);
    return ticket;
  }
  return { store, cache, reads, advance, login, holdNextRead };
}

// The cache is itself a session backend: the contract holds in front of the memory store (and in
// front of Redis, redis/redis-store.test.ts). Another replica is another cache over that store.
describeSessionStoreContract('memory behind the per-replica cache', (setup) => {
  const memory = new MemorySessionStore(setup);
  const cache = new SessionCache({ store: memory, now: setup.now });
  return Promise.resolve({
    store: cache,
    replica: () => Promise.resolve(new SessionCache({ store: memory, now: setup.now })),
    // Closes the memory store too, and with it every replica's subscription.
    dispose: () => cache.close(),
  });
});

describe('SessionCache', () => {
  it('serves a session from memory within its TTL, then reads the store again', async () => {
    const { cache, reads, advance, login } = setup();
    const ticket = await login();
    const first = await cache.get(ticket);
    advance(1499);
    expect(await cache.get(ticket)).toBe(first);
    expect(reads).toHaveBeenCalledTimes(1);
    // Unused in the second half of its TTL, the entry is not refreshed and simply expires.
    advance(1501);
    expect(await cache.get(ticket)).toEqual(first);
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('shares one store read among concurrent misses of the same ticket', async () => {
    const { cache, reads, login } = setup();
    const ticket = await login();
    const other = await login('bob');
    const answers = await Promise.all([
      cache.get(ticket),
      cache.get(ticket),
      cache.get(ticket),
      cache.get(other),
    ]);
    expect(reads).toHaveBeenCalledTimes(2);
    expect(answers[0]).not.toBeNull();
    expect(answers[1]).toBe(answers[0]);
    expect(answers[2]).toBe(answers[0]);
    expect(answers[3]?.subject).toBe('bob');
  });

  it('never shares a read with a ticket of another secret', async () => {
    const { cache, reads, login } = setup();
    const ticket = await login();
    const forged = { id: ticket.id, secret: issueTicket().secret };
    const [good, bad] = await Promise.all([cache.get(ticket), cache.get(forged)]);
    expect(good).not.toBeNull();
    expect(bad).toBeNull();
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('fails every check that shared a failed read, and reads again on the next', async () => {
    const { cache, reads, login } = setup();
    const ticket = await login();
    reads.mockRejectedValueOnce(new Error('Command timed out'));
    const results = await Promise.allSettled([cache.get(ticket), cache.get(ticket)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await cache.get(ticket)).not.toBeNull();
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('does not let a lookup after a revocation join a read that started before it', async () => {
    const { store, cache, reads, login, holdNextRead } = setup();
    const ticket = await login();
    const release = holdNextRead();
    const before = cache.get(ticket);
    await store.deleteByUser('idp\u0000alice');
    const after = cache.get(ticket);
    release();
    expect(await before).not.toBeNull();
    expect(await after).toBeNull();
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('refreshes a session in use in the background once its entry is half its TTL old', async () => {
    const refreshes: string[] = [];
    const { cache, reads, advance, login } = setup({
      onRefresh: (outcome) => refreshes.push(outcome),
    });
    const ticket = await login();
    const first = await cache.get(ticket);
    advance(1500);
    // Served from memory at once; one background read starts, however many checks arrive.
    expect(await cache.get(ticket)).toBe(first);
    expect(await cache.get(ticket)).toBe(first);
    expect(reads).toHaveBeenCalledTimes(2);
    await settle();
    expect(refreshes).toEqual(['ok']);
    // The refreshed entry lives a full TTL from its own read: past the first entry's expiry, the
    // session is still served from memory (and, half that TTL on, refreshed again).
    const refreshed: unknown = await reads.mock.results[1]?.value;
    advance(2000);
    expect(await cache.get(ticket)).toBe(refreshed);
    expect(reads).toHaveBeenCalledTimes(3);
    await settle();
    expect(refreshes).toEqual(['ok', 'ok']);

    // A refresh that fails fails no check and is not retried on every check; the entry then
    // expires on time and the next check reads the store itself.
    advance(1500);
    reads.mockRejectedValueOnce(new Error('Command timed out'));
    expect(await cache.get(ticket)).not.toBeNull();
    await settle();
    expect(refreshes).toEqual(['ok', 'ok', 'failed']);
    advance(1499);
    expect(await cache.get(ticket)).not.toBeNull();
    await settle();
    expect(reads).toHaveBeenCalledTimes(4);
    advance(1);
    expect(await cache.get(ticket)).not.toBeNull();
    expect(reads).toHaveBeenCalledTimes(5);
  });

  it('does not cache a background refresh that a revocation overtook', async () => {
    const { store, cache, advance, login, holdNextRead } = setup({ ttlMs: 60_000 });
    const ticket = await login();
    await cache.get(ticket);
    advance(30_000);
    const release = holdNextRead();
    expect(await cache.get(ticket)).not.toBeNull();
    await store.deleteByUser('idp\u0000alice');
    release();
    await settle();
    expect(await cache.get(ticket)).toBeNull();
  });

  it('refuses a cached session to a ticket with the wrong secret', async () => {
    const { cache, login } = setup();
    const ticket = await login();
    expect(await cache.get(ticket)).not.toBeNull();
    expect(await cache.get({ id: ticket.id, secret: issueTicket().secret })).toBeNull();
    expect(await cache.get(ticket)).not.toBeNull();
  });

  it('drops sessions revoked by another replica', async () => {
    const { store, cache, login } = setup({ ttlMs: 60_000 });
    const ticket = await login('alice');
    const other = await login('bob');
    expect(await cache.get(ticket)).not.toBeNull();
    expect(await cache.get(other)).not.toBeNull();
    // Another replica ends alice's sessions; the revocation reaches this cache.
    await store.deleteByUser('idp\u0000alice');
    expect(await cache.get(ticket)).toBeNull();
    expect(await cache.get(other)).not.toBeNull();
  });

  it('drops sessions deleted or updated through it', async () => {
    const { cache, reads, login } = setup({ ttlMs: 60_000 });
    const ticket = await login();
    const session = await cache.get(ticket);
    if (session === null) throw new Error('no session');
    await cache.update(ticket, { ...session, tokens: { accessToken: 'new' } });
    expect((await cache.get(ticket))?.tokens.accessToken).toBe('new');
    expect(reads).toHaveBeenCalledTimes(2);
    await cache.delete(sessionKeyOf(ticket.id));
    expect(await cache.get(ticket)).toBeNull();
  });

  it('never serves a session past its idle expiry, however long the cache TTL', async () => {
    const { cache, advance, login } = setup({ ttlMs: 24 * 60 * MINUTE });
    const ticket = await login();
    expect(await cache.get(ticket)).not.toBeNull();
    advance(30 * MINUTE);
    expect(await cache.get(ticket)).toBeNull();
  });

  it('never serves a session past its absolute expiry', async () => {
    const { cache, advance, login } = setup({ ttlMs: 24 * 60 * MINUTE });
    const ticket = await login();
    for (let elapsed = 0; elapsed < 60 * MINUTE - 10 * MINUTE; elapsed += 10 * MINUTE) {
      advance(10 * MINUTE);
      expect(await cache.get(ticket, { bypassCache: true })).not.toBeNull();
    }
    advance(10 * MINUTE);
    expect(await cache.get(ticket)).toBeNull();
  });

  it('does not cache a read that was in flight when a revocation arrived', async () => {
    const { store, cache, reads, login, holdNextRead } = setup({ ttlMs: 60_000 });
    const ticket = await login();
    const release = holdNextRead();
    const pending = cache.get(ticket);
    await store.publishRevocation([sessionKeyOf(ticket.id)]);
    release();
    expect(await pending).not.toBeNull();
    await cache.get(ticket);
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('holds at most maxEntries sessions, evicting the least recently used', async () => {
    const { cache, reads, login } = setup({ maxEntries: 2 });
    const [a, b, c] = [await login('a'), await login('b'), await login('c')];
    await cache.get(a);
    await cache.get(b);
    await cache.get(a); // a is now the most recent
    await cache.get(c); // evicts b
    expect(cache.size).toBe(2);
    reads.mockClear();
    await cache.get(a);
    await cache.get(c);
    expect(reads).not.toHaveBeenCalled();
    await cache.get(b);
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('reads the store every time when disabled or bypassed', async () => {
    const disabled = setup({ ttlMs: 0 });
    const ticket = await disabled.login();
    await disabled.cache.get(ticket);
    await disabled.cache.get(ticket);
    expect(disabled.reads).toHaveBeenCalledTimes(2);
    expect(disabled.cache.size).toBe(0);

    const enabled = setup();
    const other = await enabled.login();
    await enabled.cache.get(other);
    await enabled.cache.get(other, { bypassCache: true });
    expect(enabled.reads).toHaveBeenCalledTimes(2);
  });

  it('stops listening for revocations when closed', async () => {
    const { store, cache } = setup();
    const listener = vi.fn();
    store.onRevocation(listener);
    await cache.close();
    // The memory store's close clears all listeners, the cache's included.
    await store.publishRevocation([sessionKeyOf(issueTicket().id)]);
    expect(listener).not.toHaveBeenCalled();
  });
});

/** Lets background reads (memory store: a few promise turns) finish. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
