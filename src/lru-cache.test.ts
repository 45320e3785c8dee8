import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.ts';

describe('LruCache', () => {
  it('evicts the least recently used entry when full', () => {
    const cache = new LruCache<string, number>({ maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // `a` is now the most recently used
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('never serves an entry at or past its expiry and forgets it', () => {
    let now = 1000;
    const cache = new LruCache<string, string>({ maxEntries: 10, now: () => now });
    cache.set('token', 'alice', 2000);
    now = 1999;
    expect(cache.get('token')).toBe('alice');
    now = 2000;
    expect(cache.get('token')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('does not store an already expired entry and drops the value it replaces', () => {
    let now = 5000;
    const cache = new LruCache<string, string>({ maxEntries: 10, now: () => now });
    cache.set('k', 'old', 9000);
    cache.set('k', 'new', 4000);
    expect(cache.get('k')).toBeUndefined();
    now = 0;
    expect(cache.get('k')).toBeUndefined();
  });

  it('overwriting a key keeps a single entry', () => {
    const cache = new LruCache<string, number>({ maxEntries: 3 });
    cache.set('a', 1);
    cache.set('a', 2);
    expect(cache.size).toBe(1);
    expect(cache.get('a')).toBe(2);
    expect(cache.delete('a')).toBe(true);
    expect(cache.get('a')).toBeUndefined();
  });

  it('keeps the exact order when the newest entry is hit again and after deletes', () => {
    const cache = new LruCache<string, number>({ maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('b')).toBe(2);
    expect(cache.get('b')).toBe(2);
    expect(cache.get('a')).toBe(1); // a is now the most recent: b goes first
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    // The newest entry deleted: the next hit on another entry moves that one to the end.
    cache.delete('a');
    cache.set('d', 4);
    expect(cache.get('c')).toBe(3);
    cache.set('e', 5);
    expect(cache.get('d')).toBeUndefined();
    expect(cache.get('c')).toBe(3);
    cache.clear();
    cache.set('f', 6);
    cache.set('g', 7);
    expect(cache.get('f')).toBe(6);
    cache.set('h', 8);
    expect(cache.get('g')).toBeUndefined();
  });

  it('rejects a non-positive bound', () => {
    expect(() => new LruCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});
