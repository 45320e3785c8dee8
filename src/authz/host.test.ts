import { describe, expect, it } from 'vitest';
import { hostMatches, requestHostName } from './host.ts';
import { compareHostSpecificity } from './precedence.ts';

describe('requestHostName', () => {
  it.each([
    ['app.localhost', 'app.localhost'],
    ['app.localhost:8080', 'app.localhost'],
    ['app.localhost.', 'app.localhost'],
    ['app.localhost.:443', 'app.localhost'],
    ['[::1]:8443', '[::1]'],
    ['[::1]', '[::1]'],
    ['127.0.0.1:80', '127.0.0.1'],
  ])('%s → %s', (host, expected) => {
    expect(requestHostName(host)).toBe(expected);
  });
});

describe('hostMatches', () => {
  it.each([
    ['shop.example.com', 'shop.example.com', true],
    ['shop.example.com', 'www.shop.example.com', false],
    ['*.example.com', 'shop.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false], // never the apex
    ['*.example.com', '.example.com', false], // at least one non-empty label
    ['*.example.com', 'notexample.com', false],
  ])('%s vs %s → %s', (pattern, host, expected) => {
    expect(hostMatches(pattern, host)).toBe(expected);
  });
});

describe('compareHostSpecificity', () => {
  it('ranks exact hosts first, then longer wildcards', () => {
    const sorted = ['*.example.com', 'a.example.com', '*.a.example.com'].sort(
      compareHostSpecificity,
    );
    expect(sorted).toEqual(['a.example.com', '*.a.example.com', '*.example.com']);
  });
});
