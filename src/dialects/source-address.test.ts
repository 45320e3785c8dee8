/**
 * Issue #19: what each dialect tells decide() for `sourceCIDRs` and `queryParams`: the client
 * address only as a trusted proxy reported it (never the proxy's own address), and the raw query.
 */
import { describe, expect, it } from 'vitest';
import type { IncomingCheck } from './dialect.ts';
import { extAuthzDialect } from './ext-authz.ts';
import { forwardAuthDialect } from './forward-auth.ts';
import { nginxDialect } from './nginx.ts';
import { ProxyTrust } from './proxy-trust.ts';

const trust = new ProxyTrust(['10.0.0.0/8']);
const proxy = '::ffff:10.2.0.15';
const stranger = '198.51.100.99';

function nginxCheck(headers: Record<string, string>, remoteAddress = proxy): IncomingCheck {
  return {
    method: 'GET',
    target: '/authz/nginx?host=app.test',
    headers: {
      'x-original-url': 'https://app.test/search?q=a+b&page=2',
      'x-original-method': 'GET',
      ...headers,
    },
    remoteAddress,
  };
}

describe('ProxyTrust.reportedClientAddress', () => {
  it('is the right-most untrusted X-Forwarded-For element from a trusted peer', () => {
    const headers = { 'x-forwarded-for': '6.6.6.6, 198.51.100.4, 10.1.1.1' };
    expect(trust.reportedClientAddress(proxy, headers)).toBe('198.51.100.4');
  });

  it('is unknown from an untrusted peer, never the peer itself', () => {
    expect(trust.reportedClientAddress(stranger, { 'x-forwarded-for': '1.1.1.1' })).toBeNull();
    expect(trust.clientAddress(stranger, {})).toBe(stranger);
  });

  it('is unknown when the trusted peer names no client', () => {
    expect(trust.reportedClientAddress(proxy, {})).toBeNull();
    expect(trust.reportedClientAddress(proxy, { 'x-real-ip': '1.1.1.1' })).toBeNull();
  });

  it('is unknown when a malformed element hides what lies left of it', () => {
    const headers = { 'x-forwarded-for': '1.1.1.1, unknown, 10.1.1.1' };
    expect(trust.reportedClientAddress(proxy, headers)).toBeNull();
  });

  it('reads X-Real-IP when the dialect says the proxy sets it, canonical', () => {
    expect(
      trust.reportedClientAddress(
        proxy,
        { 'x-real-ip': '::ffff:192.0.2.8' },
        { realIpHeader: true },
      ),
    ).toBe('192.0.2.8');
  });

  it('is the left-most element when every hop is trusted (a request from inside)', () => {
    expect(trust.reportedClientAddress(proxy, { 'x-forwarded-for': '10.9.9.9, 10.1.1.1' })).toBe(
      '10.9.9.9',
    );
  });
});

describe('the dialects carry the source address and the query', () => {
  it('nginx: from X-Forwarded-For / X-Real-IP of a trusted controller', () => {
    const request = nginxDialect.parse(
      nginxCheck({ 'x-forwarded-for': '203.0.113.5', 'x-real-ip': '203.0.113.5' }),
      trust,
      'r',
    );
    expect(request.sourceAddress).toBe('203.0.113.5');
    expect(request.query).toBe('q=a+b&page=2');
  });

  it('nginx: unknown when the controller is not a trusted proxy', () => {
    const request = nginxDialect.parse(
      nginxCheck({ 'x-forwarded-for': '203.0.113.5' }, stranger),
      trust,
      'r',
    );
    expect(request.sourceAddress).toBeUndefined();
    expect(request.clientIp).toBe(stranger);
  });

  it('forward-auth: from the X-Forwarded-For Traefik and Caddy append', () => {
    const request = forwardAuthDialect.parse(
      {
        method: 'GET',
        target: '/authz/forward-auth',
        headers: {
          'x-forwarded-method': 'GET',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'app.test',
          'x-forwarded-uri': '/a?x=1',
          'x-forwarded-for': '192.0.2.44',
        },
        remoteAddress: proxy,
      },
      trust,
      'r',
    );
    expect(request.sourceAddress).toBe('192.0.2.44');
    expect(request.query).toBe('x=1');
  });

  it('ext-authz: only when Envoy passes x-forwarded-for (allowed_headers) from a trusted address', () => {
    const check = (headers: Record<string, string>, remoteAddress = proxy): IncomingCheck => ({
      method: 'GET',
      target: '/authz/ext-authz/a',
      headers: { host: 'app.test', ...headers },
      remoteAddress,
    });
    expect(extAuthzDialect.parse(check({}), trust, 'r').sourceAddress).toBeUndefined();
    expect(extAuthzDialect.parse(check({}), trust, 'r').query).toBeUndefined();
    expect(
      extAuthzDialect.parse(check({ 'x-forwarded-for': '192.0.2.7' }), trust, 'r').sourceAddress,
    ).toBe('192.0.2.7');
    expect(
      extAuthzDialect.parse(check({ 'x-forwarded-for': '192.0.2.7' }, stranger), trust, 'r')
        .sourceAddress,
    ).toBeUndefined();
  });
});
