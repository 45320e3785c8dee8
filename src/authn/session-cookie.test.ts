import { describe, expect, it } from 'vitest';
import type { AuthRequest } from '../authz/auth-request.ts';
import { DependencyError } from '../errors.ts';
import { Metrics } from '../metrics/metrics.ts';
import { MemorySessionStore } from '../sessions/memory/memory-store.ts';
import { SessionCache } from '../sessions/session-cache.ts';
import type { SessionBackend } from '../sessions/session-backend.ts';
import type { NewSession, Session } from '../sessions/session.ts';
import { issueTicket } from '../sessions/ticket.ts';
import { SessionCookieAuthenticator, type SessionRefresher } from './session-cookie.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';

const HOUR = 60 * 60 * 1000;

const request = (cookie?: string): AuthRequest =>
  authRequest({ requestId: 'r', ...(cookie === undefined ? {} : { cookie }) });

const fields: NewSession = {
  provider: 'dev',
  subject: 'alice-0001',
  identity: {
    user: 'alice',
    email: 'alice@example.com',
    name: 'Alice Admin',
    groups: ['admins', 'staff'],
    claims: { department: 'engineering' },
  },
  tokens: { accessToken: 'at', refreshToken: 'rt', accessTokenExpiresAt: Date.now() + HOUR },
};

function setup(refresher?: SessionRefresher) {
  let now = Date.now();
  const store = new MemorySessionStore({
    idleTimeoutMs: HOUR,
    absoluteLifetimeMs: 8 * HOUR,
    now: () => now,
  });
  const metrics = new Metrics({ collectProcessMetrics: false });
  const authenticator = new SessionCookieAuthenticator({
    store,
    cookieName: '_gatehouse',
    metrics,
    refresher,
  });
  const stale = async () =>
    (await metrics.authentications.get()).values.find((value) => value.labels.result === 'stale')
      ?.value ?? 0;
  return {
    store,
    authenticator,
    stale,
    advance: (ms: number) => {
      now += ms;
    },
    signIn: async () => {
      const ticket = issueTicket();
      const session = await store.create(fields, ticket);
      return { ticket, session };
    },
  };
}

