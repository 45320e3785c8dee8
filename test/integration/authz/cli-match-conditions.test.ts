/**
 * Issue #19 in `gatehouse check` and `gatehouse test`: requests carry headers, a query and the
 * client address a trusted proxy would report; the output says which conditions selected the
 * rule, why a query was refused, and which policy let a CORS preflight through. Input that could
 * be read two ways (a header given twice) is refused, never repaired.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCommand } from '../../../src/cli/commands/check.ts';
import { policyTestCommand } from '../../../src/cli/commands/policy-test.ts';
import { projectRoot, runCli } from '../../fixtures/builders/cli.ts';

const examples = ['--policies', 'examples/policies'];

describe('gatehouse check with match conditions', () => {
  it('explains which header condition selected the rule', async () => {
    const run = await runCli(checkCommand, [
      ...examples,
      '--user',
      'bob@example.com',
      '--header',
      'User-Agent: legacy-sync/1.9',
      'GET',
      'http://api.localhost/v1/orders',
    ]);
    expect(run.status).toBe(4);
    expect(run.stdout).toMatch(/^rule: +retired-client$/m);
    expect(run.stdout).toMatch(
      /^matched: +path PathPrefix \/v1, .*header User-Agent ~ \/legacy-sync\/1\\\.\.\*\/$/m,
    );
  });

  it('reads the query from the URL and reports an ambiguous one with the rule that tests it', async () => {
    const run = await runCli(checkCommand, [
      ...examples,
      '--output',
      'json',
      '--user',
      'bob@example.com',
      'GET',
      'http://api.localhost/v1/reports/q1?format=json&FORMAT=csv',
    ]);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      outcome: 'forbidden',
      reason: 'ambiguous-query',
      rule: null,
      query: 'format=json&FORMAT=csv',
      ambiguity: {
        policy: { kind: 'AccessPolicy', namespace: 'demo', policy: 'api' },
        rule: 'csv-export',
        problem: expect.stringMatching(/another case/) as unknown,
      },
    });
  });

  it('matches sourceCIDRs only on the client address given, canonical', async () => {
    const inside = await runCli(checkCommand, [
      ...examples,
      '--client-address',
      '::ffff:10.3.2.1',
      'GET',
      'http://api.localhost/metrics',
    ]);
    expect(inside.status).toBe(0);
    expect(inside.stdout).toMatch(/^matched: +path Exact \/metrics, client in 10\.0\.0\.0\/8$/m);
    expect(inside.stdout).toMatch(/^client: +10\.3\.2\.1$/m);
    const unknown = await runCli(checkCommand, [
      ...examples,
      'GET',
      'http://api.localhost/metrics',
    ]);
    expect(unknown.status).toBe(3);
  });

  it('names the policy whose preflight: Allow passed a CORS preflight', async () => {
    const run = await runCli(checkCommand, [
      ...examples,
      '--header',
      'Origin: https://shop.localhost',
      '--header',
      'Access-Control-Request-Method: DELETE',
      'OPTIONS',
      'http://api.localhost/v1/orders/7',
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^reason: +cors-preflight: /m);
    expect(run.stdout).toMatch(
      /^policy: +AccessPolicy demo\/api \(preflight: Allow; no rule decided\)$/m,
    );
  });

  it.each([
    [['--header', 'Origin: a', '--header', 'origin: b'], /header "origin" is given twice/],
    [['--header', 'no colon'], /--header "no colon" must be "Name: value"/],
    [['--header', 'Bad Name: x'], /"Bad Name" is not an HTTP header name/],
    [['--client-address', '10.0.0.0/8'], /"10\.0\.0\.0\/8" is not an IP address/],
  ])('refuses ambiguous or malformed input %j (exit 2)', async (options, message) => {
    const run = await runCli(checkCommand, [
      ...examples,
      ...options,
      'GET',
      'http://api.localhost/',
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

describe('gatehouse test with match conditions', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-match-tests-'));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  async function runFile(text: string) {
    const file = join(workDir, `${String(Math.random()).slice(2)}.yaml`);
    await writeFile(file, `policies: ${join(projectRoot, 'examples/policies')}\n${text}`);
    return runCli(policyTestCommand, [file]);
  }

  it('says which conditions selected the rule when a case fails', async () => {
    const run = await runFile(`cases:
  - name: writers only
    request:
      method: GET
      url: http://api.localhost/v1/orders
      headers: { User-Agent: legacy-sync/1.0 }
    identity: { user: bob@example.com }
    expect: { outcome: allow }
`);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      '✗ writers only — expected allow, got forbidden/deny-rule (rule demo/api/retired-client on path PathPrefix /v1, methods GET, HEAD, POST, PUT, PATCH, DELETE, header User-Agent ~ /legacy-sync/1\\..*/)',
    );
  });

  it('reports bad request fields by case and field', async () => {
    const run = await runFile(`cases:
  - name: bad
    request:
      method: GET
      url: http://api.localhost/
      headers: [Origin]
      clientAddress: somewhere
      body: x
    expect: { outcome: allow }
`);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /cases\[0\]\.request\.body: unknown field; known fields here: method, url, headers, clientAddress/,
    );
    expect(run.stderr).toMatch(
      /cases\[0\]\.request\.headers: must be a mapping of names to values/,
    );
    expect(run.stderr).toMatch(
      /cases\[0\]\.request\.clientAddress: "somewhere" is not an IP address/,
    );
  });

  it('refuses one header given in two spellings', async () => {
    const run = await runFile(`cases:
  - name: twice
    request:
      method: OPTIONS
      url: http://api.localhost/
      headers: { Origin: a, origin: b }
    expect: { outcome: allow }
`);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/cases\[0\]\.request\.headers: header "origin" is given twice/);
  });
});
