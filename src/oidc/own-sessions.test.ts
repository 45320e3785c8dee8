import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/audit-log.ts';
import { Metrics } from '../metrics/metrics.ts';
import { memorySessionsOnClock } from '../../test/fixtures/builders/memory-sessions.ts';
import type { Session } from '../sessions/session.ts';
import { issueTicket, type SessionTicket } from '../sessions/ticket.ts';
import { endAllOwnSessions, endOwnSession, listOwnSessions } from './own-sessions.ts';

const MINUTE = 60_000;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

function setup() {
  const { store, advance } = memorySessionsOnClock({ absoluteLifetimeMs: 8 * 60 * MINUTE });
  const metrics = new Metrics({ collectProcessMetrics: false });
  const events: AuditEvent[] = [];
  const audit = { record: (event: AuditEvent) => events.push(event) };
  const revoked: string[] = [];
  store.onRevocation((keys) => revoked.push(...keys));
  async function signIn(
    subject: string,
    userAgent?: string,
    provider = 'corp',
  ): Promise<{ session: Session; ticket: SessionTicket }> {
    const ticket = issueTicket();
    const session = await store.create(
      {
        provider,
        subject,
        identity: { user: subject, groups: [], claims: {} },
        tokens: {},
        ...(userAgent === undefined ? {} : { userAgent }),
      },
      ticket,
    );
    return { session, ticket };
  }
  const revocations = async () =>
    (await metrics.sessionRevocations.get()).values.find(
      (value) => value.labels.source === 'self-service',
    )?.value ?? 0;
  return {
    store,
    dependencies: { store, metrics, audit },
    events,
    revoked,
    signIn,
    revocations,
    advance,
  };
}

describe('own sessions (the portal)', () => {
  it("lists the person's sessions at this provider, marking this browser's", async () => {
    const { store, signIn, advance } = setup();
    const laptop = await signIn('alice', FIREFOX);
    advance(5 * MINUTE);
    const phone = await signIn('alice', IPHONE);
    await signIn('alice', FIREFOX, 'partner'); // another account: another provider
    await signIn('bob', FIREFOX);

    const listed = await listOwnSessions(store, laptop.session);
    expect(listed.map((each) => [each.key, each.current, each.userAgent])).toEqual([
      [phone.session.key, false, 'Safari on iOS'],
      [laptop.session.key, true, 'Firefox on Linux'],
    ]);
    expect(listed.every((each) => each.provider === 'corp')).toBe(true);
  });

  it("ends one of their own sessions, everywhere, and nobody else's", async () => {
    const { dependencies, store, signIn, events, revoked, revocations } = setup();
    const laptop = await signIn('alice', FIREFOX);
    const phone = await signIn('alice', IPHONE);
    const bobs = await signIn('bob', FIREFOX);

    expect(await endOwnSession(dependencies, laptop.session, bobs.session.key, 'req-1')).toBe(
      false,
    );
    expect(await store.get(bobs.ticket)).not.toBeNull();
    expect(events).toEqual([]);

    expect(await endOwnSession(dependencies, laptop.session, phone.session.key, 'req-2')).toBe(
      true,
    );
    expect(await store.get(phone.ticket)).toBeNull();
    expect(await store.get(laptop.ticket)).not.toBeNull();
    expect(revoked).toEqual([phone.session.key]);
    expect(await revocations()).toBe(1);
    expect(events).toEqual([
      {
        event: 'revocation',
        source: 'self-service',
        provider: 'corp',
        sessions: 1,
        by: 'session',
        requestId: 'req-2',
        sessionId: laptop.session.key,
        user: 'alice',
      },
    ]);
    // Already ended: the same answer as someone else's.
    expect(await endOwnSession(dependencies, laptop.session, phone.session.key, 'req-3')).toBe(
      false,
    );
  });

  it("ends all their sessions, or all but this browser's", async () => {
    const { dependencies, store, signIn, events, revocations } = setup();
    const laptop = await signIn('alice', FIREFOX);
    const phone = await signIn('alice', IPHONE);
    const tablet = await signIn('alice');
    const bobs = await signIn('bob');

    expect(
      await endAllOwnSessions(dependencies, laptop.session, 'req-1', { keepCurrent: true }),
    ).toBe(2);
    expect(await store.get(laptop.ticket)).not.toBeNull();
    expect(await store.get(phone.ticket)).toBeNull();
    expect(await store.get(tablet.ticket)).toBeNull();

    expect(
      await endAllOwnSessions(dependencies, laptop.session, 'req-2', { keepCurrent: false }),
    ).toBe(1);
    expect(await store.get(laptop.ticket)).toBeNull();
    expect(await store.get(bobs.ticket)).not.toBeNull();
    expect(await revocations()).toBe(3);
    expect(
      events.map((event) => event.event === 'revocation' && [event.by, event.sessions]),
    ).toEqual([
      ['user', 2],
      ['user', 1],
    ]);
  });
});
