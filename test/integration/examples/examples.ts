/**
 * The proxy examples under examples/ (Gateway API implementations, NGINX Gateway Fabric, F5 NGINX
 * Ingress Controller, ingress-nginx), read the way kubectl reads them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoRoot = resolve(import.meta.dirname, '../../..');

/** The folders of proxy examples; examples/gatehouse.yaml and examples/policies are not manifests of a proxy. */
export const exampleFolders = [
  'examples/gateway-api/envoy-gateway',
  'examples/gateway-api/traefik',
  'examples/nginx-gateway-fabric',
  'examples/f5-nginx-ingress',
  'examples/ingress-nginx',
] as const;

export type ExampleFolder = (typeof exampleFolders)[number];

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
  [field: string]: unknown;
}

export interface ExampleFile {
  /** Relative to the repository, e.g. examples/ingress-nginx/app.yaml. */
  readonly path: string;
  readonly objects: readonly ManifestObject[];
}

function parseManifests(text: string, path: string): ManifestObject[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) {
        throw new Error(`${path}: ${document.errors.map(String).join('\n')}`);
      }
      return document.toJS() as ManifestObject | null;
    })
    .filter((object): object is ManifestObject => object !== null);
}

export function exampleFiles(folder: ExampleFolder): ExampleFile[] {
  const dir = resolve(repoRoot, folder);
  return (
    readdirSync(dir)
      // gatehouse-values.yaml files are Helm values for charts/gatehouse, not manifests.
      .filter((name) => name.endsWith('.yaml') && !name.endsWith('-values.yaml'))
      .sort()
      .map((name) => {
        const path = relative(repoRoot, join(dir, name));
        return { path, objects: parseManifests(readFileSync(join(dir, name), 'utf8'), path) };
      })
  );
}

/** The one object of `kind` (and `name`) in a folder's files; throws when there is not exactly one. */
export function exampleObject(folder: ExampleFolder, kind: string, name?: string): ManifestObject {
  const found = exampleFiles(folder)
    .flatMap((file) => file.objects)
    .filter(
      (object) => object.kind === kind && (name === undefined || object.metadata.name === name),
    );
  if (found.length !== 1) {
    throw new Error(
      `${folder}: expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${String(found.length)}`,
    );
  }
  return found[0]!;
}

export { parseManifests };

/** The chart values shipped with an example (examples/gateway-api/<proxy>/gatehouse-values.yaml). */
export const exampleChartValues = [
  'examples/gateway-api/envoy-gateway/gatehouse-values.yaml',
  'examples/gateway-api/traefik/gatehouse-values.yaml',
] as const;
