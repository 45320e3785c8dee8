import { describe, expect, it } from 'vitest';
import { identityFromClaims, readClaim, readGroups } from './claim-mapping.ts';

describe('readClaim', () => {
  it('follows a dotted path into nested objects', () => {
    expect(readClaim({ realm_access: { roles: ['a'] } }, 'realm_access.roles')).toEqual(['a']);
  });

  it('prefers a claim whose name contains dots verbatim (namespaced URL claims)', () => {
    const claims = { 'https://example.com/roles': ['x'], https: { nope: true } };
    expect(readClaim(claims, 'https://example.com/roles')).toEqual(['x']);
  });

  it('yields undefined through missing or non-object segments and inherited properties', () => {
    expect(readClaim({ a: 'str' }, 'a.b')).toBeUndefined();
    expect(readClaim({ a: ['x'] }, 'a.length')).toBeUndefined();
    expect(readClaim({}, 'constructor')).toBeUndefined();
    expect(readClaim({ a: {} }, 'a.toString')).toBeUndefined();
  });
});

describe('readGroups', () => {
  it('accepts arrays, dropping non-strings, empties and duplicates', () => {
    expect(readGroups(['a', 1, null, '', 'b', 'a', { x: 1 }])).toEqual(['a', 'b']);
  });

  it('splits a single string on spaces and commas', () => {
    expect(readGroups('ops, dev  qa')).toEqual(['ops', 'dev', 'qa']);
    expect(readGroups('solo')).toEqual(['solo']);
  });

  it('yields no groups for anything else', () => {
    expect(readGroups(undefined)).toEqual([]);
    expect(readGroups(42)).toEqual([]);
    expect(readGroups({ a: 'b' })).toEqual([]);
  });
});

describe('identityFromClaims', () => {
  const names = { username: 'upn', email: 'mail', groups: 'grp', name: 'displayName' };

  it('falls back to the subject when the user-name claim is missing or not a string', () => {
    const identity = identityFromClaims({
      claims: { sub: 's1', upn: 7, mail: ['x'] },
      subject: 's1',
      names,
      provider: 'corp',
      method: 'bearer',
    });
    expect(identity.user).toBe('s1');
    expect(identity).not.toHaveProperty('email');
    expect(identity).not.toHaveProperty('expiresAt');
    expect(identity.groups).toEqual([]);
  });
});
