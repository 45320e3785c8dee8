import { describe, expect, it } from 'vitest';
import { findForgedIdentityHeader } from './forged-headers.ts';
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
