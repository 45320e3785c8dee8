import { describe, expect, it } from 'vitest';
import {
  HostOwnership,
  hostNotOwnedMessage,
  httpRouteHosts,
  ingressHosts,
} from './host-ownership.ts';

const shopIngress = {
  metadata: { name: 'shop', namespace: 'shop' },
  spec: {
    rules: [{ host: 'shop.example.com' }, { http: {} }],
    tls: [{ hosts: ['secure.shop.example.com', '*.cdn.example.com'] }],
  },
};
const route = {
  metadata: { name: 'api', namespace: 'api' },
  spec: { hostnames: ['api.example.com', 'API.example.com'] },
};

describe('declared hosts', () => {
  it('reads Ingress rule hosts and TLS hosts, skipping host-less rules', () => {
    expect(ingressHosts(shopIngress)?.hosts).toEqual([
      'shop.example.com',
      'secure.shop.example.com',
      '*.cdn.example.com',
    ]);
  });

  it('reads HTTPRoute hostnames, lower-cased and deduplicated', () => {
    expect(httpRouteHosts(route)?.hosts).toEqual(['api.example.com']);
  });

  it('ignores objects without a namespace or name', () => {
    expect(ingressHosts({ spec: {} })).toBeNull();
  });
});

describe('HostOwnership', () => {
  const declarations = [ingressHosts(shopIngress), httpRouteHosts(route)].filter((d) => d !== null);
  const ownership = HostOwnership.build(declarations);

  it('admits a namespaced policy only for hosts its own namespace declares', () => {
    expect(ownership.admits('AccessPolicy', 'shop', 'shop.example.com')).toBe(true);
    expect(ownership.admits('AccessPolicy', 'shop', 'api.example.com')).toBe(false);
    expect(ownership.admits('AccessPolicy', 'api', 'api.example.com')).toBe(true);
    expect(ownership.admits('AccessPolicy', 'other', 'shop.example.com')).toBe(false);
  });

  it('compares exactly: a wildcard needs the same wildcard, a name is not covered by a wildcard', () => {
    expect(ownership.admits('AccessPolicy', 'shop', '*.cdn.example.com')).toBe(true);
    expect(ownership.admits('AccessPolicy', 'shop', 'img.cdn.example.com')).toBe(false);
    expect(ownership.admits('AccessPolicy', 'shop', '*.shop.example.com')).toBe(false);
  });

  it('never restricts ClusterAccessPolicies, and admits everything when turned off', () => {
    expect(ownership.admits('ClusterAccessPolicy', '', 'anything.example.com')).toBe(true);
    const off = HostOwnership.build(declarations, false);
    expect(off.admits('AccessPolicy', 'other', 'shop.example.com')).toBe(true);
  });

  it('lists the unowned hosts of a policy in its order', () => {
    expect(
      ownership.unownedHosts('AccessPolicy', 'shop', [
        'b.example.com',
        'shop.example.com',
        'a.example.com',
      ]),
    ).toEqual(['b.example.com', 'a.example.com']);
  });

  it('tells the operator what to create', () => {
    expect(hostNotOwnedMessage('shop', ['x.example.com'])).toBe(
      'host x.example.com is not declared by any Ingress or HTTPRoute in namespace shop; add it to an Ingress or HTTPRoute there or ask a platform admin for a ClusterAccessPolicy',
    );
  });
});
