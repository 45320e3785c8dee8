/**
 * Where scripts/bench/ensure-tools.sh builds (or finds) the benchmark's tools: `WRK`, `OPENLOOP`
 * and `OAUTH2_PROXY`, as its `--print-paths` prints them. The path is returned whether or not the
 * tool is there yet; the caller says what to run when it is missing.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname, '..');

export function benchToolPaths(): Readonly<Record<'WRK' | 'OPENLOOP' | 'OAUTH2_PROXY', string>> {
  const printed = execFileSync(
    'bash',
    [join(repoRoot, 'scripts/bench/ensure-tools.sh'), '--print-paths'],
    { encoding: 'utf8' },
  );
  const path = (name: string): string => new RegExp(`^${name}=(.*)$`, 'm').exec(printed)?.[1] ?? '';
  return { WRK: path('WRK'), OPENLOOP: path('OPENLOOP'), OAUTH2_PROXY: path('OAUTH2_PROXY') };
}
