import { describe, expect, it } from 'vitest';
import { formatPath, formatProblems } from './problems.ts';

describe('formatProblems', () => {
  it('lists every problem as path: message with where it came from', () => {
    expect(
      formatProblems([
        { path: '', message: 'invalid YAML: bad indentation', source: 'gatehouse.yaml:3:1' },
        { path: 'listeners.main.port', message: 'must be a port number (1-65535)' },
      ]),
    ).toBe(
      [
        'Invalid configuration (2 problems):',
        '  - invalid YAML: bad indentation (gatehouse.yaml:3:1)',
        '  - listeners.main.port: must be a port number (1-65535)',
      ].join('\n'),
    );
  });
});

describe('formatPath', () => {
  it('writes indexes in brackets and quotes keys that are not names', () => {
    expect(formatPath(['providers', 0, 'name'])).toBe('providers[0].name');
    expect(formatPath(['identityHeaders', 'custom', 'X-User'])).toBe(
      'identityHeaders.custom["X-User"]',
    );
  });
});
