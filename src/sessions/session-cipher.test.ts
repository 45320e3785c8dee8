import { describe, expect, it } from 'vitest';
import { openSessionRecord, sealSessionRecord } from './session-cipher.ts';
import { issueTicket, sessionKeyOf } from './ticket.ts';

describe('session cipher', () => {
  const ticket = issueTicket();
  const storageKey = sessionKeyOf(ticket.id);
  const record = { user: 'alice@example.com', tokens: { refreshToken: 'rt-123' } };
  const options = { secret: ticket.secret, storageKey };

  it('opens what it sealed, and hides the content', () => {
    const sealed = sealSessionRecord(record, options);
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(sealed).not.toContain('alice');
    expect(Buffer.from(sealed.slice(3), 'base64url').toString('latin1')).not.toContain('rt-123');
    expect(openSessionRecord(sealed, options)).toEqual(record);
  });

  it('uses a fresh IV each time, so equal records seal differently', () => {
    expect(sealSessionRecord(record, options)).not.toBe(sealSessionRecord(record, options));
    const fixed = { ...options, randomBytes: (size: number) => Buffer.alloc(size, 7) };
    expect(sealSessionRecord(record, fixed)).toBe(sealSessionRecord(record, fixed));
  });

  it('refuses another secret or another storage key', () => {
    const sealed = sealSessionRecord(record, options);
    expect(openSessionRecord(sealed, { ...options, secret: issueTicket().secret })).toBeNull();
    expect(
      openSessionRecord(sealed, { ...options, storageKey: sessionKeyOf(issueTicket().id) }),
    ).toBeNull();
  });

  it('refuses any flipped bit, truncation or foreign format without throwing', () => {
    const sealed = sealSessionRecord(record, options);
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    for (let position = 0; position < bytes.length; position += 1) {
      const tampered = Buffer.from(bytes);
      tampered[position] = (tampered[position] ?? 0) ^ 0x01;
      expect(openSessionRecord(`v1.${tampered.toString('base64url')}`, options)).toBeNull();
    }
    for (const garbage of [
      sealed.slice(0, -4),
      sealed.slice(0, 10),
      'v1.',
      'v2' + sealed.slice(2),
      sealed.slice(3),
      '',
      null,
      42,
      'v1.' + 'A'.repeat(2_000_000),
    ]) {
      expect(openSessionRecord(garbage, options)).toBeNull();
    }
  });
});
