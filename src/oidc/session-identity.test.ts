import { describe, expect, it } from 'vitest';
import { sessionIdentityFromClaims } from './session-identity.ts';

const names = { username: 'preferred_username', email: 'email', name: 'name', groups: 'groups' };
const claims = {
  sub: 's-1',
  preferred_username: 'pat',
  org: { id: 'partner-ltd', name: 'Partner Ltd' },
  organisation: 'not-this-one',
};

describe('sessionIdentityFromClaims: the organisation', () => {
  it('reads claims.organisation and claims.organisationName (dotted paths allowed)', () => {
    const identity = sessionIdentityFromClaims(
      claims,
      { ...names, organisation: 'org.id', organisationName: 'org.name' },
      's-1',
    );
    expect(identity.organisation).toBe('partner-ltd');
    expect(identity.organisationName).toBe('Partner Ltd');
  });

  it('has no organisation unless the provider names its claim', () => {
    const identity = sessionIdentityFromClaims(claims, names, 's-1');
    expect(identity.organisation).toBeUndefined();
    expect(identity.organisationName).toBeUndefined();
    expect(
      sessionIdentityFromClaims(claims, { ...names, organisation: undefined }, 's-1'),
    ).not.toHaveProperty('organisation');
  });
});
