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

  it('keeps array items exactly as issued (no trimming: "admins " is not "admins")', () => {
    expect(readGroups(['admins ', ' staff', 'admins'])).toEqual(['admins ', ' staff', 'admins']);
  });

  it('takes a string claim as ONE group unless a separator is configured', () => {
    expect(readGroups('Domain admins')).toEqual(['Domain admins']);
    expect(readGroups('ops, dev')).toEqual(['ops, dev']);
    expect(readGroups('')).toEqual([]);
  });

  it('splits a string claim only on the configured separator, exactly', () => {
    expect(readGroups('ops,dev qa,,ops', ',')).toEqual(['ops', 'dev qa']);
    expect(readGroups('ops, dev', ',')).toEqual(['ops', ' dev']);
    // The separator never applies to array items: an item may contain it ("sales,emea").
    expect(readGroups(['sales,emea'], ',')).toEqual(['sales,emea']);
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

  it('keeps the e-mail address only when email_verified is true (OIDC Core §5.1)', () => {
    const base = { sub: 's1', upn: 'alice', mail: 'alice@example.com' };
    const of = (claims: Record<string, unknown>, allowUnverifiedEmail?: boolean) =>
      identityFromClaims({
        claims,
        subject: 's1',
        names,
        provider: 'corp',
        method: 'bearer',
        ...(allowUnverifiedEmail === undefined ? {} : { allowUnverifiedEmail }),
      });
    expect(of(base)).not.toHaveProperty('email');
    expect(of({ ...base, email_verified: false })).not.toHaveProperty('email');
    expect(of({ ...base, email_verified: 'yes' })).not.toHaveProperty('email');
    // Nor through the raw claims (`Claim` subjects, `claim:` headers).
    expect(of({ ...base, email_verified: false }).claims).not.toHaveProperty('mail');
    expect(of({ ...base, email_verified: true }).email).toBe('alice@example.com');
    expect(of({ ...base, email_verified: true }).claims['mail']).toBe('alice@example.com');
    expect(of(base, true).email).toBe('alice@example.com');
  });

  it('reads groups through the configured separator only', () => {
    const identity = identityFromClaims({
      claims: { sub: 's1', grp: 'Domain admins' },
      subject: 's1',
      names,
      provider: 'corp',
      method: 'bearer',
    });
    expect(identity.groups).toEqual(['Domain admins']);
    const split = identityFromClaims({
      claims: { sub: 's1', grp: 'a;b' },
      subject: 's1',
      names: { ...names, groupsSeparator: ';' },
      provider: 'corp',
      method: 'bearer',
    });
    expect(split.groups).toEqual(['a', 'b']);
  });
});
