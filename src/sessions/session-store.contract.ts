import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_BUSY, type Locks } from './locks.ts';
import type { LoginStateStore } from './login-state-store.ts';
import type { ReplayGuard } from './replay-guard.ts';
import type { RevocationBus } from './revocation-bus.ts';
import type { SessionBackend, StoreLifecycle } from './session-backend.ts';
import type { SessionDirectory } from './session-directory.ts';
import type { SessionStore } from './session-store.ts';
import type { NewSession } from './session.ts';
import { issueTicket, sessionKeyOf, type SessionTicket } from './ticket.ts';
import type { RevokedToken, TokenRevocationStore } from './token-revocations.ts';

/**
 * The behaviour every session backend must have (session-backend.ts), one block per role. Each
 * block reaches the store only through its role's interface, so what it asserts is what a
 * consumer naming that role may rely on. Run against:
 * - the memory store: memory/memory-store.test.ts;
 * - the memory store behind the per-replica cache: session-cache.test.ts;
 * - Redis standalone, bare and behind the instrumented store and the cache (as main.ts wires
 *   it): redis/redis-store.test.ts;
 * - Redis Sentinel and Redis Cluster (private processes): test/integration/sessions/.
 */
export interface ContractSetup {
  readonly now: () => number;
  readonly idleTimeoutMs: number;
  readonly absoluteLifetimeMs: number;
}

export interface ContractHarness {
  readonly store: SessionBackend;
  /** Another store over the same backend, as another replica would have. */
  readonly replica: () => Promise<RevocationBus & TokenRevocationStore>;
  /** Remaining TTL (ms) the backend holds for a session, for backends that expire keys. */
  readonly storageTtlOf?: (key: string) => Promise<number>;
  /** Everything the backend holds, as text, for backends that can be dumped. */
  readonly dump?: () => Promise<string>;
  readonly dispose: () => Promise<void>;
}

const MINUTE = 60_000;
const IDLE = 30 * MINUTE;
const ABSOLUTE = 8 * 60 * MINUTE;

/** Real browsers' headers, with the version and build details the summary must not keep. */
const FIREFOX_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 build-7f3a9c-contract';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

