/**
 * The `gatehouse serve` command as Kubernetes runs it: a bad configuration is reported in full
 * and nothing starts; SIGTERM fails readiness first, lets in-flight checks finish, and exits 0
 * (docs/architecture.md "Configuration"; operations-app `accepting`).
 */
import { createServer } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, findFreePort, listenOnLoopback } from '../../fixtures/gatehouse/free-port.ts';
import { send, statusOrRefused as statusOrError } from '../../fixtures/gatehouse/http-client.ts';
import type { RawResponse } from '../../fixtures/gatehouse/http-client.ts';
import { shopHost, testPolicies } from '../../fixtures/gatehouse/policies.ts';
import { runNode, runOnFreshPorts, within, type NodeRun } from '../../fixtures/process/child.ts';

/** Runs the CLI with only the variables given (no GATEHOUSE_* of the test process leaks in). */
const runCli = (args: readonly string[], env: Readonly<Record<string, string>> = {}): NodeRun =>
  runNode(['src/cli/gatehouse.ts', ...args], env);

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('a bad configuration', () => {
  it('lists every problem with its setting path on stderr and exits non-zero without starting', async () => {
    const operationsPort = await findFreePort();
    const file = join(workDir, 'bad.yaml');
    await writeFile(
      file,
      [
        'listeners:',
        '  main: { port: 70000 }',
        `  operations: { host: 127.0.0.1, port: ${String(operationsPort)} }`,
        'log: { level: loud }',
        'trustedProxies: [not-an-ip]',
        'authz: { noMatch: maybe }',
        'server: { shutdownDelay: soon }',
        'routes: { prefix: oauth2/ }',
        '',
      ].join('\n'),
    );
    const run = runCli(['serve', '--config', file]);
    const code = await within(run.exited, 10_000, 'exit');
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const { stderr, stdout } = run.output;
    for (const line of [
      'listeners.main.port: must be a port number',
      'log.level: must be one of',
      'trustedProxies[0]: "not-an-ip" is not an IP address or CIDR',
      'authz.noMatch: must be one of deny, authenticate, allow',
      'server.shutdownDelay: "soon" is not a duration',
      'routes.prefix: must start with "/"',
    ]) {
      expect(stderr).toContain(line);
    }
    expect(stderr).toMatch(/6 problem/);
    expect(stdout).not.toContain('listening');
    expect(await statusOrError(`http://127.0.0.1:${String(operationsPort)}/healthz`)).toBe(
      'refused',
    );
  });
});

describe('graceful shutdown', () => {
  const hangingJwks = createServer(() => undefined);
  let run: NodeRun | undefined;
  afterAll(async () => {
    if (run !== undefined && run.child.exitCode === null) run.child.kill('SIGKILL');
    await closeServer(hangingJwks);
  });

  it('fails /readyz first on SIGTERM, finishes the in-flight check and exits 0', async () => {
    const hangingIssuer = await listenOnLoopback(hangingJwks);
    const policyDir = join(workDir, 'policies');
    await rm(policyDir, { recursive: true, force: true });
    await mkdir(policyDir);
    await writeFile(join(policyDir, 'policies.yaml'), testPolicies);
    const file = join(workDir, 'good.yaml');
    // Fresh ports until gatehouse binds them (another test may take a port picked free).
    const started = await runOnFreshPorts({
      name: 'gatehouse serve',
      prepare: async ({ mainPort, operationsPort }) => {
        await writeFile(
          file,
          `
listeners:
  main: { host: 127.0.0.1, port: ${String(mainPort)} }
  operations: { host: 127.0.0.1, port: ${String(operationsPort)} }
log: { level: info }
policy: { files: { directory: ${policyDir} } }
bearer:
  issuers:
    - name: slow-idp
      issuer: ${hangingIssuer}
      jwksUri: ${hangingIssuer}/jwks.json
      audiences: [shop-api]
      algorithms: [RS256]
`,
        );
        return ['src/cli/gatehouse.ts', 'serve', '--config', file];
      },
      ready: async (_run, { operations }) => (await statusOrError(`${operations}/readyz`)) === 200,
      env: { GATEHOUSE_SERVER__SHUTDOWN_DELAY: '1s' },
      timeoutMs: 10_000,
    });
    run = started.run;
    const { main } = started.ports;
    const readyz = `${started.ports.operations}/readyz`;

    // A check that waits for the JWKS endpoint (about 2 s, the fetch timeout): in flight at SIGTERM.
    const token = await new SignJWT({ sub: 'user-1', aud: 'shop-api', iss: hangingIssuer })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setExpirationTime('10m')
      .sign((await generateKeyPair('RS256')).privateKey);
    const slow: Promise<RawResponse> = send(main, {
      path: `/authz/nginx?host=${shopHost}`,
      headers: [
        ['X-Original-Method', 'GET'],
        ['X-Original-URL', `https://${shopHost}/admin`],
        ['Authorization', `Bearer ${token}`],
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const signalledAt = performance.now();
    run.child.kill('SIGTERM');

    // Readiness fails at once, while the main listener still answers during the delay.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await statusOrError(readyz)).toBe(503);
    const during = await send(main, {
      path: `/authz/nginx?host=${shopHost}`,
      headers: [
        ['X-Original-Method', 'GET'],
        ['X-Original-URL', `https://${shopHost}/public/catalogue`],
      ],
    });
    expect(during.status).toBe(200);

    const slowResponse = await within(slow, 5000, 'the in-flight check');
    expect(slowResponse.status).toBe(503); // fail closed: the keys never came
    const code = await within(run.exited, 4000, 'exit after SIGTERM');
    expect(code).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(1000 + 2000 + 500);
    expect(run.output.stdout).toContain('gatehouse stopped');
  });
});
