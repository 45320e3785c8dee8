import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type DecideOptions } from '../authz/decide.ts';
import type { Identity } from '../authz/identity.ts';
import type { PolicyResource } from '../policy/resources.ts';
import { buildSnapshot } from '../policy/snapshot.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';
import { identity } from '../../test/fixtures/builders/identity.ts';
import { mapping, policy, prefix, rule } from '../../test/fixtures/builders/policy.ts';
import { diffAccess, type AccessChange, type Caller } from './access-diff.ts';
import { runs } from '../../test/property/runs.ts';

const options: DecideOptions = { superRole: 'admin', noMatch: 'deny' };

const app = (rules: Parameters<typeof policy>[0]['rules']) =>
  policy({ name: 'app', hosts: ['app.example.com'], rules });

function diff(before: PolicyResource[], after: PolicyResource[]) {
  return diffAccess(buildSnapshot(before), buildSnapshot(after), options);
}

const role = (name: string): Caller => ({ kind: 'role', role: name });

describe('gatehouse diff: who gains and who loses access', () => {
  const base = [
    prefix('public', '/public', ['guest']),
    prefix('admin', '/admin', ['app-admin']),
    prefix('app', '/', ['authenticated']),
  ];

  it('says nothing for the same policy', () => {
    expect(diff([app(base)], [app(base)])).toEqual({
      changes: [],
      widened: false,
      notEnumerated: [],
    });
  });

  it('a role added to a rule: its holders, and the subjects mapped to it, gain that region only', () => {
    const support = mapping(['support'], [{ kind: 'Group', name: 'helpdesk' }], 'demo');
    const result = diff(
      [app(base), support],
      [app([base[0]!, prefix('admin', '/admin', ['app-admin', 'support']), base[2]!]), support],
    );
    expect(result.widened).toBe(true);
    expect(result.changes).toEqual([
      {
        host: 'app.example.com',
        path: '/admin (and below)',
        methods: ['any method'],
        before: 'demo/app/admin',
        after: 'demo/app/admin',
        gained: [role('support'), { kind: 'subject', subject: 'Group helpdesk' }],
        lost: [],
      },
    ]);
  });

  it('methods on a guest rule: guests lose every other method, GET and HEAD stay open', () => {
    const result = diff(
      [app(base)],
      [app([prefix('public', '/public', ['guest'], ['GET']), base[1]!, base[2]!])],
    );
    expect(result.widened).toBe(false);
    const [change] = result.changes;
    expect(result.changes).toHaveLength(1);
    expect(change?.path).toBe('/public (and below)');
    expect(change?.methods).not.toContain('GET');
    expect(change?.methods).not.toContain('HEAD');
    // No rule names another method, so they all change alike: `*`.
    expect(change?.methods).toEqual(['*']);
    expect(change?.before).toBe('demo/app/public');
    expect(change?.after).toBe('demo/app/app');
    expect(change?.lost).toEqual([{ kind: 'guest' }]);
  });

  it('a longer Deny prefix carves out one region and leaves the rest of the prefix alone', () => {
    const result = diff([app(base)], [app([...base, prefix('secrets', '/admin/secrets', 'Deny')])]);
    expect(result.changes.map((change) => change.path)).toEqual(['/admin/secrets (and below)']);
    expect(result.changes[0]?.lost).toEqual([role('admin'), role('app-admin')]);
    expect(result.changes[0]?.after).toBe('demo/app/secrets');
  });

  it('a mapping change alone: the subject gains where its new role is asked for', () => {
    const result = diff(
      [app(base), mapping(['viewer'], [{ kind: 'User', name: 'carol' }], 'demo')],
      [app(base), mapping(['app-admin'], [{ kind: 'User', name: 'carol' }], 'demo')],
    );
    expect(result.changes).toEqual([
      expect.objectContaining({
        path: '/admin (and below)',
        gained: [{ kind: 'subject', subject: 'User carol' }],
        lost: [],
      }),
    ]);
  });

  it('a host that no policy governs any more: everyone it let in loses it (authz.noMatch deny)', () => {
    const result = diff([app(base)], []);
    expect(result.widened).toBe(false);
    expect(result.changes.find((change) => change.path === '/ (and below)')).toMatchObject({
      before: 'demo/app/app',
      after: null,
      lost: expect.arrayContaining([{ kind: 'authenticated' }]) as unknown,
    });
  });
});

/**
 * Exactness, checked against decide() itself: random policy pairs over a few paths, methods and
 * roles, and random requests (deeper paths and other segments included). Whenever a caller's
 * answer differs between the two sides, the diff must list a change for that caller that covers
 * the request; whenever the diff lists a caller, some request it covers must differ.
 */
