import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configurationReference } from './reference.ts';

describe('configuration reference', () => {
  const reference = configurationReference();

  it('documents every top-level section and every default once', () => {
    for (const setting of ['publicUrl', 'listeners.main.port', 'sessions.cookie.name']) {
      expect(reference).toContain(`\`${setting}\``);
    }
    expect(reference).toMatch(/\| `listeners\.main\.port` \| integer \| `8080` \|/);
    expect(reference).toMatch(/`sessions\.redis\.password` \| string \(secret\)/);
  });

  it('matches docs/configuration.md (run `make docs` after changing the schema)', () => {
    const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(committed).toBe(reference);
  });
});
