import { describe, expect, it } from 'vitest';
import type { Identity } from '../authz/identity.ts';
import { builtInProfiles, compileHeaderProfile, createHeaderProfiles } from './header-profiles.ts';

const zoe: Identity = {
  subject: '248289761001',
  user: 'zoe',
  email: 'zoe@example.com',
  name: 'Zoë Ñandú',
  preferredUsername: 'zoe.n',
  givenName: 'Zoë',
  familyName: 'Ñandú',
  organisation: 'ACME',
  groups: ['shop-operators', 'R&D, Paris'],
  claims: { department: 'sales', level: 3, projects: ['alpha', 'béta'], nested: { a: 1 } },
  provider: 'corp',
  method: 'session',
};
const roles = ['guest', 'authenticated', 'shop-admin'];

describe('built-in header profiles', () => {
  it('x-auth-request renders every oauth2-proxy header', () => {
    expect(compileHeaderProfile(builtInProfiles['x-auth-request']).render(zoe, roles)).toEqual([
      ['X-Auth-Request-User', 'zoe'],
      ['X-Auth-Request-Email', 'zoe@example.com'],
      ['X-Auth-Request-Groups', 'shop-operators,{base64}UiZELCBQYXJpcw=='],
      ['X-Auth-Request-Preferred-Username', 'zoe.n'],
      ['X-Auth-Request-Roles', 'guest,authenticated,shop-admin'],
    ]);
  });

  it('remote renders Authelia names with an encoded display name', () => {
    expect(compileHeaderProfile(builtInProfiles.remote).render(zoe, roles)).toEqual([
      ['Remote-User', 'zoe'],
      ['Remote-Email', 'zoe@example.com'],
      ['Remote-Groups', 'shop-operators,{base64}UiZELCBQYXJpcw=='],
      ['Remote-Name', '{base64}Wm/DqyDDkWFuZMO6'],
      ['Remote-Roles', 'guest,authenticated,shop-admin'],
    ]);
  });

  it('sec renders what geOrchestra consumers parse: sec-proxy, sec-orgname, ROLE_ roles joined with ;', () => {
    const withOrgName: Identity = { ...zoe, organisationName: 'ACME Corporation' };
    expect(compileHeaderProfile(builtInProfiles.sec).render(withOrgName, roles)).toEqual([
      ['sec-proxy', 'true'],
      ['sec-username', 'zoe'],
      ['sec-email', 'zoe@example.com'],
      ['sec-firstname', '{base64}Wm/Dqw=='],
      ['sec-lastname', `{base64}${Buffer.from('Ñandú').toString('base64')}`],
      ['sec-org', 'ACME'],
      ['sec-orgname', 'ACME Corporation'],
      ['sec-roles', 'ROLE_GUEST;ROLE_AUTHENTICATED;ROLE_SHOP_ADMIN'],
    ]);
  });

  it('sec says sec-proxy: true on every allowed request, anonymous ones included', () => {
    const anonymous = compileHeaderProfile(builtInProfiles.sec).render(null, ['guest']);
    expect(anonymous).toContainEqual(['sec-proxy', 'true']);
    expect(anonymous).toContainEqual(['sec-roles', 'ROLE_GUEST']);
    expect(anonymous).toContainEqual(['sec-orgname', '']);
  });

  it('sec keeps ROLE_ names as they are and never doubles a role', () => {
    const profile = createHeaderProfiles({ defaultProfile: 'sec' }).get('sec');
    const rendered = profile.render(zoe, ['ROLE_USER', 'gn-editor', 'GN_EDITOR', 'a;b', 'x,y']);
    expect(rendered).toContainEqual(['sec-roles', 'ROLE_USER;ROLE_GN_EDITOR']);
  });

  it('sec sends comma-separated role names with secRoles: list', () => {
    const profile = createHeaderProfiles({ defaultProfile: 'sec', secRoles: 'list' }).get('sec');
    expect(profile.render(zoe, roles)).toContainEqual([
      'sec-roles',
      'guest,authenticated,shop-admin',
    ]);
  });

  it('a custom profile may use roles:georchestra and literal:<text>', () => {
    const profile = compileHeaderProfile({
      name: 'custom',
      headers: {
        'X-Roles': 'roles:georchestra',
        'X-Via': 'literal:gatehouse v1',
        'X-Org': 'organisation',
      },
    });
    expect(profile.render(zoe, roles)).toEqual([
      ['X-Roles', 'ROLE_GUEST;ROLE_AUTHENTICATED;ROLE_SHOP_ADMIN'],
      ['X-Via', 'gatehouse v1'],
      ['X-Org', 'ACME'],
    ]);
    for (const literal of [
      'literal:',
      'literal: padded',
      'literal:a\r\nb',
      `literal:${'x'.repeat(257)}`,
    ]) {
      expect(() => compileHeaderProfile({ name: 'custom', headers: { 'X-Via': literal } })).toThrow(
        /literal/,
      );
    }
  });

  it.each(Object.values(builtInProfiles))(
    '$name sends every header, empty ones included, when nothing is known',
    (definition) => {
      const profile = compileHeaderProfile(definition);
      const anonymous = profile.render(null, []);
      expect(anonymous.map(([name]) => name)).toEqual(Object.keys(definition.headers));
      // Only a fixed text (`sec-proxy: true`) is ever non-empty without an identity.
      const sources: Readonly<Record<string, string>> = definition.headers;
      expect(
        anonymous.every(([name, value]) => value === '' || sources[name]?.startsWith('literal:')),
      ).toBe(true);
      const sparse = profile.render(
        { subject: 's', user: 'u', groups: [], claims: {}, provider: 'p', method: 'bearer' },
        ['guest'],
      );
      expect(sparse).toHaveLength(Object.keys(definition.headers).length);
    },
  );

  it('lists roles without a session, so a guest rule is visible upstream', () => {
    const rendered = compileHeaderProfile(builtInProfiles.remote).render(null, ['guest']);
    expect(rendered).toContainEqual(['Remote-Roles', 'guest']);
    expect(rendered).toContainEqual(['Remote-User', '']);
  });

  it('never lets CR/LF from an identity provider reach a header', () => {
    const evil: Identity = { ...zoe, user: 'zoe\r\nRemote-Groups: admins', groups: ['a\nb'] };
    const rendered = compileHeaderProfile(builtInProfiles.remote).render(evil, roles);
    for (const [, value] of rendered) expect(value).not.toMatch(/[\r\n\0]/);
    expect(rendered[0]).toEqual(['Remote-User', 'zoeRemote-Groups: admins']);
  });
});