describe('gatehouse diff is exact for paths and methods', () => {
  const segments = ['a', 'b', 'c'];
  const pathArb = fc
    .array(fc.constantFrom(...segments), { minLength: 0, maxLength: 2 })
    .map((parts) => `/${parts.join('/')}`);
  const roleArb = fc.constantFrom('r1', 'r2');
  const ruleArb = fc.record({
    type: fc.constantFrom('Exact' as const, 'PathPrefix' as const),
    path: pathArb,
    roles: fc.oneof(
      fc.constant('Deny' as const),
      fc.uniqueArray(fc.constantFrom('r1', 'r2', 'guest', 'authenticated'), {
        minLength: 1,
        maxLength: 2,
      }),
    ),
    methods: fc.option(fc.uniqueArray(fc.constantFrom('GET', 'POST', 'DELETE'), { minLength: 1 }), {
      nil: undefined,
    }),
  });
  const sideArb = fc
    .array(ruleArb, { minLength: 0, maxLength: 4 })
    .map((rules) =>
      rules.length === 0
        ? []
        : [
            app(
              rules.map((r, index) =>
                rule(`r${String(index)}`, r.type, r.path, r.roles, r.methods),
              ),
            ),
          ],
    );
  const requestPathArb = fc
    .array(fc.constantFrom(...segments, 'zz'), { minLength: 0, maxLength: 3 })
    .map((parts) => `/${parts.join('/')}`);

  const callerIdentity = (caller: Caller): Identity | null =>
    caller.kind === 'guest' ? null : identity({ user: `u-${caller.kind}` });

  /** The methods the rules of both sides name (HEAD with GET), as the diff probes them. */
  function namedMethods(sides: readonly PolicyResource[][]): Set<string> {
    const named = new Set<string>();
    for (const resource of sides.flat()) {
      if (resource.kind !== 'AccessPolicy') continue;
      for (const r of resource.spec.rules) {
        for (const match of r.match) for (const m of match.methods ?? []) named.add(m);
      }
    }
    if (named.has('GET')) named.add('HEAD');
    return named;
  }

  function covers(change: AccessChange, path: string, method: string, named: Set<string>): boolean {
    const methodCovered =
      change.methods.includes('any method') ||
      change.methods.includes(method) ||
      (change.methods.includes('*') && !named.has(method));
    const label = change.path;
    const prefixOf = (p: string) => (p === '/' ? '/' : `${p}/`);
    const pathCovered = label.endsWith(' (and below)')
      ? path === label.slice(0, -' (and below)'.length) ||
        path.startsWith(prefixOf(label.slice(0, -' (and below)'.length)))
      : label.endsWith('…')
        ? path.startsWith(label.slice(0, -1))
        : path === label;
    return methodCovered && pathCovered;
  }

  it('every difference decide() sees is listed, for guests and signed-in callers', () => {
    fc.assert(
      fc.property(
        sideArb,
        sideArb,
        requestPathArb,
        fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE', 'PUT'),
        (before, after, path, method) => {
          const result = diff(before, after);
          const request = authRequest({ host: 'app.example.com', target: path, method });
          for (const caller of [{ kind: 'guest' }, { kind: 'authenticated' }] as Caller[]) {
            const who = callerIdentity(caller);
            const was = decide(request, who, buildSnapshot(before), options).outcome === 'allow';
            const is = decide(request, who, buildSnapshot(after), options).outcome === 'allow';
            if (was === is) continue;
            const listed = result.changes.some(
              (change) =>
                covers(change, path, method, namedMethods([before, after])) &&
                (is ? change.gained : change.lost).some((c) => c.kind === caller.kind),
            );
            expect(listed, `${caller.kind} ${method} ${path}`).toBe(true);
          }
        },
      ),
      { numRuns: runs(0.1) },
    );
  });

  it('a role caller gains exactly where a holder of only that role gains', () => {
    fc.assert(
      fc.property(sideArb, sideArb, roleArb, requestPathArb, (before, after, held, path) => {
        const grant = mapping([held], [{ kind: 'User', name: 'holder' }], 'demo');
        const result = diff(before, after);
        const holder = identity({ user: 'holder' });
        const request = authRequest({ host: 'app.example.com', target: path, method: 'GET' });
        const was =
          decide(request, holder, buildSnapshot([...before, grant]), options).outcome === 'allow';
        const is =
          decide(request, holder, buildSnapshot([...after, grant]), options).outcome === 'allow';
        if (was === is) return;
        const listed = result.changes.some(
          (change) =>
            covers(change, path, 'GET', namedMethods([before, after])) &&
            (is ? change.gained : change.lost).some(
              (c) => c.kind === 'authenticated' || (c.kind === 'role' && c.role === held),
            ),
        );
        expect(listed, `${held} GET ${path}`).toBe(true);
      }),
      { numRuns: runs(0.1) },
    );
  });
});
