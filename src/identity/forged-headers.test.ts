import { describe, expect, it } from 'vitest';
import { compileClientHeaderGuard, findForgedIdentityHeader } from './forged-headers.ts';
import { createHeaderProfiles } from './header-profiles.ts';

const known = createHeaderProfiles({ defaultProfile: 'x-auth-request' }).allHeaderNames;
const ordinary = { host: 'shop.example.com', accept: 'text/html', cookie: '_gatehouse=v1.a.b' };

describe('findForgedIdentityHeader', () => {
  it('finds nothing on an ordinary request', () => {
    expect(findForgedIdentityHeader(ordinary, known)).toBeNull();
  });

  it.each([
    'x-auth-request-user',
    'x_auth_request_user',
    'X-AUTH-REQUEST-USER',
    'X_Auth-Request_Email',
    'remote_user',
    'Remote-Groups',
    'sec_username',
    'SEC-ROLES',
    'x-gatehouse-assertion',
    'X_Gatehouse_Assertion',
    'x-auth-request-impersonator',
  ])('finds a client copy spelled %s and names it as sent', (name) => {
    expect(findForgedIdentityHeader({ ...ordinary, [name]: 'admin' }, known)).toBe(name);
  });

  it('checks the reserved headers even when the caller passes no names', () => {
    expect(findForgedIdentityHeader({ x_gatehouse_assertion: 'eyJ' }, [])).toBe(
      'x_gatehouse_assertion',
    );
  });

  it('checks custom profile headers through the names it is given', () => {
    const names = createHeaderProfiles({
      defaultProfile: 'remote',
      custom: { grafana: { 'X-WEBAUTH-USER': 'user' } },
    }).allHeaderNames;
    expect(findForgedIdentityHeader({ x_webauth_user: 'admin' }, names)).toBe('x_webauth_user');
  });

  it('ignores headers that are declared but absent', () => {
    expect(findForgedIdentityHeader({ 'remote-user': undefined }, known)).toBeNull();
  });
});

describe('compileClientHeaderGuard', () => {
  const front = {
    names: ['sec-georchestra-preauthenticated', 'preauth-username', 'x-gatehouse-preauth-secret'],
    prefixes: ['preauth-'],
    isTrustedSender: (clientIp: string) => clientIp === '10.1.2.3',
  };
  const guard = compileClientHeaderGuard({
    upstream: [...known, 'X-Id-Token'],
    clientCredentials: ['Authorization', 'X-Client-Credential'],
    families: ['sec-', 'imp-'],
    trustedSenders: [front],
  });

  it.each([
    'x_id_token',
    'x.id.token',
    'X-ID-TOKEN',
    'sec-proxy',
    'imp-roles',
    'x_client_credential',
  ])('refuses %s from any client', (name) => {
    expect(guard.find({ ...ordinary, [name]: 'x' }, '10.1.2.3')).toBe(name);
  });

  it("lets the client's own Authorization and a browser's Sec-Fetch-* through", () => {
    const browser = {
      authorization: 'Bearer eyJ',
      'x-client-credential': 'k',
      'sec-fetch-site': 'none',
      'sec-ch-ua': '"x"',
    };
    expect(guard.find({ ...ordinary, ...browser }, '192.0.2.9')).toBeNull();
  });

  it('refuses a browser Sec- name in another spelling', () => {
    expect(guard.find({ sec_fetch_site: 'none' }, '192.0.2.9')).toBe('sec_fetch_site');
  });

  it('lets pre-authentication headers come from a front only, in their own spelling', () => {
    const preauth = { 'sec-georchestra-preauthenticated': 'true', 'preauth-org': 'PSC' };
    expect(guard.find(preauth, '10.1.2.3')).toBeNull();
    expect(guard.find(preauth, '192.0.2.9')).toBe('sec-georchestra-preauthenticated');
    expect(guard.find({ preauth_org: 'PSC' }, '10.1.2.3')).toBe('preauth_org');
  });

  it('asks whether the client is a front only when a front header is present', () => {
    let asked = 0;
    const counting = compileClientHeaderGuard({
      upstream: known,
      trustedSenders: [{ ...front, isTrustedSender: () => ++asked > 0 }],
    });
    expect(counting.find(ordinary, '192.0.2.9')).toBeNull();
    expect(asked).toBe(0);
  });

  it('gives the same verdicts once remembered, and after a flood of names cleared the memo', () => {
    const flood = Object.fromEntries(
      Array.from({ length: 3000 }, (_, index) => [`x-made-up-${String(index)}`, 'x']),
    );
    for (let round = 0; round < 3; round++) {
      expect(guard.find(flood, '192.0.2.9')).toBeNull();
      expect(guard.find({ ...ordinary, x_id_token: 'x' }, '10.1.2.3')).toBe('x_id_token');
      expect(guard.find({ 'preauth-org': 'PSC' }, '10.1.2.3')).toBeNull();
      expect(guard.find({ 'preauth-org': 'PSC' }, '192.0.2.9')).toBe('preauth-org');
    }
  });

  it('lists upstream and front headers for removal, never the client credential', () => {
    expect(guard.removeNames).toEqual(
      expect.arrayContaining(['x-id-token', 'x-gatehouse-preauth-secret', 'preauth-username']),
    );
    expect(guard.removeNames).not.toContain('authorization');
  });
});
