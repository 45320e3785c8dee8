/**
 * The policy source is imported only when configured (issue 17): a `files` gatehouse must not
 * carry @kubernetes/client-node (about 970 modules, 41 MB of idle RSS measured). Module loading
 * is per process, so each case runs in a fresh Node process that records what it resolved.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const repoRoot = new URL('../..', import.meta.url).pathname;

interface Outcome {
  readonly name?: string;
  readonly error?: string;
  readonly kubernetesClientLoaded: boolean;
}

/**
 * Builds the source `env` configures, in a child process, and reports its name (or the start
 * error) and whether @kubernetes/client-node was loaded.
 */
async function buildInChild(env: Record<string, string>): Promise<Outcome> {
  const script = `
    import { registerHooks } from 'node:module';
    const resolved = [];
    registerHooks({
      resolve(specifier, context, next) {
        const result = next(specifier, context);
        resolved.push(result.url);
        return result;
      },
    });
    const { pino } = await import('pino');
    const { loadConfig } = await import('./src/config/load.ts');
    const { createRuntime } = await import('./src/composition/runtime.ts');
    const { buildPolicySource } = await import('./src/composition/policy.ts');
    const loaded = loadConfig({ env: process.env });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const runtime = createRuntime({ logger: pino({ level: 'silent' }), processMetrics: false });
    const outcome = {};
    try {
      outcome.name = (await buildPolicySource(loaded.config, runtime)).name;
    } catch (error) {
      outcome.error = error.message;
    }
    outcome.kubernetesClientLoaded = resolved.some((url) => url.includes('/@kubernetes/client-node/'));
    process.stdout.write(JSON.stringify(outcome));
  `;
  const childEnv: Record<string, string> = { PATH: process.env['PATH'] ?? '', ...env };
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--input-type=module', '--eval', script],
    { cwd: repoRoot, env: childEnv },
  );
  return JSON.parse(stdout) as Outcome;
}

describe('buildPolicySource imports only the configured source', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gatehouse-policy-source-'));
    await writeFile(
      join(directory, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: test, cluster: { server: "https://127.0.0.1:1" } }]',
        'users: [{ name: test, user: { token: unused } }]',
        'contexts: [{ name: test, context: { cluster: test, user: test } }]',
        'current-context: test',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('a files source never loads the Kubernetes client', async () => {
    const outcome = await buildInChild({
      GATEHOUSE_POLICY__SOURCE: 'files',
      GATEHOUSE_POLICY__FILES__DIRECTORY: directory,
      GATEHOUSE_POLICY__FILES__WATCH: 'false',
    });
    expect(outcome).toEqual({ name: 'files', kubernetesClientLoaded: false });
  });

  it('a kubernetes source loads it and is built from the kubeconfig', async () => {
    const outcome = await buildInChild({
      GATEHOUSE_POLICY__SOURCE: 'kubernetes',
      GATEHOUSE_POLICY__KUBERNETES__KUBECONFIG: join(directory, 'kubeconfig'),
    });
    expect(outcome).toEqual({ name: 'kubernetes', kubernetesClientLoaded: true });
  });
});
