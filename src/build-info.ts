/**
 * What this build of gatehouse is: its version (package.json), the commit it was built from and
 * the Node.js running it. Shown by `gatehouse version` and exported as `gatehouse_build_info`, so
 * an operator can tell which build a pod runs without shelling into it.
 *
 * The commit comes from `GATEHOUSE_BUILD_COMMIT` (the image build sets it from its git context)
 * or, in a checkout, from `.git`; otherwise it is `unknown`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  readonly node: string;
}

/** package.json sits one folder above both src/ (a checkout) and dist/ (the package). */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function versionOf(root: string): string {
  const text = readText(join(root, 'package.json'));
  const parsed: unknown = text === undefined ? undefined : JSON.parse(text);
  const version =
    typeof parsed === 'object' && parsed !== null ? (parsed as { version?: unknown }).version : '';
  return typeof version === 'string' && version !== '' ? version : 'unknown';
}

/** `.git/HEAD` → the commit it names, following one symbolic ref; undefined outside a checkout. */
function checkoutCommit(root: string): string | undefined {
  const head = readText(join(root, '.git', 'HEAD'))?.trim();
  if (head === undefined) return undefined;
  if (!head.startsWith('ref: ')) return /^[0-9a-f]{40}$/.test(head) ? head : undefined;
  const ref = readText(join(root, '.git', head.slice('ref: '.length)))?.trim();
  return ref !== undefined && /^[0-9a-f]{40}$/.test(ref) ? ref : undefined;
}

export function buildInfo(
  env: Readonly<Record<string, string | undefined>> = process.env,
  root: string = packageRoot,
): BuildInfo {
  const fromEnv = env['GATEHOUSE_BUILD_COMMIT'];
  const commit =
    fromEnv !== undefined && /^[0-9a-f]{7,40}$/.test(fromEnv)
      ? fromEnv
      : (checkoutCommit(root) ?? 'unknown');
  return { version: versionOf(root), commit, node: process.version };
}
