import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policyReferenceExamples } from './reference-examples.ts';
import { policyReference } from './reference.ts';

describe('policy reference', () => {
  const reference = policyReference(policyReferenceExamples());

  it('lists every spec field with its constraints', () => {
    expect(reference).toContain('| `hosts` | list of string | yes | 1–64 items');
    expect(reference).toContain(
      '| `rules[].match[].path.type` | `Exact` \\| `PathPrefix` \\| `RegularExpression` | yes |',
    );
    expect(reference).toContain(
      '| `subjects[].kind` | `User` \\| `Group` \\| `EmailDomain` \\| `Claim` \\| `Organisation` |',
    );
  });

  it('matches docs/policy-reference.md (run `make docs` after changing the resources)', () => {
    const committed = readFileSync(
      new URL('../../docs/policy-reference.md', import.meta.url),
      'utf8',
    );
    expect(committed).toBe(reference);
  });
});
