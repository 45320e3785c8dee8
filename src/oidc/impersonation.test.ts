import { describe, expect, it } from 'vitest';
import type { Identity } from '../authz/identity.ts';
import type { Session } from '../sessions/session.ts';
import { Impersonation, parseImpersonationTarget } from './impersonation.ts';

/** Roles by user name, as ClusterRoleMappings with `User` subjects would grant them. */
const grants: Record<string, readonly string[]> = {
  alice: ['impersonator'],
  root: ['impersonator', 'admin'],
  carol: ['admin'],
};
const rules = new Impersonation({
  role: 'impersonator',
  superRole: 'admin',
  rolesOf: (identity) => ['guest', 'authenticated', ...(grants[identity.user] ?? [])],
});

function session(user: string, impersonating?: string): Session {
  return {
    key: 'k'.repeat(43),
    provider: 'dev',
    subject: `${user}-sub`,
    userKey: `dev\u0000${user}-sub`,
    identity: { user, groups: ['staff'], claims: {} },
    tokens: { accessToken: 'at' },
    createdAt: 0,
    absoluteExpiresAt: 10_000_000,
    idleExpiresAt: 5_000_000,
    ...(impersonating === undefined
      ? {}
      : { impersonation: { user: impersonating, startedAt: 1 } }),
  };
}

function person(user: string): Identity {
  return {
    subject: user,
    user,
    groups: [],
    claims: {},
    provider: 'impersonation',
    method: 'session',
  };
}

describe('Impersonation.refusal', () => {
  it('lets a holder of the role act as an ordinary user', () => {
    expect(rules.refusal(person('alice'), person('bob'))).toBeNull();
  });

  it('refuses someone without the role', () => {
    expect(rules.refusal(person('bob'), person('dave'))).toBe('not-impersonator');
  });

  it('refuses a super-role target unless the actor holds the super role too', () => {
    expect(rules.refusal(person('alice'), person('carol'))).toBe('super-role-target');
    expect(rules.refusal(person('root'), person('carol'))).toBeNull();
  });

  it('refuses acting as oneself', () => {
    expect(rules.refusal(person('alice'), person('alice'))).toBe('self');
  });
});

describe('Impersonation.effectiveIdentity', () => {
  it('is the session user when nobody is impersonated', () => {
    const identity = rules.effectiveIdentity(session('alice'));
    expect(identity.user).toBe('alice');
    expect(identity.actor).toBeUndefined();
  });

  it('is the target, without groups, naming the real user as actor', () => {
    const identity = rules.effectiveIdentity(session('alice', 'bob'));
    expect(identity).toMatchObject({
      user: 'bob',
      subject: 'bob',
      groups: [],
      provider: 'impersonation',
      actor: { user: 'alice', subject: 'alice-sub', provider: 'dev' },
      sessionId: 'k'.repeat(43),
    });
  });

  it('falls back to the real user once the actor no longer may impersonate', () => {
    // bob holds no role: an impersonation stored for him (role since removed) stops applying.
    const identity = rules.effectiveIdentity(session('bob', 'dave'));
    expect(identity.user).toBe('bob');
    expect(identity.actor).toBeUndefined();
  });
});

describe('parseImpersonationTarget', () => {
  it('trims and accepts a user with an optional e-mail address', () => {
    expect(parseImpersonationTarget(' bob ', '')).toEqual({ user: 'bob' });
    expect(parseImpersonationTarget('bob', 'bob@example.com')).toEqual({
      user: 'bob',
      email: 'bob@example.com',
    });
  });

  it.each([
    [null, null],
    ['', null],
    ['bob\r\nX-Admin: 1', null],
    ['bob', 'not-an-address'],
    ['x'.repeat(257), null],
  ])('refuses user %j with e-mail %j', (user, email) => {
    expect(parseImpersonationTarget(user, email)).toBeNull();
  });
});
