/**
 * The impersonation guard (issue 15, finding 4), with real sessions in Redis behind the
 * per-replica cache (5 s TTL, as deployed) and real policy snapshots:
 * - a target holding the super role through a group, a namespaced RoleMapping or an e-mail
 *   subject cannot be impersonated by a non-super impersonator;
 * - the impersonation's right is re-evaluated on every check, not once per cached record;
 * - an impersonation that lost its right is ended in the store, so restoring the role later does
 *   not revive it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthRequest } from '../../../src/authz/auth-request.ts';
import { SessionCookieAuthenticator } from '../../../src/authn/session-cookie.ts';
import type { Identity } from '../../../src/authz/identity.ts';
import { Metrics } from '../../../src/metrics/metrics.ts';
import { Impersonation, impersonatedIdentity } from '../../../src/oidc/impersonation.ts';
import { identityOfSession } from '../../../src/authn/session-identity.ts';
import type { PolicyResource } from '../../../src/policy/resources.ts';
import { buildSnapshot, type PolicySnapshot } from '../../../src/policy/snapshot.ts';
import type { SessionCache } from '../../../src/sessions/session-cache.ts';
import { formatTicket, issueTicket } from '../../../src/sessions/ticket.ts';
import { flushPrefix, redisStore } from '../sign-in/harness.ts';

const prefix = `gatehouse-test:impersonation-guard:${randomUUID()}:`;

function mapping(
  name: string,
  roles: string[],
  subjects: Record<string, unknown>[],
  namespace?: string,
): PolicyResource {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: namespace === undefined ? 'ClusterRoleMapping' : 'RoleMapping',
    metadata: {
      name,
      ...(namespace === undefined ? {} : { namespace }),
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
    spec: { roles, subjects },
  } as unknown as PolicyResource;
}

const support = mapping('support', ['impersonator'], [{ kind: 'User', name: 'alice' }]);
const others = [
  mapping('root', ['admin', 'impersonator'], [{ kind: 'User', name: 'root' }]),
  mapping('shop-admins', ['admin'], [{ kind: 'User', name: 'dave' }], 'shop'),
];
const withAdminsGroup = [
  ...others,
  mapping('admins', ['admin'], [{ kind: 'Group', name: 'admins' }]),
];

function person(user: string, email?: string): Identity {
  return {
    subject: user,
    user,
    ...(email === undefined ? {} : { email }),
    groups: [],
    claims: {},
    provider: 'impersonation',
    method: 'session',
  };
}

function realUser(user: string): Identity {
  return { ...person(user), provider: 'dev', subject: `${user}-sub` };
}

describe('impersonation guard: the target in every scope and through every subject kind', () => {
  it('refuses a target holding the super role through a namespaced RoleMapping', () => {
    const snapshot = buildSnapshot([support, ...others]);
    const rules = new Impersonation({
      role: 'impersonator',
      superRole: 'admin',
      rolesOf: (identity) => snapshot.roles.rolesOf(identity, ''),
      policy: () => snapshot,
    });
    expect(rules.refusal(realUser('alice'), person('dave'))).toBe('super-role-target');
    expect(rules.refusal(realUser('alice'), person('bob'))).toBeNull();
    // A super holder may act as another.
    expect(rules.refusal(realUser('root'), person('dave'))).toBeNull();
  });

  it('refuses every target while the super role is granted through subjects gatehouse cannot check for an impersonated user (groups)', () => {
    const snapshot = buildSnapshot([support, ...withAdminsGroup]);
    const rules = new Impersonation({
      role: 'impersonator',
      superRole: 'admin',
      rolesOf: (identity) => snapshot.roles.rolesOf(identity, ''),
      policy: () => snapshot,
    });
    // carol may be in `admins` at the provider: gatehouse does not know a target's groups.
    expect(rules.refusal(realUser('alice'), person('carol'))).toBe('super-role-unverifiable');
    expect(rules.refusal(realUser('root'), person('carol'))).toBeNull();
  });

  it('refuses a target holding the super role by address even when the address is left out', () => {
    const snapshot = buildSnapshot([
      support,
      mapping('mail-admin', ['admin'], [{ kind: 'User', name: 'erin@example.com' }]),
    ]);
    const rules = new Impersonation({
      role: 'impersonator',
      superRole: 'admin',
      rolesOf: (identity) => snapshot.roles.rolesOf(identity, ''),
      policy: () => snapshot,
    });
    expect(rules.refusal(realUser('alice'), person('erin'))).toBe('super-role-unverifiable');
  });
});

describe('impersonation guard: running impersonations (Redis sessions, 5 s cache)', () => {
  let store: SessionCache;
  let snapshot: PolicySnapshot;
  let authenticator: SessionCookieAuthenticator;
  const ended: string[] = [];

  beforeAll(async () => {
    store = await redisStore(prefix, 5000);
    snapshot = buildSnapshot([support, ...others]);
    const impersonation = new Impersonation({
      role: 'impersonator',
      superRole: 'admin',
      rolesOf: (identity) => snapshot.roles.rolesOf(identity, ''),
      policy: () => snapshot,
    });
    authenticator = new SessionCookieAuthenticator({
      store,
      cookieName: '_gatehouse',
      metrics: new Metrics({ collectProcessMetrics: false }),
      effectiveIdentity: (session) => impersonation.effectiveIdentity(session),
      onImpersonationEnded: (session) => {
        ended.push(session.impersonation?.user ?? '');
      },
    });
  });

  afterAll(async () => {
    await store.close();
    await flushPrefix(prefix);
  });

  async function who(cookie: string): Promise<Identity> {
    const result = await authenticator.authenticate({
      credentials: { cookie },
    } as unknown as AuthRequest);
    if (result.kind !== 'identified') throw new Error(`not identified: ${result.kind}`);
    return result.identity;
  }

  it('ends the impersonation at the next check once the impersonator role is removed, for good', async () => {
    const ticket = issueTicket();
    const created = await store.create(
      {
        provider: 'dev',
        subject: 'alice-sub',
        identity: { user: 'alice', groups: [], claims: {} },
        tokens: { accessToken: 'at' },
      },
      ticket,
    );
    await store.update(ticket, { ...created, impersonation: { user: 'bob', startedAt: 1 } });
    const cookie = `_gatehouse=${formatTicket(ticket)}`;
    expect((await who(cookie)).user).toBe('bob');
    expect(impersonatedIdentity(created, { user: 'bob' }).actor?.user).toBe('alice');

    // The role is removed: the very next check (the record is still in the 5 s cache) is alice.
    snapshot = buildSnapshot(others);
    const after = await who(cookie);
    expect(after.user).toBe('alice');
    expect(after.actor).toBeUndefined();
    // Ended in the store, not merely suspended.
    const stored = await store.get(ticket, { bypassCache: true });
    expect(stored?.impersonation).toBeUndefined();
    expect(ended).toEqual(['bob']);

    // Restoring the role does not revive it.
    snapshot = buildSnapshot([support, ...others]);
    expect((await who(cookie)).user).toBe('alice');
    expect(identityOfSession(stored!).user).toBe('alice');
  });
});
