// Writes the generated reference documents (`make docs`).
import { writeFileSync } from 'node:fs';
import { configurationReference } from '../src/config/reference.ts';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), configurationReference());
process.stdout.write('wrote docs/configuration.md\n');
