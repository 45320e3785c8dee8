import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTicket, issueTicket, parseTicket, sessionKeyOf } from './ticket.ts';

describe('session tickets', () => {
  it('issues v1.<id>.<secret> with 256-bit parts that parse back', () => {
    const ticket = issueTicket();
    expect(ticket.text).toMatch(/^v1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(ticket.id, 'base64url')).toHaveLength(32);
    expect(Buffer.from(ticket.secret, 'base64url')).toHaveLength(32);
    expect(parseTicket(ticket.text)).toEqual({ id: ticket.id, secret: ticket.secret });
    expect(issueTicket().id).not.toBe(ticket.id);
  });

  it('takes its randomness from the injected source', () => {
    let calls = 0;
    const ticket = issueTicket({
      randomBytes: (size) => Buffer.alloc(size, ++calls),
    });
    expect(ticket.id).toBe(Buffer.alloc(32, 1).toString('base64url'));
    expect(ticket.secret).toBe(Buffer.alloc(32, 2).toString('base64url'));
    expect(() => issueTicket({ randomBytes: () => Buffer.alloc(8) })).toThrow(RangeError);
  });

  it('rejects anything but the exact format', () => {
    const { id, secret, text } = issueTicket();
    const rejected: unknown[] = [
      undefined,
      null,
      42,
      '',
      `v2.${id}.${secret}`,
      `V1.${id}.${secret}`,
      `${text}=`,
      ` ${text}`,
      `v1.${id}.${secret.slice(1)}`,
      `v1.${id}${secret}`,
      `v1.${id}.${secret}.x`,
      `v1.${id.slice(0, 42)}+.${secret}`,
      `v1.${id.slice(0, 42)}/.${secret}`,
      // Non-canonical last character: the same bytes spelled differently.
      `v1.${nonCanonical(id)}.${secret}`,
      `v1.${id}.${nonCanonical(secret)}`,
      `v1.${id}.${secret.slice(0, 42)}é`,
      'v1.' + 'A'.repeat(10_000_000),
    ];
    for (const value of rejected) expect(parseTicket(value)).toBeNull();
  });

  it('accepts the canonical spelling only', () => {
    const { id, secret } = issueTicket();
    expect(Buffer.from(nonCanonical(id), 'base64url')).toEqual(Buffer.from(id, 'base64url'));
    expect(parseTicket(`v1.${nonCanonical(id)}.${secret}`)).toBeNull();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 200 }), fc.anything()),
        (value) => {
          const parsed = parseTicket(value);
          return parsed === null || formatTicket(parsed) === value;
        },
      ),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^v1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/), (value) => {
        const parsed = parseTicket(value);
        // Canonical spellings round-trip through bytes; the others are refused.
        const canonical =
          parsed !== null &&
          Buffer.from(parsed.id, 'base64url').toString('base64url') === parsed.id &&
          Buffer.from(parsed.secret, 'base64url').toString('base64url') === parsed.secret;
        return parsed === null || canonical;
      }),
      { numRuns: 2000 },
    );
  });

  it('stores ids only as a SHA-256 digest', () => {
    const { id } = issueTicket();
    const key = sessionKeyOf(id);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key).not.toBe(id);
    expect(sessionKeyOf(id)).toBe(key);
    expect(sessionKeyOf(issueTicket().id)).not.toBe(key);
  });
});

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same 32 bytes with the last character's unused low bits set. */
function nonCanonical(part: string): string {
  const last = ALPHABET.indexOf(part.slice(-1));
  return part.slice(0, -1) + ALPHABET.charAt(last + 1);
}