export function describeSessionStoreContract(
  name: string,
  makeStore: (setup: ContractSetup) => Promise<ContractHarness>,
): void {
  describe(`session backend contract: ${name}`, () => {
    let time = 1_700_000_000_000;
    const clock = {
      now: () => time,
      advance: (ms: number) => {
        time += ms;
      },
    };
    const harnesses: ContractHarness[] = [];
    let harness: ContractHarness;
    let sessions: SessionStore;

    beforeEach(async () => {
      harness = await makeStore({
        now: clock.now,
        idleTimeoutMs: IDLE,
        absoluteLifetimeMs: ABSOLUTE,
      });
      harnesses.push(harness);
      sessions = harness.store;
    });

    afterAll(async () => {
      await Promise.all(harnesses.map((each) => each.dispose()));
    });

    let userCounter = 0;
    function newUser(): { subject: string; email: string; user: string } {
      userCounter += 1;
      const unique = `${String(userCounter)}-${issueTicket().id.slice(0, 8)}`;
      return {
        subject: `subject-${unique}`,
        email: `person-${unique}@example.com`,
        user: `person-${unique}`,
      };
    }

    function fields(
      person: { subject: string; email: string; user: string },
      extra: Partial<NewSession> = {},
    ): NewSession {
      return {
        provider: 'corp-idp',
        subject: person.subject,
        identity: {
          user: person.user,
          email: person.email,
          name: 'Alice Example',
          groups: ['staff', 'shop-operators'],
          claims: { department: 'sales' },
        },
        tokens: {
          accessToken: `access-${issueTicket().id}`,
          refreshToken: `refresh-${issueTicket().id}`,
          idToken: `id-${issueTicket().id}`,
          accessTokenExpiresAt: time + 5 * MINUTE,
        },
        ...extra,
      };
    }

    async function login(
      extra: Partial<NewSession> = {},
      person = newUser(),
    ): Promise<SessionTicket & { key: string }> {
      const ticket = issueTicket();
      await sessions.create(fields(person, extra), ticket);
      return { ...ticket, key: sessionKeyOf(ticket.id) };
    }

    describe('SessionStore', () => {
      it('returns the created session for its ticket, under the hashed id', async () => {
        const person = newUser();
        const ticket = issueTicket();
        const created = await sessions.create(fields(person, { oidcSid: 'op-sid-1' }), ticket);
        const session = await sessions.get(ticket);
        expect(session).not.toBeNull();
        expect(session).toEqual(created);
        expect(session?.key).toBe(sessionKeyOf(ticket.id));
        expect(session?.key).not.toContain(ticket.id);
        expect(session?.userKey).toBe(`corp-idp\u0000${person.subject}`);
        expect(session?.identity.email).toBe(person.email);
        expect(session?.identity.groups).toEqual(['staff', 'shop-operators']);
        expect(session?.tokens.refreshToken).toMatch(/^refresh-/);
        expect(session?.oidcSid).toBe('op-sid-1');
        expect(session?.createdAt).toBe(time);
        expect(session?.idleExpiresAt).toBe(time + IDLE);
        expect(session?.absoluteExpiresAt).toBe(time + ABSOLUTE);
      });

      it('refuses a ticket whose secret does not match, and an unknown or altered id', async () => {
        const ticket = await login();
        const other = issueTicket();
        expect(await sessions.get({ id: ticket.id, secret: other.secret })).toBeNull();
        expect(await sessions.get({ id: other.id, secret: ticket.secret })).toBeNull();
        const flipped = (ticket.id[0] === 'A' ? 'B' : 'A') + ticket.id.slice(1);
        expect(await sessions.get({ id: flipped, secret: ticket.secret })).toBeNull();
        // The right ticket still works afterwards: failed attempts do not destroy the session.
        expect(await sessions.get(ticket)).not.toBeNull();
      });

      it('ends a session left idle, and one past its absolute lifetime however active', async () => {
        const idle = await login();
        clock.advance(IDLE - 1);
        expect(await sessions.get(idle)).not.toBeNull();
        clock.advance(IDLE); // the access above slid the expiry by IDLE
        expect(await sessions.get(idle)).toBeNull();

        const active = await login();
        const end = time + ABSOLUTE;
        while (time + 10 * MINUTE < end) {
          clock.advance(10 * MINUTE);
          expect(await sessions.get(active)).not.toBeNull();
        }
        clock.advance(end - time);
        expect(await sessions.get(active)).toBeNull();
      });

      it('caps the stored TTL at the idle timeout', async () => {
        if (harness.storageTtlOf === undefined) return;
        const ticket = await login();
        const ttl = await harness.storageTtlOf(ticket.key);
        expect(ttl).toBeGreaterThan(IDLE - 5000);
        expect(ttl).toBeLessThanOrEqual(IDLE);
        // Close to the absolute end, the TTL shrinks to what is left.
        const short = await login({ absoluteExpiresAt: time + 2 * MINUTE });
        const shortTtl = await harness.storageTtlOf(short.key);
        expect(shortTtl).toBeGreaterThan(0);
        expect(shortTtl).toBeLessThanOrEqual(2 * MINUTE);
      });

      it('extends the idle expiry on access at most once a minute', async () => {
        const ticket = await login();
        // Past any cache: a cache answers from memory for up to its TTL without extending, so the
        // slide it reports would be up to that late (SessionStore.get).
        const idleExpiry = async () =>
          (await sessions.get(ticket, { bypassCache: true }))?.idleExpiresAt;
        const createdIdle = time + IDLE;
        clock.advance(30_000);
        expect(await idleExpiry()).toBe(createdIdle);
        clock.advance(29_000);
        expect(await idleExpiry()).toBe(createdIdle);
        clock.advance(2_000);
        const slid = time + IDLE;
        expect(await idleExpiry()).toBe(slid);
        clock.advance(1_000);
        expect(await idleExpiry()).toBe(slid);
        // The extension was stored: the session outlives its original idle expiry.
        clock.advance(createdIdle - time + 1_000);
        expect(await idleExpiry()).toBe(time + IDLE);
        if (harness.storageTtlOf !== undefined) {
          const ttl = await harness.storageTtlOf(ticket.key);
          expect(ttl).toBeGreaterThan(IDLE - 5000);
          expect(ttl).toBeLessThanOrEqual(IDLE);
        }
      });

      it('replaces a session on update, and never resurrects a deleted one', async () => {
        const ticket = await login();
        const session = await sessions.get(ticket);
        expect(session).not.toBeNull();
        if (session === null) return;
        clock.advance(10 * MINUTE);
        const refreshed = {
          ...session,
          tokens: { ...session.tokens, accessToken: 'access-new', refreshToken: 'refresh-new' },
          lastRefreshedAt: time,
          // An update cannot lengthen the session.
          absoluteExpiresAt: session.absoluteExpiresAt + ABSOLUTE,
        };
        expect(await sessions.update(ticket, refreshed)).toBe(true);
        const read = await sessions.get(ticket);
        expect(read?.tokens.refreshToken).toBe('refresh-new');
        expect(read?.lastRefreshedAt).toBe(time);
        expect(read?.idleExpiresAt).toBe(time + IDLE);
        expect(read?.absoluteExpiresAt).toBe(session.absoluteExpiresAt);

        expect(await sessions.delete(ticket.key)).toBe(true);
        expect(await sessions.update(ticket, refreshed)).toBe(false);
        expect(await sessions.get(ticket)).toBeNull();
        expect(await sessions.delete(ticket.key)).toBe(false);
      });

      it('ends every session of one user, and only theirs', async () => {
        const alice = newUser();
        const bob = newUser();
        const a1 = await login({}, alice);
        const a2 = await login({}, alice);
        const b1 = await login({}, bob);
        const aliceKey = `corp-idp\u0000${alice.subject}`;
        const bobKey = `corp-idp\u0000${bob.subject}`;
        expect((await sessions.listKeysByUser(aliceKey)).sort()).toEqual([a1.key, a2.key].sort());

        const ended = await sessions.deleteByUser(aliceKey);
        expect(ended.sort()).toEqual([a1.key, a2.key].sort());
        expect(await sessions.get(a1)).toBeNull();
        expect(await sessions.get(a2)).toBeNull();
        expect(await sessions.get(b1)).not.toBeNull();
        expect(await sessions.listKeysByUser(aliceKey)).toEqual([]);
        expect(await sessions.listKeysByUser(bobKey)).toEqual([b1.key]);
        expect(await sessions.deleteByUser(aliceKey)).toEqual([]);
      });

      it('ends the sessions bound to a provider session id (back-channel logout)', async () => {
        const person = newUser();
        const first = await login({ oidcSid: 'sid-one' }, person);
        const second = await login({ oidcSid: 'sid-one' });
        const otherSid = await login({ oidcSid: 'sid-two' }, person);
        const otherProvider = await login({ oidcSid: 'sid-one', provider: 'partner-idp' });

        const ended = await sessions.deleteBySid('corp-idp', 'sid-one');
        expect(ended.sort()).toEqual([first.key, second.key].sort());
        expect(await sessions.get(first)).toBeNull();
        expect(await sessions.get(second)).toBeNull();
        expect(await sessions.get(otherSid)).not.toBeNull();
        expect(await sessions.get(otherProvider)).not.toBeNull();
        expect(await sessions.listKeysByUser(`corp-idp\u0000${person.subject}`)).toEqual([
          otherSid.key,
        ]);
        expect(await sessions.deleteBySid('corp-idp', 'sid-one')).toEqual([]);
      });

      it('keeps no token, user name or email in clear text at rest', async () => {
        if (harness.dump === undefined) return;
        const person = newUser();
        const ticket = issueTicket();
        const created = await sessions.create(
          fields(person, { oidcSid: 'op-sid-dump', userAgent: FIREFOX_LINUX }),
          ticket,
        );
        const dump = await harness.dump();
        expect(dump).toContain(created.key); // the dump really holds this session
        for (const secret of [
          ticket.id,
          ticket.secret,
          person.email,
          person.user,
          person.subject,
          'Alice Example',
          'shop-operators',
          'op-sid-dump',
          created.tokens.accessToken,
          created.tokens.refreshToken,
          created.tokens.idToken,
          // The listing keeps a device summary, never the header or its details.
          FIREFOX_LINUX,
          'rv:128.0',
          'build-7f3a9c-contract',
        ]) {
          expect(dump).not.toContain(secret);
        }
        expect(dump).toContain('Firefox on Linux');
      });
    });

    describe('SessionDirectory', () => {
      let directory: SessionDirectory;
      beforeEach(() => {
        directory = harness.store;
      });

      it("lists a person's sessions with provider, sign-in, last use and device, most recent first", async () => {
        const person = newUser();
        const other = newUser();
        const signedInAt = time;
        const laptop = await login({ userAgent: FIREFOX_LINUX }, person);
        clock.advance(5 * MINUTE);
        const phone = await login({ userAgent: SAFARI_IPHONE }, person);
        const unknownDevice = await login({}, person);
        await login({ userAgent: FIREFOX_LINUX }, other);
        clock.advance(2 * MINUTE);
        // Using the laptop again (past any cache) makes it the most recently used.
        expect(await sessions.get(laptop, { bypassCache: true })).not.toBeNull();
        const usedAt = time;

        const listed = await directory.listByUser(`corp-idp\u0000${person.subject}`);
        expect(listed.map((listing) => listing.key)).toEqual([
          laptop.key,
          ...[phone.key, unknownDevice.key].sort(),
        ]);
        expect(listed[0]).toEqual({
          key: laptop.key,
          provider: 'corp-idp',
          createdAt: signedInAt,
          lastUsedAt: usedAt,
          idleExpiresAt: usedAt + IDLE,
          absoluteExpiresAt: signedInAt + ABSOLUTE,
          userAgent: 'Firefox on Linux',
        });
        const byKey = new Map(listed.map((listing) => [listing.key, listing]));
        expect(byKey.get(phone.key)).toMatchObject({
          createdAt: signedInAt + 5 * MINUTE,
          lastUsedAt: signedInAt + 5 * MINUTE,
          userAgent: 'Safari on iOS',
        });
        expect(byKey.get(unknownDevice.key)?.userAgent).toBeNull();

        // Ended and expired sessions leave the list.
        await sessions.delete(phone.key);
        clock.advance(IDLE - 2 * MINUTE + 1);
        expect(
          (await directory.listByUser(`corp-idp\u0000${person.subject}`)).map(
            (listing) => listing.key,
          ),
        ).toEqual([laptop.key]);
        expect(await directory.listByUser(`corp-idp\u0000${newUser().subject}`)).toEqual([]);
      });

      it('records the last use when a refresh replaces the record', async () => {
        const person = newUser();
        const ticket = await login({}, person);
        const session = await sessions.get(ticket);
        clock.advance(20_000);
        expect(session).not.toBeNull();
        if (session === null) return;
        expect(await sessions.update(ticket, { ...session, lastRefreshedAt: time })).toBe(true);
        const [listing] = await directory.listByUser(`corp-idp\u0000${person.subject}`);
        expect(listing?.lastUsedAt).toBe(time);
      });

      it('finds the sessions of a user name from every provider, and only those', async () => {
        const person = newUser();
        const namesake = { ...newUser(), user: person.user };
        const corp = await login({}, person);
        const partner = await login({ provider: 'partner-idp' }, namesake);
        await login({}, newUser());

        const listed = await directory.listByUserName(person.user);
        expect(listed.map((listing) => [listing.key, listing.provider]).sort()).toEqual(
          [
            [corp.key, 'corp-idp'],
            [partner.key, 'partner-idp'],
          ].sort(),
        );
        expect(await directory.listByUserName(`${person.user}-else`)).toEqual([]);
        // Exact names: another case is another user name.
        expect(await directory.listByUserName(person.user.toUpperCase())).toEqual([]);

        await sessions.deleteByUser(`corp-idp\u0000${person.subject}`);
        expect((await directory.listByUserName(person.user)).map((each) => each.key)).toEqual([
          partner.key,
        ]);
      });

      // Delivery, not its latency, is asserted here (RevocationBus asserts "within a second"): the
      // generous poll keeps a loaded CI machine from failing it.
      it('ends every session of one provider, only those, and tells every replica', async () => {
        const replica = await harness.replica();
        const received: string[] = [];
        const unsubscribe = replica.onRevocation((keys) => received.push(...keys));
        await replica.revocationsReady();
        const provider = `partner-${issueTicket().id.slice(0, 6).toLowerCase()}`;
        const person = newUser();
        const first = await login({ provider }, person);
        const second = await login({ provider, oidcSid: 'partner-sid' });
        const kept = await login({}, person);

        const ended = await directory.deleteByProvider(provider);
        expect(ended.sort()).toEqual([first.key, second.key].sort());
        expect(await sessions.get(first)).toBeNull();
        expect(await sessions.get(second)).toBeNull();
        expect(await sessions.get(kept)).not.toBeNull();
        expect((await directory.listByUserName(person.user)).map((each) => each.key)).toEqual([
          kept.key,
        ]);
        expect(await sessions.deleteBySid(provider, 'partner-sid')).toEqual([]);
        await expect
          .poll(() => [...received].sort(), { timeout: 3000 })
          .toEqual([first.key, second.key].sort());
        expect(await directory.deleteByProvider(provider)).toEqual([]);
        unsubscribe();
      });
    });

    describe('TokenRevocationStore', () => {
      let store: TokenRevocationStore;
      beforeEach(() => {
        store = harness.store;
      });

      function revoked(extra: Partial<RevokedToken> = {}): RevokedToken {
        return {
          issuer: 'ci',
          jti: `jti-${issueTicket().id}`,
          until: time + 10 * MINUTE,
          ...extra,
        };
      }

      it('keeps a revoked token until it expires, and tells every replica', async () => {
        const replica = await harness.replica();
        const received: RevokedToken[] = [];
        const unsubscribe = replica.onTokenRevocation((tokens) => received.push(...tokens));
        await replica.revocationsReady();
        const token = revoked();
        const shortLived = revoked({ until: time + MINUTE });

        await store.revokeToken(token);
        await store.revokeToken(shortLived);
        // Two PUBLISHes may cross a cluster through different nodes: their order is not kept.
        await expect
          .poll(() => [...received].sort((a, b) => a.until - b.until), { timeout: 3000 })
          .toEqual([shortLived, token]);
        const mine = async () =>
          (await store.listRevokedTokens()).filter((each) =>
            [token.jti, shortLived.jti].includes(each.jti),
          );
        expect(await mine()).toEqual(expect.arrayContaining([token, shortLived]));
        clock.advance(MINUTE);
        expect(await mine()).toEqual([token]);
        unsubscribe();
      });

      it('refuses a malformed revocation, or one already expired', async () => {
        await expect(store.revokeToken(revoked({ issuer: 'Not A Name' }))).rejects.toThrow(
          TypeError,
        );
        await expect(store.revokeToken(revoked({ jti: '' }))).rejects.toThrow(TypeError);
        await expect(store.revokeToken(revoked({ until: time }))).rejects.toThrow(RangeError);
      });
    });

    describe('LoginStateStore', () => {
      let store: LoginStateStore;
      beforeEach(() => {
        store = harness.store;
      });

      it('hands out login state once, even to concurrent callbacks', async () => {
        const state = issueTicket().id;
        await store.putLoginState(state, '{"verifier":"v","nonce":"n"}', 5 * MINUTE);
        expect(await store.takeLoginState(state)).toBe('{"verifier":"v","nonce":"n"}');
        expect(await store.takeLoginState(state)).toBeNull();

        const raced = issueTicket().id;
        await store.putLoginState(raced, 'state-value', 5 * MINUTE);
        const results = await Promise.all(
          Array.from({ length: 10 }, () => store.takeLoginState(raced)),
        );
        expect(results.filter((result) => result === 'state-value')).toHaveLength(1);
        expect(results.filter((result) => result === null)).toHaveLength(9);
        expect(await store.takeLoginState(issueTicket().id)).toBeNull();
      });

      it('bounds pending login states; taken and expired ones stop counting', async () => {
        // Earlier tests' login states are all past their TTL from here on.
        clock.advance(24 * 60 * MINUTE);
        const ttl = 5 * MINUTE;
        const bounded = { maxPending: 3 };
        const [first, second, third, fourth, fifth] = Array.from(
          { length: 5 },
          () => issueTicket().id,
        ) as [string, string, string, string, string];
        for (const state of [first, second, third]) {
          expect(await store.putLoginState(state, 'v', ttl, bounded)).toEqual({ stored: true });
        }
        clock.advance(MINUTE);
        // Full: nothing is written, and the oldest pending one expires in 4 minutes.
        expect(await store.putLoginState(fourth, 'v', ttl, bounded)).toEqual({
          stored: false,
          retryAfterMs: 4 * MINUTE,
        });
        expect(await store.takeLoginState(fourth)).toBeNull();
        // Unbounded puts are still counted, and always stored.
        expect(await store.putLoginState(fifth, 'v', ttl)).toEqual({ stored: true });
        expect(await store.takeLoginState(fifth)).toBe('v');
        // A callback that takes its state frees a place.
        expect(await store.takeLoginState(first)).toBe('v');
        expect(await store.putLoginState(fourth, 'v', ttl, bounded)).toEqual({ stored: true });
        expect(await store.putLoginState(issueTicket().id, 'v', ttl, bounded)).toMatchObject({
          stored: false,
        });
        // Expired ones do not count.
        clock.advance(ttl);
        expect(await store.putLoginState(issueTicket().id, 'v', ttl, { maxPending: 1 })).toEqual({
          stored: true,
        });
      });

      it('counts sign-in starts per client in fixed windows of the injected clock', async () => {
        const window = MINUTE;
        // Start on a window boundary, so the reset time is exact.
        clock.advance(window - (clock.now() % window));
        const client = `198.51.100.${String(Math.floor(Math.random() * 250))}`;
        expect(await store.countSignInStart(client, window)).toEqual({
          count: 1,
          resetInMs: window,
        });
        clock.advance(10_000);
        expect(await store.countSignInStart(client, window)).toEqual({
          count: 2,
          resetInMs: window - 10_000,
        });
        expect(await store.countSignInStart(`${client}0`, window)).toMatchObject({ count: 1 });
        clock.advance(window - 10_000);
        expect(await store.countSignInStart(client, window)).toEqual({
          count: 1,
          resetInMs: window,
        });
      });
    });

    describe('Locks', () => {
      let store: Locks;
      beforeEach(() => {
        store = harness.store;
      });

      it('lets one holder at a time run under a lock, and frees it after', async () => {
        const name = `refresh:${issueTicket().id}`;
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        let runs = 0;
        const first = store.withLock(name, 10_000, async () => {
          runs += 1;
          await gate;
          return 'first';
        });
        // Let the first acquire before the second tries.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const second = await store.withLock(name, 10_000, () => {
          runs += 1;
          return Promise.resolve('second');
        });
        expect(second).toBe(LOCK_BUSY);
        release();
        expect(await first).toBe('first');
        expect(runs).toBe(1);

        await expect(
          store.withLock(name, 10_000, () => Promise.reject(new Error('refresh failed'))),
        ).rejects.toThrow('refresh failed');
        expect(await store.withLock(name, 10_000, () => Promise.resolve('again'))).toBe('again');
      });
    });

    describe('ReplayGuard', () => {
      let store: ReplayGuard;
      beforeEach(() => {
        store = harness.store;
      });

      it('remembers an id once per namespace (replay guard)', async () => {
        const jti = issueTicket().id;
        expect(await store.rememberOnce('logout-jti', jti, 5 * MINUTE)).toBe(true);
        expect(await store.rememberOnce('logout-jti', jti, 5 * MINUTE)).toBe(false);
        expect(await store.rememberOnce('other-ns', jti, 5 * MINUTE)).toBe(true);
      });
    });

    describe('RevocationBus', () => {
      let store: RevocationBus;
      beforeEach(() => {
        store = harness.store;
      });

      it('delivers revocations to another replica within a second', async () => {
        const replica = await harness.replica();
        const received: string[] = [];
        let notify: () => void = () => undefined;
        const arrived = new Promise<void>((resolve) => {
          notify = resolve;
        });
        const unsubscribe = replica.onRevocation((keys) => {
          received.push(...keys);
          notify();
        });
        await replica.revocationsReady();
        const person = newUser();
        const one = await login({}, person);
        const two = await login({}, person);
        const started = Date.now();
        await sessions.deleteByUser(`corp-idp\u0000${person.subject}`);
        await arrived;
        expect(Date.now() - started).toBeLessThan(1000);
        expect(received.sort()).toEqual([one.key, two.key].sort());
        unsubscribe();
      });

      it('delivers a published revocation to every replica, this one included', async () => {
        const replica = await harness.replica();
        const keys = [sessionKeyOf(issueTicket().id), sessionKeyOf(issueTicket().id)];
        const seenHere: string[] = [];
        const seenThere: string[] = [];
        let notify: () => void = () => undefined;
        const arrived = new Promise<void>((resolve) => {
          notify = resolve;
        });
        const settle = () => {
          if (seenHere.length >= keys.length && seenThere.length >= keys.length) notify();
        };
        const unsubscribeHere = store.onRevocation((ended) => {
          seenHere.push(...ended);
          settle();
        });
        const unsubscribeThere = replica.onRevocation((ended) => {
          seenThere.push(...ended);
          settle();
        });
        await Promise.all([store.revocationsReady(), replica.revocationsReady()]);
        await store.publishRevocation(keys);
        await arrived;
        expect(seenHere.sort()).toEqual([...keys].sort());
        expect(seenThere.sort()).toEqual([...keys].sort());
        unsubscribeHere();
        unsubscribeThere();
      });
    });

    describe('StoreLifecycle', () => {
      let store: StoreLifecycle;
      beforeEach(() => {
        store = harness.store;
      });

      it('answers ping while the backend is reachable', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });
  });
}
