// Writes the generated reference documents (`make docs`).
import { writeFileSync } from 'node:fs';
import { configurationReference } from '../src/config/reference.ts';
import { policyReferenceExamples } from '../src/policy/reference-examples.ts';
import { policyReference } from '../src/policy/reference.ts';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), configurationReference());
writeFileSync(
  new URL('../docs/policy-reference.md', import.meta.url),
  policyReference(policyReferenceExamples()),
);
process.stdout.write('wrote docs/configuration.md and docs/policy-reference.md\n');
