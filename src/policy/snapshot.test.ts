import { describe, expect, it } from 'vitest';
import { decide } from '../authz/decide.ts';
import type { AuthRequest } from '../authz/auth-request.ts';
import type { AnyAccessPolicy, PolicyResource } from './resources.ts';
import { buildSnapshot, emptySnapshot } from './snapshot.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';
import { mapping, policy, prefix } from '../../test/fixtures/builders/policy.ts';

function accessPolicy(
  name: string,
  namespace: string,
  hosts: string[],
  ruleCount = 1,
): AnyAccessPolicy {
  const rules = Array.from({ length: ruleCount }, (_, i) =>
    i === 0
      ? prefix('r0', '/', ['authenticated'])
      : prefix(`r${String(i)}`, `/p${String(i)}`, [`role-${String(i)}`]),
  );
  return policy({ name, namespace, hosts, rules });
}

const mappingResource = mapping(['admin'], [{ kind: 'Group', name: 'admins' }], undefined, 'm');

const get = (host: string, target: string): AuthRequest =>
  authRequest({ host, target, requestId: 'r', acceptsRedirect: false });

const options = { superRole: 'admin', noMatch: 'deny' } as const;

describe('buildSnapshot', () => {
  it('counts objects by kind and keeps their provenance', () => {
    const snapshot = buildSnapshot([accessPolicy('a', 'ns1', ['a.test']), mappingResource], {
      now: () => 1234,
      version: 'rv-7',
    });
    expect(snapshot.counts).toEqual({
      AccessPolicy: 1,
      ClusterAccessPolicy: 0,
      RoleMapping: 0,
      ClusterRoleMapping: 1,
    });
    expect(snapshot.version).toBe('rv-7');
    expect(snapshot.builtAt).toBe(1234);
    expect(snapshot.objects.map((o) => [o.kind, o.namespace, o.name, o.creationTimestamp])).toEqual(
      [
        ['AccessPolicy', 'ns1', 'a', '2025-01-01T00:00:00Z'],
        ['ClusterRoleMapping', '', 'm', '2025-01-01T00:00:00Z'],
      ],
    );
    expect(snapshot.rules.hostCount).toBe(1);
  });

  it('is frozen', () => {
    const snapshot = buildSnapshot([accessPolicy('a', 'ns1', ['a.test'])]);
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(Object.isFrozen(snapshot.objects)).toBe(true);
    expect(Object.isFrozen(snapshot.counts)).toBe(true);
    expect(() => {
      (snapshot as { version: string }).version = 'x';
    }).toThrow(TypeError);
  });

  it('derives the version from the content', () => {
    const one = buildSnapshot([accessPolicy('a', 'ns1', ['a.test'])]);
    const same = buildSnapshot([accessPolicy('a', 'ns1', ['a.test'])]);
    const other = buildSnapshot([accessPolicy('a', 'ns1', ['b.test'])]);
    expect(one.version).toBe(same.version);
    expect(one.version).not.toBe(other.version);
    expect(emptySnapshot().counts.AccessPolicy).toBe(0);
  });

  it('keeps the later of two objects with the same kind, namespace and name', () => {
    const snapshot = buildSnapshot([
      accessPolicy('a', 'ns1', ['old.test']),
      accessPolicy('a', 'ns1', ['new.test']),
    ]);
    expect(snapshot.counts.AccessPolicy).toBe(1);
    expect(decide(get('new.test', '/'), null, snapshot, options).reason).toBe(
      'authentication-required',
    );
    expect(decide(get('old.test', '/'), null, snapshot, options).reason).toBe('no-matching-rule');
  });

  it('lets a tenancy filter decide which hosts a policy governs', () => {
    const resources: PolicyResource[] = [accessPolicy('a', 'tenant-a', ['a.test', 'b.test'])];
    const snapshot = buildSnapshot(resources, {
      admitHost: (policy, host) => host.startsWith(policy.namespace.slice(-1)),
    });
    expect(decide(get('a.test', '/'), null, snapshot, options).reason).toBe(
      'authentication-required',
    );
    expect(decide(get('b.test', '/'), null, snapshot, options).reason).toBe('no-matching-rule');
  });

  it('builds 10,000 policies × 10 rules over 5,000 hosts', () => {
    const resources: PolicyResource[] = [mappingResource];
    for (let i = 0; i < 10_000; i++) {
      resources.push(
        accessPolicy(
          `p${String(i)}`,
          `ns${String(i % 500)}`,
          [`h${String(i % 5000)}.example.com`, `*.w${String(i % 5000)}.example.com`],
          10,
        ),
      );
    }
    const started = performance.now();
    const snapshot = buildSnapshot(resources);
    const elapsed = performance.now() - started;
    console.log(
      `snapshot of ${String(resources.length)} objects built in ${elapsed.toFixed(0)} ms`,
    );
    expect(snapshot.counts.AccessPolicy).toBe(10_000);
    expect(snapshot.rules.hostCount).toBe(10_000);

    const decideStarted = performance.now();
    let allowed = 0;
    for (let i = 0; i < 10_000; i++) {
      const host =
        i % 2 === 0 ? `h${String(i % 5000)}.example.com` : `x.y.w${String(i % 5000)}.example.com`;
      const result = decide(get(host, `/p${String(1 + (i % 9))}/x`), null, snapshot, options);
      if (result.reason === 'authentication-required') allowed++;
    }
    console.log(`10,000 decisions in ${(performance.now() - decideStarted).toFixed(0)} ms`);
    expect(allowed).toBe(10_000);
  });
});
