/**
 * Role-mapping subjects bound to identity sources (issue 15, finding 2): `sources` names the
 * sources a subject accepts; a subject without `sources` matches only the unqualified sources
 * (configuration `authz.unqualifiedSubjectSources`, default the first OpenID provider).
 */
import { describe, expect, it } from 'vitest';
import type { Identity } from './identity.ts';
import { subjectSource } from './identity.ts';
import type { Subject } from '../policy/resources.ts';
import { RoleIndex, SubjectSources, unqualifiedSubjectSources } from './roles.ts';

function identity(overrides: Partial<Identity>): Identity {
  return Object.freeze({
    subject: 'bob',
    user: 'bob',
    groups: [],
    claims: {},
    provider: 'corp',
    method: 'session' as const,
    ...overrides,
  });
}

const corpBob = identity({});
const partnerBob = identity({ provider: 'partner' });
const machineBob = identity({ method: 'bearer', provider: 'machines' });
const preauthBob = identity({ method: 'header', provider: 'header' });
const basicBob = identity({ method: 'basic', provider: 'basic' });
const preauthAdmin = identity({
  user: 'mallory',
  subject: 'mallory',
  method: 'header',
  provider: 'header',
  groups: ['admins'],
});

const corpOnly = SubjectSources.of(unqualifiedSubjectSources([], ['corp', 'partner']));

function index(subjects: Subject[], roles = ['granted'], scope = ''): RoleIndex {
  return RoleIndex.build([{ scope, roles, subjects }]);
}

describe('unqualified subjects', () => {
  const roles = index([{ kind: 'User', name: 'bob' }]);

  it('match the default source, the first OpenID provider', () => {
    expect(unqualifiedSubjectSources([], ['corp', 'partner'])).toEqual(['provider/corp']);
    expect(roles.rolesOf(corpBob, '', corpOnly)).toContain('granted');
  });

  it('do not match a partner IdP’s, a machine token’s, a pre-authenticated or a Basic bob', () => {
    for (const other of [partnerBob, machineBob, preauthBob, basicBob]) {
      expect(roles.rolesOf(other, '', corpOnly)).toEqual(['authenticated', 'guest']);
    }
  });

  it('give pre-auth `admins` no super role through an unqualified Group admins', () => {
    const admins = index([{ kind: 'Group', name: 'admins' }], ['admin']);
    expect(admins.rolesOf(preauthAdmin, '', corpOnly)).not.toContain('admin');
  });

  it('match the configured sources instead when the configuration lists them', () => {
    const listed = SubjectSources.of(
      unqualifiedSubjectSources(['provider/corp', 'basic'], ['corp', 'partner']),
    );
    expect(roles.rolesOf(basicBob, '', listed)).toContain('granted');
    expect(roles.rolesOf(preauthBob, '', listed)).not.toContain('granted');
  });

  it('match nothing when no provider is configured and none are listed', () => {
    const none = SubjectSources.of(unqualifiedSubjectSources([], []));
    expect(roles.rolesOf(corpBob, '', none)).not.toContain('granted');
  });
});

describe('qualified subjects', () => {
  it('match only the sources they name', () => {
    const roles = index([{ kind: 'Group', name: 'admins', sources: ['preauth'] }], ['admin']);
    expect(roles.rolesOf(preauthAdmin, '', corpOnly)).toContain('admin');
    const corpAdmin = identity({ groups: ['admins'] });
    expect(roles.rolesOf(corpAdmin, '', corpOnly)).not.toContain('admin');
  });

  it('tell providers and issuers of the same name apart', () => {
    const roles = index([{ kind: 'User', name: 'bob', sources: ['issuer/machines'] }]);
    expect(roles.rolesOf(machineBob, '', corpOnly)).toContain('granted');
    expect(roles.rolesOf(identity({ provider: 'machines' }), '', corpOnly)).not.toContain(
      'granted',
    );
  });

  it('cover every subject kind, in namespaces too', () => {
    const partner: readonly string[] = ['provider/partner'];
    const subjects: Subject[] = [
      { kind: 'User', name: 'bob@partner.test', sources: [...partner] },
      { kind: 'EmailDomain', name: 'partner.test', sources: [...partner] },
      { kind: 'Claim', name: 'tier', values: ['gold'], sources: [...partner] },
      { kind: 'Organisation', name: 'Partner Ltd', sources: [...partner] },
    ];
    subjects.forEach((subject, at) => {
      const roles = index([subject], [`r${String(at)}`], 'team');
      const who = identity({
        provider: 'partner',
        email: 'bob@partner.test',
        claims: { tier: 'gold' },
        organisation: 'Partner Ltd',
      });
      expect(roles.rolesOf(who, 'team', corpOnly)).toContain(`r${String(at)}`);
      expect(roles.rolesOf({ ...who, provider: 'corp' }, 'team', corpOnly)).not.toContain(
        `r${String(at)}`,
      );
      expect(roles.rolesOf(who, '', corpOnly)).not.toContain(`r${String(at)}`);
    });
  });
});

describe('Organisation subjects', () => {
  it('match the identity’s organisation exactly', () => {
    const roles = index([{ kind: 'Organisation', name: 'PSC' }]);
    expect(roles.rolesOf(identity({ organisation: 'PSC' }), '', corpOnly)).toContain('granted');
    expect(roles.rolesOf(identity({ organisation: 'psc' }), '', corpOnly)).not.toContain('granted');
    expect(roles.rolesOf(identity({}), '', corpOnly)).not.toContain('granted');
    // Same source rules: an unqualified Organisation is the default source's.
    expect(
      roles.rolesOf(identity({ method: 'header', organisation: 'PSC' }), '', corpOnly),
    ).not.toContain('granted');
  });
});

describe('impersonated identities', () => {
  const roles = index([{ kind: 'User', name: 'bob' }]);
  const impersonated = (actorProvider: string): Identity =>
    identity({
      provider: 'impersonation',
      actor: { user: 'alice', subject: 'alice-1', provider: actorProvider },
    });

  it('are matched as users of the impersonator’s provider', () => {
    expect(subjectSource(impersonated('corp'))).toBe('provider/corp');
    expect(roles.rolesOf(impersonated('corp'), '', corpOnly)).toContain('granted');
    expect(roles.rolesOf(impersonated('partner'), '', corpOnly)).not.toContain('granted');
  });
});

describe('subjectSource', () => {
  it('names each source', () => {
    expect([corpBob, machineBob, preauthBob, basicBob].map(subjectSource)).toEqual([
      'provider/corp',
      'issuer/machines',
      'preauth',
      'basic',
    ]);
  });
});

describe('the hot path', () => {
  it('answers a repeated question with the same frozen array, per unqualified set', () => {
    const roles = index([{ kind: 'User', name: 'bob' }]);
    const first = roles.rolesOf(corpBob, '', corpOnly);
    expect(roles.rolesOf(corpBob, '', corpOnly)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    // Another set of unqualified sources is another question.
    expect(roles.rolesOf(corpBob, '', SubjectSources.none)).toEqual(['authenticated', 'guest']);
    expect(roles.rolesOf(corpBob, '', corpOnly)).toBe(first);
  });

  it('without a set, unqualified subjects match every source (tools without configuration)', () => {
    const roles = index([{ kind: 'User', name: 'bob' }]);
    expect(roles.rolesOf(preauthBob, '')).toContain('granted');
  });
});
