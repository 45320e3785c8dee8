import { describe, expect, it } from 'vitest';
import { OpenedSessions } from './opened-sessions.ts';
import { sealSessionRecord } from './session-cipher.ts';
import { buildSession, toSessionRecord } from './session.ts';
import { resolveTiming } from './session-timing.ts';
import { issueTicket, sessionKeyOf } from './ticket.ts';

const timing = resolveTiming({ idleTimeoutMs: 3_600_000, absoluteLifetimeMs: 86_400_000 });
const now = 1_765_000_000_000;

function sealed(secret: string, key: string, user = 'ada') {
  const session = buildSession(
    {
      provider: 'corp',
      subject: `sub-${user}`,
      identity: { user, groups: ['dev'], claims: {} },
      tokens: {},
    },
    key,
    now,
    timing,
  );
  return {
    session,
    text: sealSessionRecord(toSessionRecord(session), { secret, storageKey: key }),
  };
}

describe('OpenedSessions', () => {
  const ticket = issueTicket();
  const key = sessionKeyOf(ticket.id);
  const stored = { idleExpiresAt: now + 1000, absoluteExpiresAt: now + 5000 };

  it('opens a record once and hands out the same session for the same record and ticket', () => {
    const opened = new OpenedSessions({ now: () => now });
    const { text } = sealed(ticket.secret, key);
    const first = opened.open(text, ticket, key, stored);
    expect(first?.identity.user).toBe('ada');
    // The stored expiries apply: the idle one as stored, the earlier absolute one.
    expect(first?.idleExpiresAt).toBe(now + 1000);
    expect(first?.absoluteExpiresAt).toBe(now + 5000);
    expect(opened.open(text, ticket, key, stored)).toBe(first);
  });

  it('never serves an opened session to a ticket with another secret', () => {
    const opened = new OpenedSessions({ now: () => now });
    const { text } = sealed(ticket.secret, key);
    expect(opened.open(text, ticket, key, stored)).not.toBeNull();
    const forged = { id: ticket.id, secret: issueTicket().secret };
    expect(opened.open(text, forged, key, stored)).toBeNull();
  });

  it('recognises an unchanged record read as bytes, and keeps no view of the reply', () => {
    const opened = new OpenedSessions({ now: () => now });
    const { text } = sealed(ticket.secret, key);
    // A reply Buffer is often a view into a larger socket read.
    const reply = Buffer.from(`*3\r\n$${String(text.length)}\r\n${text}\r\n`);
    const start = reply.indexOf(text);
    const view = reply.subarray(start, start + text.length);
    const first = opened.open(view, ticket, key, stored);
    expect(first?.identity.user).toBe('ada');
    reply.fill(0);
    expect(opened.open(Buffer.from(text), ticket, key, stored)).toBe(first);
    // Another secret of the same length still goes through the full open, which refuses it.
    const forged = { id: ticket.id, secret: issueTicket().secret };
    expect(opened.open(Buffer.from(text), forged, key, stored)).toBeNull();
  });

  it('opens a re-sealed record, another key or slid expiries afresh', () => {
    const opened = new OpenedSessions({ now: () => now });
    const before = opened.open(sealed(ticket.secret, key).text, ticket, key, stored);
    const updated = opened.open(sealed(ticket.secret, key, 'grace').text, ticket, key, stored);
    expect(updated?.identity.user).toBe('grace');
    expect(updated).not.toBe(before);
    const slid = opened.open(sealed(ticket.secret, key).text, ticket, key, {
      ...stored,
      idleExpiresAt: now + 2000,
    });
    expect(slid?.idleExpiresAt).toBe(now + 2000);
    // A record copied under another storage key does not open there (the AAD binds it).
    const other = sessionKeyOf(issueTicket().id);
    expect(opened.open(sealed(ticket.secret, key).text, ticket, other, stored)).toBeNull();
  });

  it('forgets a session once its absolute lifetime is over', () => {
    let clock = now;
    const opened = new OpenedSessions({ now: () => clock });
    const { text } = sealed(ticket.secret, key);
    const first = opened.open(text, ticket, key, stored);
    clock = now + 6000;
    const again = opened.open(text, ticket, key, stored);
    expect(again).not.toBe(first);
    expect(again?.identity.user).toBe('ada');
  });
});
