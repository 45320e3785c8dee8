/**
 * Runs the pinned Helm (scripts/helm/ensure-helm.sh builds it once into the tools cache) against
 * charts/gatehouse, and parses what it renders.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, '../../..');
export const chartDir = resolve(repoRoot, 'charts/gatehouse');
/** The Kubernetes version the tests' API server runs (scripts/kube/versions.env). */
export const kubeVersion = '1.36.3';

/** The ci/*-values.yaml scenarios, by name (`minimal`, `sentinel`, ...). */
export const scenarios: readonly string[] = readdirSync(resolve(chartDir, 'ci'))
  .filter((file) => file.endsWith('-values.yaml'))
  .map((file) => file.slice(0, -'-values.yaml'.length))
  .sort();

export function scenarioFile(name: string): string {
  return resolve(chartDir, 'ci', `${name}-values.yaml`);
}

let helmPath: Promise<string> | undefined;

/** Path of the Helm binary, built on first use (minutes) and cached afterwards. */
export function ensureHelm(): Promise<string> {
  helmPath ??= run('bash', [resolve(repoRoot, 'scripts/helm/ensure-helm.sh')], {
    cwd: repoRoot,
    timeout: 30 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  }).then(({ stdout }) => {
    const path = stdout.trim().split('\n').at(-1);
    if (path === undefined || path === '') throw new Error('ensure-helm.sh printed no path');
    return path;
  });
  return helmPath;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm; resolves with its exit code and output (never rejects on a non-zero exit). */
export async function helm(args: readonly string[]): Promise<HelmResult> {
  const binary = await ensureHelm();
  try {
    const { stdout, stderr } = await run(binary, [...args], {
      cwd: repoRoot,
      maxBuffer: 32 * 1024 * 1024,
      // No user Helm config, cache or repositories leak into the tests.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HELM_CACHE_HOME: resolve(repoRoot, '.tools/helm-home/cache'),
        HELM_CONFIG_HOME: resolve(repoRoot, '.tools/helm-home/config'),
        HELM_DATA_HOME: resolve(repoRoot, '.tools/helm-home/data'),
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof failure.code === 'number' ? failure.code : 1,
      stdout: failure.stdout ?? '',
      stderr: failure.stderr ?? String(error),
    };
  }
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface RenderOptions {
  readonly release?: string;
  readonly namespace?: string;
  readonly valuesFiles?: readonly string[];
  readonly set?: readonly string[];
  readonly includeCrds?: boolean;
}

export function templateArgs(options: RenderOptions = {}): string[] {
  return [
    'template',
    options.release ?? 'gatehouse',
    chartDir,
    '--namespace',
    options.namespace ?? 'gatehouse',
    '--kube-version',
    kubeVersion,
    ...(options.includeCrds === true ? ['--include-crds'] : []),
    ...(options.valuesFiles ?? []).flatMap((file) => ['-f', file]),
    ...(options.set ?? []).flatMap((value) => ['--set', value]),
  ];
}

export function parseObjects(yaml: string): KubeObject[] {
  return parseAllDocuments(yaml)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(document.errors.join('\n'));
      return document.toJS() as KubeObject | null;
    })
    .filter((object): object is KubeObject => object !== null);
}

/** `helm template` → the rendered objects; throws with Helm's message when it fails. */
export async function render(options: RenderOptions = {}): Promise<KubeObject[]> {
  const result = await helm(templateArgs(options));
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseObjects(result.stdout);
}

export function find(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.find(
    (object) => object.kind === kind && (name === undefined || object.metadata.name === name),
  );
  if (found === undefined) throw new Error(`no ${kind}${name === undefined ? '' : ` ${name}`}`);
  return found;
}
