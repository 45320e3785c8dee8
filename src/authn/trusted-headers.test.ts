import { describe, expect, it } from 'vitest';
import type { AuthRequest } from '../authz/auth-request.ts';
import { ProxyTrust } from '../dialects/proxy-trust.ts';
import {
  type PreauthIgnoredReason,
  TrustedHeaderAuthenticator,
  type TrustedHeaderAuthenticatorOptions,
} from './trusted-headers.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';

const secret = 'correct-horse-battery-staple';
const frontAddress = '10.20.0.7';

function authenticator(overrides: Partial<TrustedHeaderAuthenticatorOptions> = {}): {
  auth: TrustedHeaderAuthenticator;
  ignored: PreauthIgnoredReason[];
} {
  const ignored: PreauthIgnoredReason[] = [];
  const auth = new TrustedHeaderAuthenticator({
    trust: new ProxyTrust(['10.20.0.0/16']),
    sharedSecretHeader: 'X-Gatehouse-Preauth-Secret',
    sharedSecret: secret,
    remoteUserHeader: 'Remote-User',
    groupsHeader: 'preauth-groups',
    onIgnored: (reason) => ignored.push(reason),
    ...overrides,
  });
  return { auth, ignored };
}

const request = (headers: Record<string, string>, clientIp: string = frontAddress): AuthRequest =>
  authRequest({ dialect: 'forward-auth', host: 'maps.example.org', clientIp, headers });

const georchestra = {
  'sec-georchestra-preauthenticated': 'true',
  'preauth-username': 'zmartin',
  'preauth-email': 'zoe.martin@example.org',
  'preauth-firstname': '{base64}Wm/Dqw==',
  'preauth-lastname': '{base64}TcOpbmFyZA==',
  'preauth-org': 'PSC',
};

/** The geOrchestra headers with the shared secret, from the trusted front, plus `extra`. */
const fromGeorchestra = (extra: Record<string, string> = {}): AuthRequest =>
  request({ ...georchestra, ...extra, 'x-gatehouse-preauth-secret': secret });