describe('SessionCookieAuthenticator', () => {
  it('identifies the user of a live session', async () => {
    const { authenticator, signIn } = setup();
    const { ticket, session } = await signIn();
    const result = await authenticator.authenticate(request(`other=1; _gatehouse=${ticket.text}`));
    expect(result).toEqual({
      kind: 'identified',
      identity: {
        subject: 'alice-0001',
        user: 'alice',
        email: 'alice@example.com',
        name: 'Alice Admin',
        groups: ['admins', 'staff'],
        claims: { department: 'engineering' },
        provider: 'dev',
        method: 'session',
        sessionId: session.key,
        expiresAt: Math.floor(session.idleExpiresAt / 1000),
      },
    });
  });

  it('is absent without a cookie, and does not count that as stale', async () => {
    const { authenticator, stale } = setup();
    expect(await authenticator.authenticate(request())).toEqual({ kind: 'absent' });
    expect(await authenticator.authenticate(request('_gatehouse_login=x; other=y'))).toEqual({
      kind: 'absent',
    });
    expect(await stale()).toBe(0);
  });

  it('treats malformed, unknown, wrong-secret, revoked and expired cookies as anonymous, and counts them', async () => {
    const { authenticator, store, signIn, stale, advance } = setup();
    const { ticket, session } = await signIn();
    const wrongSecret = `v1.${ticket.id}.${issueTicket().secret}`;
    for (const cookie of [
      '_gatehouse=garbage',
      `_gatehouse=${issueTicket().text}`,
      `_gatehouse=${wrongSecret}`,
      `_gatehouse=${'x'.repeat(5000)}`,
    ]) {
      expect(await authenticator.authenticate(request(cookie))).toEqual({ kind: 'absent' });
    }
    expect(await stale()).toBe(4);

    const revoked = await signIn();
    await store.delete(revoked.session.key);
    expect(await authenticator.authenticate(request(`_gatehouse=${revoked.ticket.text}`))).toEqual({
      kind: 'absent',
    });

    expect((await authenticator.authenticate(request(`_gatehouse=${ticket.text}`))).kind).toBe(
      'identified',
    );
    advance(session.absoluteExpiresAt - session.createdAt + 1);
    expect(await authenticator.authenticate(request(`_gatehouse=${ticket.text}`))).toEqual({
      kind: 'absent',
    });
    expect(await stale()).toBe(6);
  });

  it('uses the first live session among several cookies of the name', async () => {
    const { authenticator, signIn } = setup();
    const { ticket, session } = await signIn();
    const result = await authenticator.authenticate(
      request(`_gatehouse=${issueTicket().text}; _gatehouse=broken; _gatehouse=${ticket.text}`),
    );
    expect(result.kind === 'identified' ? result.identity.sessionId : null).toBe(session.key);
  });

  it('lets a store outage propagate instead of answering anonymous (fail closed)', async () => {
    const failing = {
      get: () => Promise.reject(new DependencyError('redis', 'down')),
    } as unknown as SessionBackend;
    const authenticator = new SessionCookieAuthenticator({
      store: failing,
      cookieName: '_gatehouse',
      metrics: new Metrics({ collectProcessMetrics: false }),
    });
    await expect(
      authenticator.authenticate(request(`_gatehouse=${issueTicket().text}`)),
    ).rejects.toBeInstanceOf(DependencyError);
  });

  it('refreshes only when the refresher asks for it, and a session ended by refresh is anonymous', async () => {
    const calls: string[] = [];
    let outcome: 'keep' | 'end' = 'keep';
    const refresher: SessionRefresher = {
      needsRefresh: (session) => session.identity.user === 'alice' && outcome !== 'keep',
      refreshSession: (_ticket, session: Session) => {
        calls.push(session.key);
        return Promise.resolve(null);
      },
    };
    const { authenticator, signIn } = setup(refresher);
    const { ticket } = await signIn();
    expect((await authenticator.authenticate(request(`_gatehouse=${ticket.text}`))).kind).toBe(
      'identified',
    );
    expect(calls).toEqual([]);
    outcome = 'end';
    expect(await authenticator.authenticate(request(`_gatehouse=${ticket.text}`))).toEqual({
      kind: 'absent',
    });
    expect(calls).toHaveLength(1);
  });

  describe('behind the per-replica cache', () => {
    function cached(refresher?: SessionRefresher) {
      const base = setup();
      const cache = new SessionCache({ store: base.store, ttlMs: 60_000 });
      const authenticator = new SessionCookieAuthenticator({
        store: cache,
        cookieName: '_gatehouse',
        metrics: new Metrics({ collectProcessMetrics: false }),
        refresher,
      });
      return { ...base, cache, authenticator };
    }

    it('answers a session the cache holds without waiting, and the same as a first read', async () => {
      const { authenticator, signIn } = cached();
      const { ticket } = await signIn();
      const first = authenticator.authenticate(request(`_gatehouse=${ticket.text}`));
      expect(first).toBeInstanceOf(Promise);
      const read = await first;
      const again = authenticator.authenticate(request(`_gatehouse=${ticket.text}`));
      expect(again).not.toBeInstanceOf(Promise);
      expect(again).toEqual(read);
      expect(read.kind).toBe('identified');
    });

    it('takes the full path when the first cookie is not the cached one', async () => {
      const { authenticator, signIn } = cached();
      const { ticket, session } = await signIn();
      await authenticator.authenticate(request(`_gatehouse=${ticket.text}`));
      const cookie = `_gatehouse=${issueTicket().text}; _gatehouse=${ticket.text}`;
      const result = authenticator.authenticate(request(cookie));
      expect(result).toBeInstanceOf(Promise);
      const settled = await result;
      expect(settled.kind === 'identified' ? settled.identity.sessionId : null).toBe(session.key);
    });

    it('takes the full path when a refresh is due, and a revoked session is not served', async () => {
      let due = false;
      const refreshed: string[] = [];
      const { authenticator, signIn, store } = cached({
        needsRefresh: () => due,
        refreshSession: (_ticket, session) => {
          refreshed.push(session.key);
          return Promise.resolve(session);
        },
      });
      const { ticket, session } = await signIn();
      await authenticator.authenticate(request(`_gatehouse=${ticket.text}`));
      due = true;
      expect((await authenticator.authenticate(request(`_gatehouse=${ticket.text}`))).kind).toBe(
        'identified',
      );
      expect(refreshed).toEqual([session.key]);
      due = false;
      await store.deleteByUser(session.userKey);
      expect(await authenticator.authenticate(request(`_gatehouse=${ticket.text}`))).toEqual({
        kind: 'absent',
      });
    });
  });
});
