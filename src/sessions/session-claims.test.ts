import { describe, expect, it } from 'vitest';
import { boundClaims } from './session-claims.ts';

describe('boundClaims', () => {
  it('keeps user facts and drops protocol claims and structured values', () => {
    const kept = boundClaims({
      iss: 'https://idp',
      nonce: 'n',
      at_hash: 'h',
      sid: 's',
      department: 'sales',
      level: 3,
      verified: true,
      roles: ['a', 'b'],
      address: { street: 'x' },
      mixed: ['a', 1],
      infinite: Number.POSITIVE_INFINITY,
    });
    expect(kept).toEqual({ department: 'sales', level: 3, verified: true, roles: ['a', 'b'] });
  });

  it('stays within the count, size and list limits', () => {
    const many = Object.fromEntries(
      Array.from({ length: 100 }, (_, index) => [`c${String(index)}`, 'x'.repeat(50)]),
    );
    expect(Object.keys(boundClaims(many, { maxClaims: 5 }))).toHaveLength(5);
    const sized = boundClaims(many, { maxBytes: 500 });
    expect(Buffer.byteLength(JSON.stringify(sized))).toBeLessThanOrEqual(500);
    expect(Object.keys(sized).length).toBeGreaterThan(0);
    const list = boundClaims(
      { groups: Array.from({ length: 500 }, (_, index) => String(index)) },
      { maxListItems: 3 },
    );
    expect(list).toEqual({ groups: ['0', '1', '2'] });
  });
});