describe('TrustedHeaderAuthenticator', () => {
  it('accepts the geOrchestra form from a trusted front with the secret, decoding {base64}', () => {
    const { auth, ignored } = authenticator();
    const result = auth.authenticate(fromGeorchestra());
    expect(result).toEqual({
      kind: 'identified',
      identity: {
        subject: 'zmartin',
        user: 'zmartin',
        email: 'zoe.martin@example.org',
        givenName: 'Zoë',
        familyName: 'Ménard',
        name: 'Zoë Ménard',
        organisation: 'PSC',
        groups: [],
        claims: {},
        provider: 'header',
        method: 'header',
      },
    });
    expect(ignored).toEqual([]);
  });

  it('carries preauth-provider and preauth-provider-id into the claims', () => {
    const { auth } = authenticator();
    const result = auth.authenticate(
      fromGeorchestra({
        'preauth-provider': 'proconnect',
        'preauth-provider-id': '{base64}' + Buffer.from('ü-4711').toString('base64'),
      }),
    );
    expect(result.kind === 'identified' ? result.identity.claims : null).toEqual({
      'preauth-provider': 'proconnect',
      'preauth-provider-id': 'ü-4711',
    });
    expect(result.kind === 'identified' ? result.identity.organisation : null).toBe('PSC');
  });

  it('rejects a preauth-provider-id that does not decode', () => {
    const { auth } = authenticator();
    const result = auth.authenticate(fromGeorchestra({ 'preauth-provider-id': 'a\u0001b' }));
    expect(result).toEqual({ kind: 'rejected', code: 'malformed-preauth' });
  });

  it('accepts an IPv4-mapped IPv6 peer (dual-stack socket) and the flag in any case', () => {
    const { auth } = authenticator();
    const result = auth.authenticate(
      request(
        {
          'sec-georchestra-preauthenticated': 'TRUE',
          'preauth-username': 'alice',
          'preauth-groups': 'editors,{base64}w6lxdWlwZSwgQQ==',
          'x-gatehouse-preauth-secret': secret,
        },
        '::ffff:10.20.1.1',
      ),
    );
    expect(result.kind).toBe('identified');
    if (result.kind !== 'identified') return;
    expect(result.identity.user).toBe('alice');
    expect(result.identity.groups).toEqual(['editors', 'équipe, A']);
    expect(result.identity).not.toHaveProperty('name');
    expect(result.identity).not.toHaveProperty('email');
  });

  it('accepts the plain remote-user form', () => {
    const { auth } = authenticator();
    const result = auth.authenticate(
      request({ 'remote-user': 'svc-backup', 'x-gatehouse-preauth-secret': secret }),
    );
    expect(result).toEqual({
      kind: 'identified',
      identity: {
        subject: 'svc-backup',
        user: 'svc-backup',
        groups: [],
        claims: {},
        provider: 'header',
        method: 'header',
      },
    });
  });

  it('ignores the remote-user header when no remote-user header is configured', () => {
    const { auth, ignored } = authenticator({ remoteUserHeader: undefined });
    const result = auth.authenticate(
      request({ 'remote-user': 'svc-backup', 'x-gatehouse-preauth-secret': secret }),
    );
    expect(result).toEqual({ kind: 'absent' });
    expect(ignored).toEqual([]);
  });

  it('is absent without any pre-authentication header, and counts nothing', () => {
    const { auth, ignored } = authenticator();
    expect(auth.authenticate(request({ accept: 'text/html' }))).toEqual({ kind: 'absent' });
    expect(
      auth.authenticate(request({ 'x-gatehouse-preauth-secret': secret }, '198.51.100.1')),
    ).toEqual({ kind: 'absent' });
    expect(ignored).toEqual([]);
  });

  it.each([
    [
      'an untrusted client address with the right secret',
      '198.51.100.1',
      secret,
      'untrusted-client',
    ],
    [
      'a trusted client address with a wrong secret',
      frontAddress,
      'correct-horse-battery-stapl3',
      'bad-secret',
    ],
    ['a trusted client address with a shorter secret', frontAddress, 'x', 'bad-secret'],
    ['a trusted client address without the secret', frontAddress, undefined, 'missing-secret'],
  ] as const)('ignores the headers from %s and reports why', (_, peer, sent, reason) => {
    const { auth, ignored } = authenticator();
    const headers: Record<string, string> = { ...georchestra };
    if (sent !== undefined) headers['x-gatehouse-preauth-secret'] = sent;
    expect(auth.authenticate(request(headers, peer))).toEqual({ kind: 'absent' });
    expect(ignored).toEqual([reason]);
  });

  it('treats a client address that is not an address as untrusted', () => {
    const { auth, ignored } = authenticator();
    const result = auth.authenticate(
      request({ 'remote-user': 'root', 'x-gatehouse-preauth-secret': secret }, 'unknown'),
    );
    expect(result).toEqual({ kind: 'absent' });
    expect(ignored).toEqual(['untrusted-client']);
  });

  it('does not take preauth-* headers without the geOrchestra flag', () => {
    const { auth } = authenticator({ remoteUserHeader: undefined });
    const { 'sec-georchestra-preauthenticated': _flag, ...withoutFlag } = georchestra;
    expect(
      auth.authenticate(request({ ...withoutFlag, 'x-gatehouse-preauth-secret': secret })),
    ).toEqual({ kind: 'absent' });
    expect(
      auth.authenticate(fromGeorchestra({ 'sec-georchestra-preauthenticated': 'false' })),
    ).toEqual({ kind: 'absent' });
  });

  it.each([
    ['a CR/LF in the user name', { 'preauth-username': 'alice\r\nsec-roles: admin' }],
    ['a control character hidden in {base64}', { 'preauth-username': '{base64}YWxpY2UKYWRtaW4=' }],
    ['invalid base64', { 'preauth-firstname': '{base64}not base64!' }],
    ['invalid UTF-8', { 'preauth-lastname': '{base64}/w==' }],
    ['a blank user name', { 'preauth-username': '  ' }],
    ['no user name', { 'preauth-username': undefined }],
    ['an undecodable group', { 'preauth-groups': 'ok,{base64}%%' }],
  ])('rejects a trusted request with %s', (_, override) => {
    const { auth } = authenticator();
    const headers: Record<string, string> = { 'x-gatehouse-preauth-secret': secret };
    for (const [name, value] of Object.entries({ ...georchestra, ...override })) {
      if (value !== undefined) headers[name] = value;
    }
    expect(auth.authenticate(request(headers))).toEqual({
      kind: 'rejected',
      code: 'malformed-preauth',
    });
  });

  it('rejects a remote-user value with control characters', () => {
    const { auth } = authenticator();
    const result = auth.authenticate(
      request({ 'remote-user': 'bob\u0000', 'x-gatehouse-preauth-secret': secret }),
    );
    expect(result).toEqual({ kind: 'rejected', code: 'malformed-preauth' });
  });

  it('refuses a shared secret shorter than 16 characters', () => {
    expect(() => authenticator({ sharedSecret: 'short-secret' })).toThrow(/at least 16/);
  });
});
