import { describe, expect, it, vi } from 'vitest';
import { memorySessionsOnClock } from '../../test/fixtures/builders/memory-sessions.ts';
import { MemorySessionStore } from './memory/memory-store.ts';
import { SessionCache } from './session-cache.ts';
import { describeSessionStoreContract } from './session-store.contract.ts';
import type { NewSession } from './session.ts';
import { issueTicket, sessionKeyOf } from './ticket.ts';

const MINUTE = 60_000;

function setup(cacheOptions: { ttlMs?: number; maxEntries?: number } = {}) {
  const { store, now, advance } = memorySessionsOnClock();
  const reads = vi.spyOn(store, 'get');
  const cache = new SessionCache({ store, ttlMs: 3000, ...cacheOptions, now });
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
  return { store, cache, reads, advance, login };
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
    advance(2999);
    expect(await cache.get(ticket)).toBe(first);
    expect(reads).toHaveBeenCalledTimes(1);
    advance(1);
    expect(await cache.get(ticket)).toEqual(first);
    expect(reads).toHaveBeenCalledTimes(2);
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
    const { store, cache, reads, login } = setup({ ttlMs: 60_000 });
    const ticket = await login();
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
