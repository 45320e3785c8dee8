/**
 * The chart as a release artifact (scripts/helm/package.sh): the package carries the
 * application's version (package.json) as version and appVersion, the CRDs and the files the
 * templates read, not the ci/ scenarios, installs from the .tgz alone, and its Artifact Hub
 * annotations say true things (the image it installs, the CRDs it ships).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartDir, ensureHelm, helm, kubeVersion, parseObjects, repoRoot } from './helm.ts';

const run = promisify(execFile);

interface ChartYaml {
  name: string;
  version: string;
  appVersion: string;
  annotations: Record<string, string>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('scripts/helm/package.sh', () => {
  let out: string;
  let extracted: string;
  let tarball: string;
  let version: string;

  beforeAll(async () => {
    await ensureHelm();
    version = (
      JSON.parse(await readFile(resolve(repoRoot, 'package.json'), 'utf8')) as { version: string }
    ).version;
    out = await mkdtemp(join(tmpdir(), 'gatehouse-chart-'));
    const { stdout } = await run('bash', [resolve(repoRoot, 'scripts/helm/package.sh'), out], {
      cwd: repoRoot,
      maxBuffer: 16 * 1024 * 1024,
    });
    tarball = stdout.trim();
    extracted = join(out, 'extracted');
    await run('mkdir', ['-p', extracted]);
    await run('tar', ['-xzf', tarball, '-C', extracted]);
  }, 30 * 60_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('writes gatehouse-<package.json version>.tgz with that version and appVersion', async () => {
    expect(tarball).toBe(join(out, `gatehouse-${version}.tgz`));
    const chart = parse(
      await readFile(join(extracted, 'gatehouse/Chart.yaml'), 'utf8'),
    ) as ChartYaml;
    expect(chart.name).toBe('gatehouse');
    expect(chart.version).toBe(version);
    expect(chart.appVersion).toBe(version);
  });

  it('holds the CRDs and the files the templates read, and none of the ci/ scenarios', async () => {
    const files = await filesUnder(join(extracted, 'gatehouse'));
    for (const file of [
      'Chart.yaml',
      'README.md',
      'values.yaml',
      'values.schema.json',
      'crds/gatehouse.dev_crds.yaml',
      'dashboards/gatehouse.json',
      'files/rbac-rules.yaml',
      'templates/deployment.yaml',
      'templates/httproute.yaml',
    ]) {
      expect(files).toContain(file);
    }
    expect(files.filter((file) => file.startsWith('ci/'))).toEqual([]);
    expect(await readFile(join(extracted, 'gatehouse/crds/gatehouse.dev_crds.yaml'), 'utf8')).toBe(
      await readFile(resolve(chartDir, 'crds/gatehouse.dev_crds.yaml'), 'utf8'),
    );
  });

  it('renders from the .tgz alone, CRDs included', { timeout: 120_000 }, async () => {
    const result = await helm([
      'template',
      'gatehouse',
      tarball,
      '--namespace',
      'gatehouse',
      '--kube-version',
      kubeVersion,
      '--include-crds',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const kinds = parseObjects(result.stdout).map((object) => object.kind);
    expect(kinds.filter((kind) => kind === 'CustomResourceDefinition')).toHaveLength(5);
    expect(kinds).toContain('Deployment');
  });

  it('has Artifact Hub annotations that match what the chart installs', async () => {
    const chart = parse(
      await readFile(join(extracted, 'gatehouse/Chart.yaml'), 'utf8'),
    ) as ChartYaml;
    const annotations = chart.annotations;
    expect(annotations['artifacthub.io/license']).toBe('Apache-2.0');
    const links = parse(annotations['artifacthub.io/links'] ?? '') as {
      name: string;
      url: string;
    }[];
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(link.url).toMatch(/^https:\/\//);
    // The image the chart installs by default (image.repository:appVersion).
    const images = parse(annotations['artifacthub.io/images'] ?? '') as { image: string }[];
    expect(images.map(({ image }) => image)).toContain(`ghcr.io/gatehouse/gatehouse:${version}`);
    const values = parse(await readFile(join(extracted, 'gatehouse/values.yaml'), 'utf8')) as {
      redis: { embedded: { image: { repository: string; tag: string } } };
    };
    const redis = values.redis.embedded.image;
    expect(images.map(({ image }) => image)).toContain(`${redis.repository}:${redis.tag}`);
    // Every CRD of crds/, by name, kind and version.
    const crds = parseObjects(
      await readFile(join(extracted, 'gatehouse/crds/gatehouse.dev_crds.yaml'), 'utf8'),
    ) as unknown as {
      metadata: { name: string };
      spec: { names: { kind: string }; versions: { name: string }[] };
    }[];
    const annotated = parse(annotations['artifacthub.io/crds'] ?? '') as {
      name: string;
      kind: string;
      version: string;
    }[];
    expect(
      annotated.map(({ name, kind, version: crdVersion }) => [name, kind, crdVersion]).sort(),
    ).toEqual(
      crds
        .map((crd) => [crd.metadata.name, crd.spec.names.kind, crd.spec.versions[0]?.name])
        .sort(),
    );
    // Artifact Hub's change kinds (https://artifacthub.io/docs/topics/annotations/helm/).
    const changes = parse(annotations['artifacthub.io/changes'] ?? '') as { kind: string }[];
    expect(changes.length).toBeGreaterThan(0);
    for (const change of changes) {
      expect(['added', 'changed', 'deprecated', 'removed', 'fixed', 'security']).toContain(
        change.kind,
      );
    }
  });
});
