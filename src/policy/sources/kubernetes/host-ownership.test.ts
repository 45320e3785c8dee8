import { describe, expect, it } from 'vitest';
import {
  HostOwnership,
  delegationCovers,
  hostNotOwnedMessage,
  httpRouteHosts,
  ingressClassInfo,
  ingressHosts,
  routeCounts,
  underPrefix,
} from './host-ownership.ts';
import type { HostDeclaration, IngressClassInfo } from './host-ownership.ts';

const shopIngress = {
  metadata: { name: 'shop', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: {
    ingressClassName: 'nginx',
    rules: [{ host: 'shop.example.com' }, { http: {} }],
    tls: [{ hosts: ['secure.shop.example.com', '*.cdn.example.com'] }],
  },
};
const route = {
  metadata: { name: 'api', namespace: 'api', creationTimestamp: '2026-01-02T00:00:00Z' },
  spec: { hostnames: ['api.example.com', 'API.example.com'] },
  status: {
    parents: [
      {
        parentRef: { name: 'public', namespace: 'gateways' },
        conditions: [{ type: 'Accepted', status: 'True' }],
      },
      { parentRef: { name: 'internal' }, conditions: [{ type: 'Accepted', status: 'False' }] },
      {
        parentRef: { name: 'svc', kind: 'Service', group: '' },
        conditions: [{ type: 'Accepted', status: 'True' }],
      },
    ],
  },
};

function declaration(
  namespace: string,
  hosts: string[],
  created: string,
  name = namespace,
): HostDeclaration {
  return {
    kind: 'Ingress',
    namespace,
    name,
    hosts,
    creationTimestamp: created,
    ingressClassName: 'nginx',
  };
}

describe('declared hosts', () => {
  it('reads Ingress rule hosts and TLS hosts, skipping host-less rules, and the class', () => {
    const found = ingressHosts(shopIngress);
    expect(found?.hosts).toEqual([
      'shop.example.com',
      'secure.shop.example.com',
      '*.cdn.example.com',
    ]);
    expect(found?.ingressClassName).toBe('nginx');
    expect(found?.creationTimestamp).toBe('2026-01-01T00:00:00Z');
  });

  it('takes the class from the legacy annotation, or none', () => {
    const legacy = ingressHosts({
      metadata: { name: 'x', namespace: 'x', annotations: { 'kubernetes.io/ingress.class': 'a' } },
      spec: {},
    });
    expect(legacy?.ingressClassName).toBe('a');
    expect(ingressHosts({ metadata: { name: 'x', namespace: 'x' } })?.ingressClassName).toBeNull();
  });

  it('reads HTTPRoute hostnames, lower-cased and deduplicated, and the Gateways that accepted it', () => {
    const found = httpRouteHosts(route);
    expect(found?.hosts).toEqual(['api.example.com']);
    expect(found?.acceptedBy).toEqual(['gateways/public']);
  });

  it('ignores objects without a namespace or name', () => {
    expect(ingressHosts({ spec: {} })).toBeNull();
  });

  it('reads IngressClasses and their default-class annotation', () => {
    expect(
      ingressClassInfo({
        metadata: {
          name: 'nginx',
          annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
        },
      }),
    ).toEqual({ name: 'nginx', isDefault: true });
    expect(ingressClassInfo({ metadata: { name: 'other' } })).toEqual({
      name: 'other',
      isDefault: false,
    });
  });
});

describe('routeCounts: only routes that route count', () => {
  const classes: IngressClassInfo[] = [
    { name: 'nginx', isDefault: true },
    { name: 'traefik', isDefault: false },
  ];
  const ingress = (ingressClassName: string | null): HostDeclaration => ({
    ...declaration('a', ['a.example.com'], ''),
    ingressClassName,
  });

  it('counts an Ingress of a configured class only', () => {
    const selection = { ingressClassNames: ['nginx'], gateways: [] };
    expect(routeCounts(ingress('nginx'), selection, classes)).toBe(true);
    expect(routeCounts(ingress('traefik'), selection, classes)).toBe(false);
    expect(routeCounts(ingress('decoy'), selection, classes)).toBe(false);
  });

  it('gives a class-less Ingress the one default class', () => {
    expect(
      routeCounts(ingress(null), { ingressClassNames: ['nginx'], gateways: [] }, classes),
    ).toBe(true);
    expect(
      routeCounts(ingress(null), { ingressClassNames: ['traefik'], gateways: [] }, classes),
    ).toBe(false);
    const twoDefaults = [...classes, { name: 'x', isDefault: true }];
    expect(routeCounts(ingress(null), { ingressClassNames: [], gateways: [] }, twoDefaults)).toBe(
      false,
    );
    expect(routeCounts(ingress(null), { ingressClassNames: [], gateways: [] }, [])).toBe(false);
  });

  it('with no classes configured, counts any class that exists, never an unserved one', () => {
    const any = { ingressClassNames: [], gateways: [] };
    expect(routeCounts(ingress('traefik'), any, classes)).toBe(true);
    expect(routeCounts(ingress('decoy'), any, classes)).toBe(false);
  });

  it('counts an HTTPRoute only when a (configured) Gateway accepted it', () => {
    const accepted = httpRouteHosts(route);
    if (accepted === null) throw new Error('no route');
    const unattached = { ...accepted, acceptedBy: [] };
    expect(routeCounts(accepted, { ingressClassNames: [], gateways: [] }, [])).toBe(true);
    expect(routeCounts(unattached, { ingressClassNames: [], gateways: [] }, [])).toBe(false);
    expect(
      routeCounts(accepted, { ingressClassNames: [], gateways: ['gateways/public'] }, []),
    ).toBe(true);
    expect(
      routeCounts(accepted, { ingressClassNames: [], gateways: ['gateways/internal'] }, []),
    ).toBe(false);
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

  it('lists the refused hosts of a policy in its order', () => {
    expect(
      ownership.unownedHosts('AccessPolicy', 'shop', [
        'b.example.com',
        'shop.example.com',
        'a.example.com',
      ]),
    ).toEqual(['b.example.com', 'a.example.com']);
  });

  it('tells the operator what to create', () => {
    expect(hostNotOwnedMessage('shop', ['x.example.com'])).toContain(
      'host x.example.com is not declared by any Ingress or HTTPRoute in namespace shop',
    );
    expect(ownership.judge('AccessPolicy', 'shop', 'x.example.com')).toMatchObject({
      admitted: false,
      reason: 'HostNotOwned',
    });
  });
});

describe('HostOwnership: exclusive, earliest declaration wins', () => {
  const b = declaration('tenant-b', ['b.example.com'], '2026-01-01T00:00:00Z');
  const a = declaration('tenant-a', ['b.example.com'], '2026-02-01T00:00:00Z');

  it('gives a host declared by two namespaces to the earlier route, whatever the order seen', () => {
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const ownership = HostOwnership.build(order);
      expect(ownership.owner('b.example.com')?.namespace).toBe('tenant-b');
      expect(ownership.admits('AccessPolicy', 'tenant-b', 'b.example.com')).toBe(true);
      expect(ownership.conflictedHosts()).toEqual(['b.example.com']);
      const refused = ownership.judge('AccessPolicy', 'tenant-a', 'b.example.com');
      expect(refused).toMatchObject({
        admitted: false,
        reason: 'HostOwnedByAnotherNamespace',
        owner: { namespace: 'tenant-b', route: 'Ingress tenant-b/tenant-b' },
      });
      expect(refused.admitted ? '' : refused.message).toContain(
        'host b.example.com is owned by namespace tenant-b',
      );
      expect(refused.admitted ? '' : refused.message).toContain('HostDelegation');
    }
  });

  it('breaks a tie of creation times by namespace name', () => {
    const same = '2026-01-01T00:00:00Z';
    const ownership = HostOwnership.build([
      declaration('zeta', ['h.example.com'], same),
      declaration('alpha', ['h.example.com'], same),
    ]);
    expect(ownership.owner('h.example.com')?.namespace).toBe('alpha');
  });

  it("moves ownership once the owner's routes for the host are gone", () => {
    expect(HostOwnership.build([a]).owner('b.example.com')?.namespace).toBe('tenant-a');
  });
});

describe('HostOwnership: delegation', () => {
  const owner = declaration('web', ['shop.example.com'], '2026-01-01T00:00:00Z');
  const delegations = [
    { name: 'api', host: 'shop.example.com', pathPrefix: '/api', namespaces: ['api-team'] },
    { name: 'all-of-it', host: '*.example.com', pathPrefix: null, namespaces: ['platform-ish'] },
  ];
  const ownership = HostOwnership.build([owner], true, delegations);

  it('admits a delegated namespace whose rules stay below the prefix', () => {
    expect(
      ownership.judge('AccessPolicy', 'api-team', 'shop.example.com', [
        { rule: 'read', exact: false, value: '/api' },
        { rule: 'v1', exact: true, value: '/api/v1/status' },
      ]),
    ).toEqual({ admitted: true, delegation: 'api' });
  });

  it('refuses the host when a rule reaches outside the prefix, naming the rule', () => {
    const judgement = ownership.judge('AccessPolicy', 'api-team', 'shop.example.com', [
      { rule: 'read', exact: false, value: '/api' },
      { rule: 'everything', exact: false, value: '/' },
      { rule: 'apix', exact: false, value: '/apix' },
    ]);
    expect(judgement).toMatchObject({ admitted: false, reason: 'OutsideDelegatedPath' });
    expect(judgement.admitted ? '' : judgement.message).toContain(
      'rule everything (/), apix (/apix) reach outside it',
    );
  });

  it('a whole-host wildcard delegation covers every host below it', () => {
    expect(ownership.admits('AccessPolicy', 'platform-ish', 'shop.example.com')).toBe(true);
    expect(ownership.admits('AccessPolicy', 'platform-ish', '*.a.example.com')).toBe(true);
    expect(ownership.admits('AccessPolicy', 'platform-ish', 'example.com')).toBe(false);
    expect(ownership.admits('AccessPolicy', 'someone-else', 'shop.example.com')).toBe(false);
  });

  it('matches hosts and prefixes by whole labels and segments', () => {
    expect(delegationCovers('*.example.com', 'a.example.com')).toBe(true);
    expect(delegationCovers('*.example.com', 'aexample.com')).toBe(false);
    expect(underPrefix('/api/', '/api')).toBe(true);
    expect(underPrefix('/api', '/api/x')).toBe(true);
    expect(underPrefix('/api', '/apix')).toBe(false);
    expect(underPrefix('/', '/anything')).toBe(true);
  });
});
