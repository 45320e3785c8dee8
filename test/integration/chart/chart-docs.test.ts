/**
 * Generated files that must not drift from their sources: the chart README's values table
 * (values.yaml comments), the `config` part of values.schema.json (src/config/schema.ts) and
 * manifests/install.yaml (the chart with default values). And every example under
 * manifests/examples/ parses, and every example policy is one gatehouse accepts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadPolicyDocuments } from '../../../src/policy/sources/files/load-policy-documents.ts';
import {
  readmePath,
  renderReadme,
  valueRows,
  valuesPath,
} from '../../../scripts/helm/values-table.ts';
import { renderValuesSchema, valuesSchemaPath } from '../../../scripts/helm/values-schema.ts';
import { ensureHelm, repoRoot } from './helm.ts';

const run = promisify(execFile);
const examplesDir = resolve(repoRoot, 'manifests/examples');

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

describe('charts/gatehouse/README.md', () => {
  it('lists every value of values.yaml with its default (node scripts/helm/values-table.ts)', async () => {
    const [readme, values] = await Promise.all([
      readFile(readmePath, 'utf8'),
      readFile(valuesPath, 'utf8'),
    ]);
    expect(await renderReadme(readme, values)).toBe(readme);
    for (const row of valueRows(values)) expect(readme).toContain(`| \`${row.key}\``);
  });

  it('refuses a value without a description', () => {
    expect(() => valueRows('# -- documented\na: 1\nb: 2\n')).toThrow(
      /no "# -- description" above: b/,
    );
  });
});

describe('charts/gatehouse/values.schema.json', () => {
  it('its config part is generated from src/config/schema.ts (node scripts/helm/values-schema.ts)', async () => {
    const current = await readFile(valuesSchemaPath, 'utf8');
    expect(await renderValuesSchema(current)).toBe(current);
  });
});

describe('manifests/install.yaml', () => {
  it(
    'is the chart rendered with default values (scripts/helm/render-manifests.sh)',
    { timeout: 30 * 60_000 },
    async () => {
      await ensureHelm();
      const out = await mkdtemp(join(tmpdir(), 'gatehouse-manifests-'));
      try {
        await run('bash', [resolve(repoRoot, 'scripts/helm/render-manifests.sh'), out], {
          cwd: repoRoot,
          maxBuffer: 32 * 1024 * 1024,
        });
        const [fresh, committed] = await Promise.all([
          readFile(join(out, 'install.yaml'), 'utf8'),
          readFile(resolve(repoRoot, 'manifests/install.yaml'), 'utf8'),
        ]);
        expect(committed, 'run scripts/helm/render-manifests.sh').toBe(fresh);
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    },
  );
});

describe('manifests/examples', () => {
  it('covers every ingress and gateway of docs/install.md', async () => {
    const files = (await filesUnder(examplesDir)).map((file) => relative(examplesDir, file));
    for (const folder of [
      'ingress-nginx/',
      'traefik/',
      'envoy-gateway/',
      'istio/',
      'caddy/',
      'policies/',
    ]) {
      expect(
        files.some((file) => file.startsWith(folder)),
        folder,
      ).toBe(true);
    }
  });

  it('every YAML example parses', async () => {
    for (const file of (await filesUnder(examplesDir)).filter((name) => name.endsWith('.yaml'))) {
      for (const document of parseAllDocuments(await readFile(file, 'utf8'))) {
        expect(document.errors, file).toEqual([]);
      }
    }
  });

  it('every example policy passes validation, with zero problems', async () => {
    const files = await Promise.all(
      (await filesUnder(resolve(examplesDir, 'policies'))).map(async (path) => ({
        path: relative(repoRoot, path),
        text: await readFile(path, 'utf8'),
      })),
    );
    expect(files.length).toBeGreaterThanOrEqual(4);
    const loaded = loadPolicyDocuments(files);
    expect(loaded.problems).toEqual([]);
    const kinds = new Set(loaded.resources.map((resource) => resource.kind));
    expect([...kinds].sort()).toEqual(['AccessPolicy', 'ClusterRoleMapping', 'RoleMapping']);
    const profiles = loaded.resources.flatMap((resource) =>
      resource.kind === 'AccessPolicy' && resource.spec.identityHeaders !== undefined
        ? [resource.spec.identityHeaders]
        : [],
    );
    expect(profiles.sort()).toEqual(['remote', 'sec']);
  });
});
