/**
 * The layering of docs/architecture.md ("Layout and the direction of dependencies"), checked on
 * every file of src/: no layer below imports `http/` or `cli/`, and `authz/` (the pure decision)
 * imports no module with I/O. A violation names the file and the import.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = resolve(import.meta.dirname, '../../src');

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return Promise.resolve(entry.name.endsWith('.ts') ? [path] : []);
    }),
  );
  return files.flat();
}

/** `{ file: 'authz/decide.ts', target: 'policy/snapshot.ts' }` for every relative import. */
async function imports(): Promise<{ file: string; target: string }[]> {
  const result: { file: string; target: string }[] = [];
  for (const path of await sourceFiles(src)) {
    const text = await readFile(path, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)) {
      const target = relative(src, resolve(path, '..', match[1] ?? ''));
      result.push({ file: relative(src, path), target });
    }
  }
  return result;
}

const topLayers = ['http/', 'cli/', 'main.ts', 'composition/'];
const pureModules = ['authz/'];
/** What the pure decision may use: types and pure helpers only. */
const ioModules = [
  'sessions/',
  'oidc/',
  'http/',
  'cli/',
  'main.ts',
  'composition/',
  'metrics/',
  'audit/',
];

describe('the direction of dependencies', () => {
  it('no module below http/ and cli/ imports them', async () => {
    const upward = (await imports()).filter(
      ({ file, target }) =>
        !topLayers.some((layer) => file.startsWith(layer)) &&
        topLayers.some((layer) => target.startsWith(layer)),
    );
    expect(upward).toEqual([]);
  });

  it('authz/ (the pure decision) imports no module with I/O', async () => {
    const impure = (await imports()).filter(
      ({ file, target }) =>
        pureModules.some((layer) => file.startsWith(layer)) &&
        !file.endsWith('.test.ts') &&
        ioModules.some((layer) => target.startsWith(layer)),
    );
    expect(impure).toEqual([]);
  });

  it('authz/ depends on nothing above it but the resource schema: the identity and the decision index are its own types', async () => {
    const outward = (await imports()).filter(
      ({ file, target }) =>
        file.startsWith('authz/') &&
        !file.endsWith('.test.ts') &&
        !target.startsWith('authz/') &&
        target !== 'policy/resources.ts',
    );
    expect(outward).toEqual([]);
  });

  it('authn/ (the authenticators) does not reach up into the sign-in flows of oidc/', async () => {
    const sideways = (await imports()).filter(
      ({ file, target }) => file.startsWith('authn/') && target.startsWith('oidc/'),
    );
    expect(sideways).toEqual([]);
  });
});
