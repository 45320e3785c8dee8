/**
 * The CLI as an npm package (issue #18): `npm pack` builds dist/ (the `prepack` script) and packs
 * the compiled CLI and nothing of the development tree; `npm install -g` of the tarball on a clean
 * prefix installs the runtime dependencies only, and its `gatehouse` bin (an npm symlink into the
 * package) answers `version` and a `check` against examples/policies.
 *
 * Side effect: `npm pack` runs in the checkout, so prepack rebuilds its dist/ (`make build` does
 * the same). The install downloads the runtime dependencies (from the npm cache when it has them:
 * --prefer-offline), ~20-60 s. Skip it with GATEHOUSE_SKIP_PACKAGE=1 when iterating on something
 * else.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');
const skip = process.env.GATEHOUSE_SKIP_PACKAGE === '1';
const timeoutMs = 240_000;

interface PackageJson {
  readonly version: string;
  readonly bin?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;

/**
 * The project's Node 24 first on PATH (the machine's own node may be older), and nothing of an
 * enclosing `npm test` (npm_config_*, npm_lifecycle_*) or of a gatehouse configuration leaking in.
 */
const env: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined &&
        !entry[0].toLowerCase().startsWith('npm_') &&
        !entry[0].startsWith('GATEHOUSE_'),
    ),
  ),
  PATH: [join(repoRoot, 'node_modules/.bin'), process.env.PATH ?? ''].join(delimiter),
};

async function sh(
  file: string,
  args: readonly string[],
  cwd: string,
): Promise<{ stdout: string; stderr: string }> {
  return run(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }).catch(
    (error: unknown) => {
      const failure = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(
        `${[file, ...args].join(' ')} failed: ${failure.message}\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`,
      );
    },
  );
}

/** Every file under `folder`, as paths relative to it. */
async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1));
}

/** The package a bare import specifier names (`@scope/name/sub` → `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** Module specifiers of compiled ESM: `from '…'`, `import '…'` and `import('…')`. */
const importPattern = /\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]/g;

describe.skipIf(skip)('the npm package of the CLI', () => {
  let work = '';
  let tarball: string;
  let unpacked: string;
  let entries: string[];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-package-'));
    const destination = join(work, 'pack');
    await mkdir(destination);
    // --ignore-scripts=false: prepack must run even where a user config turns scripts off.
    await sh(
      'npm',
      ['pack', '--ignore-scripts=false', '--pack-destination', destination, '--loglevel=error'],
      repoRoot,
    );
    const packed = (await readdir(destination)).filter((name) => name.endsWith('.tgz'));
    expect(packed).toEqual([`gatehouse-${manifest.version}.tgz`]);
    tarball = join(destination, packed[0]!);
    unpacked = join(work, 'unpacked');
    await mkdir(unpacked);
    await sh('tar', ['-xzf', tarball, '-C', unpacked], work);
    entries = (await sh('tar', ['-tzf', tarball], work)).stdout.split('\n').filter(Boolean);
  }, timeoutMs);

  afterAll(async () => {
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  it('holds the compiled CLI and no development files', () => {
    expect(entries).toContain('package/package.json');
    expect(entries).toContain('package/dist/cli/gatehouse.js');
    expect(entries).toContain('package/dist/main.js');
    // Only the manifest, the documents npm and `files` add, and dist/.
    const outsideDist = entries.filter((entry) => !entry.startsWith('package/dist/'));
    expect(outsideDist.sort()).toEqual(
      ['package/CHANGELOG.md', 'package/README.md', 'package/package.json'].sort(),
    );
    expect(entries.filter((entry) => /\.(test|contract)\.|\.ts$/.test(entry))).toEqual([]);
    expect(entries.filter((entry) => !/\.(js|js\.map|json|md)$/.test(entry))).toEqual([]);
  });

  it('imports only Node built-ins and runtime dependencies, never vitest', async () => {
    const runtime = new Set(Object.keys(manifest.dependencies ?? {}));
    const builtins = new Set(builtinModules);
    const strays: string[] = [];
    for (const file of await filesUnder(join(unpacked, 'package'))) {
      if (!file.endsWith('.js')) continue;
      const text = await readFile(join(unpacked, 'package', file), 'utf8');
      expect(text, file).not.toMatch(/['"](vitest|fast-check)(\/[^'"]*)?['"]/);
      for (const match of text.matchAll(importPattern)) {
        const specifier = match[1] ?? match[2] ?? '';
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        if (builtins.has(specifier) || runtime.has(packageOf(specifier))) continue;
        strays.push(`${file}: ${specifier}`);
      }
    }
    expect(strays).toEqual([]);
  });

  it('ships an executable with a node shebang as its bin', async () => {
    const packedManifest = JSON.parse(
      await readFile(join(unpacked, 'package/package.json'), 'utf8'),
    ) as PackageJson;
    expect(packedManifest.bin).toEqual({ gatehouse: 'dist/cli/gatehouse.js' });
    const cli = await readFile(join(unpacked, 'package/dist/cli/gatehouse.js'), 'utf8');
    expect(cli.split('\n')[0]).toBe('#!/usr/bin/env node');
    // Executable in the tarball too (prepack's chmod), not only once npm links it.
    const listing = await sh('tar', ['-tvzf', tarball, 'package/dist/cli/gatehouse.js'], work);
    expect(listing.stdout).toMatch(/^-rwxr-xr-x /);
  });

  it(
    'installs globally with its runtime dependencies only, and the bin runs',
    async () => {
      const prefix = join(work, 'prefix');
      await sh(
        'npm',
        [
          'install',
          '--global',
          tarball,
          '--prefix',
          prefix,
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          '--loglevel=error',
        ],
        work,
      );
      const installed = join(prefix, 'lib/node_modules/gatehouse');
      const mode = (await stat(join(installed, 'dist/cli/gatehouse.js'))).mode;
      expect(mode & 0o111, 'dist/cli/gatehouse.js is executable').not.toBe(0);
      // Direct devDependencies that nothing at run time needs (the lockfile marks them `dev`;
      // @types/node, say, also comes with @kubernetes/client-node) must stay out.
      const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { dev?: boolean }>;
      };
      const devOnly = Object.keys(manifest.devDependencies ?? {}).filter(
        (name) => lock.packages[`node_modules/${name}`]?.dev === true,
      );
      expect(devOnly).toContain('vitest');
      expect(devOnly).toContain('node');
      const leaked: string[] = [];
      for (const name of devOnly) {
        const found = await stat(join(installed, 'node_modules', name)).then(
          () => true,
          () => false,
        );
        if (found) leaked.push(name);
      }
      expect(leaked).toEqual([]);

      // The bin is npm's symlink prefix/bin/gatehouse → ../lib/node_modules/gatehouse/dist/…;
      // the CLI must still see that it was invoked directly. cwd: outside the checkout.
      const bin = join(prefix, 'bin/gatehouse');
      const version = await sh(bin, ['version'], work);
      expect(version.stdout).toMatch(new RegExp(`^gatehouse ${manifest.version}\\n`));
      expect(version.stdout).toMatch(/^node v24\./m);

      const check = await sh(
        bin,
        [
          'check',
          '--policies',
          join(repoRoot, 'examples/policies'),
          'GET',
          'http://app.localhost/public/',
        ],
        work,
      );
      expect(check.stdout).toMatch(/^outcome:\s+allow\b/m);
    },
    timeoutMs,
  );
});
