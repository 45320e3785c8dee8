import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalisePath, splitTarget } from './path.ts';

describe('normalisePath', () => {
  it.each([
    ['/', '/'],
    ['//admin', '/admin'],
    ['/a//b///c', '/a/b/c'],
    ['/admin/', '/admin/'],
    ['/admin//', '/admin/'],
    ['/ADMIN', '/ADMIN'], // case is kept: matching is case-sensitive
    ['/%7E', '/~'],
    ['/%7euser', '/~user'],
    ['/%41%62%2D%5f%2e', '/Ab-_.'],
    ['/a.%2eb', '/a..b'], // a decoded dot inside a longer segment is harmless
    ['/a/.%2e./b', '/a/.../b'],
    ['/a%20b', '/a%20b'],
    ['/a%3db', '/a%3Db'], // hex case of kept escapes is normalised
    ['/%25', '/%25'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/%F0%9F%98%80', '/%F0%9F%98%80'],
  ])('%s → %s', (raw, expected) => {
    expect(normalisePath(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'does not start'],
    ['admin', 'does not start'],
    ['*', 'does not start'],
    // Literal dot-segments too (attack review finding 4): nginx and Caddy pass the raw path, and
    // a Koa or Express upstream routes `/admin/../public/x` under /admin.
    ['/admin/../public/x', 'dot-segment'],
    ['/public/../admin', 'dot-segment'],
    ['/public/./admin', 'dot-segment'],
    ['/a/b/c/./../../g', 'dot-segment'],
    ['/../admin', 'dot-segment'],
    ['/..', 'dot-segment'],
    ['/a/..', 'dot-segment'],
    ['/a/.', 'dot-segment'],
    ['/.', 'dot-segment'],
    ['/public/%2e%2e/admin', 'dot-segment'],
    ['/public/%2E%2E/admin', 'dot-segment'],
    ['/public/.%2e/admin', 'dot-segment'],
    ['/public/%2e./admin', 'dot-segment'],
    ['/public/%2e/admin', 'dot-segment'],
    ['/%2e%2e', 'dot-segment'],
    ['/public%2F..%2Fadmin', 'encoded "/"'],
    ['/a%2fb', 'encoded "/"'],
    ['/a%5Cb', 'encoded "\\"'],
    ['/admin;x', 'path parameter'], // Tomcat routes it to /admin
    ['/admin;jsessionid=1/x', 'path parameter'],
    ['/admin%3Bx', 'encoded ";"'],
    ['/public\\..\\admin', 'backslash'],
    ['\\admin', 'does not start'],
    ['/public/%00', 'control'],
    ['/a%0d%0aSet-Cookie:x', 'control'],
    ['/a%7F', 'control'],
    ['/a%09b', 'control'],
    ['/a\u0000b', 'control'],
    ['/a\tb', 'control'],
    ['/a\u007fb', 'control'],
    ['/%C2%85', 'control'], // C1 control U+0085
    ['/%C0%AE%C0%AE/admin', 'invalid UTF-8'], // overlong "."
    ['/%C0%AF', 'invalid UTF-8'], // overlong "/"
    ['/%E0%80%AF', 'invalid UTF-8'], // 3-byte overlong "/"
    ['/%F0%80%80%AF', 'invalid UTF-8'], // 4-byte overlong
    ['/%80', 'invalid UTF-8'], // lone continuation byte
    ['/%C3', 'invalid UTF-8'], // truncated
    ['/%C3/', 'invalid UTF-8'],
    ['/%E2%82', 'invalid UTF-8'],
    ['/%ED%A0%80', 'invalid UTF-8'], // UTF-16 surrogate
    ['/%F4%90%80%80', 'invalid UTF-8'], // above U+10FFFF
    ['/%FF', 'invalid UTF-8'],
    ['/%C3é', 'invalid UTF-8'],
    ['/café', 'non-ASCII'],
    ['/%', 'malformed'],
    ['/%4', 'malformed'],
    ['/%G1', 'malformed'],
    ['/%%32%65', 'malformed'],
  ])('%j is ambiguous (%s)', (raw, problem) => {
    const result = normalisePath(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toContain(problem);
  });

  it('is idempotent', () => {
    const pathChar = fc.constantFrom(
      'a',
      'Z',
      '0',
      '-',
      '.',
      '_',
      '~',
      '/',
      '%2e',
      '%2E',
      '%41',
      '%7e',
      '%20',
      '%3b',
      '%C3%A9',
      ';',
      '..',
      '%25',
    );
    fc.assert(
      fc.property(fc.array(pathChar, { maxLength: 20 }), (parts) => {
        const first = normalisePath(`/${parts.join('')}`);
        if (!first.ok) return;
        expect(normalisePath(first.value)).toEqual(first);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly the well-formed UTF-8 without controls (checked against TextDecoder)', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 6 }), (bytes) => {
        const raw = `/${[...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`;
        let wellFormed = true;
        let text = '';
        try {
          text = decoder.decode(bytes);
        } catch {
          wellFormed = false;
        }
        let hasControlOrSeparator = false;
        for (let i = 0; i < text.length; i++) {
          const code = text.charCodeAt(i);
          if (
            code < 0x20 ||
            (code >= 0x7f && code <= 0x9f) ||
            code === 0x2f ||
            code === 0x5c ||
            code === 0x3b
          ) {
            hasControlOrSeparator = true;
          }
        }
        const harmless = wellFormed && !hasControlOrSeparator && !/^\.{1,2}$/.test(text);
        expect(normalisePath(raw).ok).toBe(harmless);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('splitTarget', () => {
  it.each([
    ['/a/b?x=1#frag', { authority: null, path: '/a/b', query: 'x=1', fragment: 'frag' }],
    ['/a#f?not-query', { authority: null, path: '/a', query: null, fragment: 'f?not-query' }],
    ['/a?', { authority: null, path: '/a', query: '', fragment: null }],
    ['/%2e%2e/x?y', { authority: null, path: '/%2e%2e/x', query: 'y', fragment: null }],
    [
      'https://app.localhost:8443/p/q?r',
      { authority: 'app.localhost:8443', path: '/p/q', query: 'r', fragment: null },
    ],
    [
      'http://app.localhost',
      { authority: 'app.localhost', path: '/', query: null, fragment: null },
    ],
    [
      'http://app.localhost?x',
      { authority: 'app.localhost', path: '/', query: 'x', fragment: null },
    ],
    // WHATWG URL would turn "\" into "/": the path keeps it so normalisePath refuses it.
    ['http://host\\admin', { authority: 'host', path: '\\admin', query: null, fragment: null }],
  ])('%s', (target, expected) => {
    expect(splitTarget(target)).toEqual(expected);
  });

  it('leaves the path for normalisePath to judge', () => {
    expect(normalisePath(splitTarget('http://host\\admin').path).ok).toBe(false);
    expect(normalisePath(splitTarget('/public/x?y=/../admin').path)).toEqual({
      ok: true,
      value: '/public/x',
    });
    expect(normalisePath(splitTarget('/public/../admin?x=/public').path).ok).toBe(false);
  });
});