describe('custom header profiles', () => {
  it('renders identity fields and claims, scalars and lists', () => {
    const profile = compileHeaderProfile({
      name: 'grafana',
      headers: {
        'X-WEBAUTH-USER': 'user',
        'X-WEBAUTH-NAME': 'name',
        'X-Department': 'claim:department',
        'X-Level': 'claim:level',
        'X-Projects': 'claim:projects',
        'X-Nested': 'claim:nested',
        'X-Missing': 'claim:missing',
        'X-Proto': 'claim:__proto__',
      },
    });
    expect(profile.headerNames).toHaveLength(8);
    expect(profile.render(zoe, roles)).toEqual([
      ['X-WEBAUTH-USER', 'zoe'],
      ['X-WEBAUTH-NAME', '{base64}Wm/DqyDDkWFuZMO6'],
      ['X-Department', 'sales'],
      ['X-Level', '3'],
      ['X-Projects', `alpha,{base64}${Buffer.from('béta').toString('base64')}`],
      ['X-Nested', ''],
      ['X-Missing', ''],
      ['X-Proto', ''],
    ]);
  });

  it.each([
    [{ 'X User': 'user' }, /not a valid HTTP header name/],
    [{ 'X-User\r\n': 'user' }, /not a valid HTTP header name/],
    [{ X_User: 'user' }, /contains "_"/],
    [{ Authorization: 'user' }, /reserved/],
    [{ Cookie: 'user' }, /reserved/],
    [{ 'X-Forwarded-User': 'user' }, /reserved/],
    [{ 'X-Gatehouse-Assertion': 'user' }, /reserved/],
    [{ 'X-User': 'password' }, /unknown source "password"/],
    [{ 'X-User': 'claim:' }, /empty claim/],
    [{ 'X-User': 'user', 'x-user': 'email' }, /listed twice/],
    [{}, /has no headers/],
  ])('refuses %j at compile time', (headers, message) => {
    expect(() => compileHeaderProfile({ name: 'app', headers })).toThrow(message);
  });
});

describe('createHeaderProfiles', () => {
  const profiles = createHeaderProfiles({
    defaultProfile: 'remote',
    custom: { grafana: { 'X-WEBAUTH-USER': 'user' } },
  });

  it('returns the named profile and falls back to the default', () => {
    expect(profiles.get('sec').name).toBe('sec');
    expect(profiles.get('grafana').headerNames).toEqual(['X-WEBAUTH-USER']);
    expect(profiles.get().name).toBe('remote');
    expect(profiles.get('no-such-profile').name).toBe('remote');
    expect(profiles.has('grafana')).toBe(true);
    expect(profiles.has('no-such-profile')).toBe(false);
  });

  it('lists every identity header name of every profile, lower-case, once', () => {
    expect(profiles.allHeaderNames).toEqual(
      expect.arrayContaining([
        'x-auth-request-user',
        'remote-roles',
        'sec-org',
        'x-webauth-user',
        'x-gatehouse-assertion',
        'x-auth-request-impersonator',
      ]),
    );
    expect(new Set(profiles.allHeaderNames).size).toBe(profiles.allHeaderNames.length);
    expect(profiles.allHeaderNames.every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('refuses an unknown default and a custom profile shadowing a built-in one', () => {
    expect(() => createHeaderProfiles({ defaultProfile: 'nope' })).toThrow(
      /"nope" does not exist; known profiles: x-auth-request, remote, sec/,
    );
    expect(() =>
      createHeaderProfiles({ defaultProfile: 'remote', custom: { remote: { 'X-A': 'user' } } }),
    ).toThrow(/built in/);
  });
});
