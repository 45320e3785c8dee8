import { describe, expect, it } from 'vitest';
import { cookieValues, serializeCookie } from './cookies.ts';

describe('cookies', () => {
  it('reads every value of a name, exactly matching the name', () => {
    expect(
      cookieValues('a=1; _gatehouse=x; _gatehouse_login=y; _gatehouse=z', '_gatehouse'),
    ).toEqual(['x', 'z']);
    expect(cookieValues(undefined, '_gatehouse')).toEqual([]);
    expect(cookieValues('novalue; _gatehouse', '_gatehouse')).toEqual([]);
    expect(cookieValues(Array(50).fill('_gatehouse=v').join('; '), '_gatehouse')).toHaveLength(8);
  });

  it('writes HttpOnly cookies, Secure when configured or SameSite=None, expiring with Max-Age 0', () => {
    expect(
      serializeCookie('n', 'v', { path: '/', maxAge: 60, secure: true, sameSite: 'lax' }),
    ).toBe('n=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax');
    expect(
      serializeCookie('n', 'v', {
        path: '/',
        domain: 'example.com',
        maxAge: 60,
        secure: false,
        sameSite: 'none',
      }),
    ).toBe('n=v; Path=/; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=None');
    expect(
      serializeCookie('n', '', { path: '/', maxAge: 0, secure: false, sameSite: 'strict' }),
    ).toBe(
      'n=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict',
    );
  });
});
