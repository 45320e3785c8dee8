import { describe, expect, it } from 'vitest';
import { CompactPool } from './compact.ts';

const policy = {
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'AccessPolicy',
  metadata: { name: 'shop', namespace: 'shop', labels: { team: 'shop' }, generation: 3 },
  spec: {
    hosts: ['shop.example.com'],
    rules: [
      {
        name: 'assets',
        match: [{ methods: ['GET', 'HEAD'], path: { value: '/static', type: 'PathPrefix' } }],
        roles: ['guest'],
      },
      { name: 'app', match: [{ path: { type: 'PathPrefix', value: '/' } }], roles: ['guest'] },
    ],
  },
};

describe('CompactPool', () => {
  it('copies a decoded object exactly, key order included, without touching the source', () => {
    const source = structuredClone(policy);
    const copy = new CompactPool().copy(source);
    expect(copy).not.toBe(source);
    expect(copy).toStrictEqual(policy);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(policy));
    expect(source).toStrictEqual(policy);
    expect(Object.isFrozen(source)).toBe(false);
  });

  it('freezes every level, so nothing shared can be changed through one object', () => {
    const copy = new CompactPool().copy(structuredClone(policy));
    const rule = copy.spec.rules[0]!;
    expect(Object.isFrozen(copy)).toBe(true);
    expect(Object.isFrozen(copy.spec.rules)).toBe(true);
    expect(Object.isFrozen(rule.match[0]!.path)).toBe(true);
    expect(() => {
      rule.roles.push('admin');
    }).toThrow(TypeError);
    expect(() => {
      (rule.match[0]!.path as { value: string }).value = '/';
    }).toThrow(TypeError);
  });

  it('shares equal lists of strings across the objects it copies, and only equal ones', () => {
    const pool = new CompactPool();
    const first = pool.copy(structuredClone(policy));
    const second = pool.copy(structuredClone(policy));
    expect(second.spec.rules[0]!.roles).toBe(first.spec.rules[0]!.roles);
    expect(second.spec.rules[1]!.roles).toBe(first.spec.rules[0]!.roles);
    expect(second.spec.hosts).toBe(first.spec.hosts);
    const assets = first.spec.rules[0]!.match[0]!;
    const reordered = pool.copy({ methods: ['HEAD', 'GET'] });
    expect(reordered.methods).toEqual(['HEAD', 'GET']);
    expect('methods' in assets && reordered.methods !== assets.methods).toBe(true);
  });

  it('keeps values JSON cannot carry: NaN, infinities, -0 and a `__proto__` key', () => {
    const source = JSON.parse('{"metadata":{"annotations":{"__proto__":{"x":"y"}}}}') as {
      metadata: { annotations: Record<string, unknown> };
    };
    Object.assign(source.metadata, { nan: Number.NaN, inf: -Infinity, zero: -0, list: ['a', 1] });
    const copy = new CompactPool().copy(source);
    expect(copy).toStrictEqual(source);
    expect(Object.is(copy.metadata['zero' as keyof typeof copy.metadata], -0)).toBe(true);
    expect(Object.getPrototypeOf(copy.metadata.annotations)).toBe(Object.prototype);
    expect(Object.hasOwn(copy.metadata.annotations, '__proto__')).toBe(true);
    expect(Object.isFrozen(copy.metadata.annotations['__proto__'])).toBe(true);
  });
});
