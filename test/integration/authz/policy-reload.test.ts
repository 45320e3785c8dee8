/**
 * Policy files are watched. A file that does not parse or does not validate refuses the whole
 * reload and keeps the last good snapshot (docs/architecture.md "Shape": a source that fails keeps the last
 * good snapshot), so a half-edited file can never open or close access; fixing it applies.
 */
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import { metricValue, scrape } from '../../fixtures/gatehouse/metrics-text.ts';
import { shopHost, testPolicies } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse } from '../../fixtures/gatehouse/start.ts';
import type { TestGatehouse } from '../../fixtures/gatehouse/start.ts';

let gatehouse: TestGatehouse;
beforeAll(async () => {
  gatehouse = await startTestGatehouse();
});
afterAll(async () => {
  await gatehouse.close();
});

/** Replaces the policy file in one step, as `kubectl` or a ConfigMap update would: never half-written. */
async function replacePolicies(text: string): Promise<void> {
  const temporary = join(gatehouse.policyDir, '.policies.yaml.tmp');
  await writeFile(temporary, text);
  await rename(temporary, join(gatehouse.policyDir, 'policies.yaml'));
}

async function reloads(result: 'success' | 'failure'): Promise<number> {
  return metricValue(await scrape(gatehouse.opsUrl('/metrics')), 'gatehouse_policy_reloads_total', {
    source: 'files',
    result,
  });
}

async function statusOf(path: string): Promise<number> {
  return (await nginxCheck(gatehouse, `https://${shopHost}${path}`)).status;
}

/** Polls until `probe` returns true; fails after `timeoutMs`. */
async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 3000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const newsIsPublic = testPolicies.replace(
  '    - name: public\n',
  '    - name: news\n      match: [{ path: { type: PathPrefix, value: /news } }]\n      roles: [guest]\n    - name: public\n',
);

it('applies an edit written in place (truncate and write, as a shell redirect does)', async () => {
  const target = join(gatehouse.policyDir, 'policies.yaml');
  await writeFile(target, newsIsPublic.replace('value: /news', 'value: /press'));
  await eventually('the edited policy applies', async () => (await statusOf('/press')) === 200);
  await writeFile(target, testPolicies);
  await eventually('the original policy is back', async () => (await statusOf('/press')) === 401);
});

it('keeps the last good snapshot through a syntax error and a schema error, and applies the fix', async () => {
  expect(await statusOf('/public/catalogue')).toBe(200);
  expect(await statusOf('/news')).toBe(401);
  expect(await reloads('failure')).toBe(0);
  const successesBefore = await reloads('success');

  // 1. YAML syntax error (an unclosed flow sequence).
  await replacePolicies(`${newsIsPublic}\n---\nkind: AccessPolicy\nspec: { hosts: [${shopHost}\n`);
  await eventually('a failed reload is counted', async () => (await reloads('failure')) >= 1);
  expect(await statusOf('/public/catalogue')).toBe(200);
  expect(await statusOf('/news')).toBe(401);

  // 2. Parses, but a rule has both roles and action: Deny (not allowed by the schema).
  const schemaInvalid = newsIsPublic.replace(
    '      roles: [shop-admin]\n',
    '      roles: [shop-admin]\n      action: Deny\n',
  );
  expect(schemaInvalid).not.toBe(newsIsPublic);
  await replacePolicies(schemaInvalid);
  await eventually(
    'a second failed reload is counted',
    async () => (await reloads('failure')) >= 2,
  );
  expect(await statusOf('/public/catalogue')).toBe(200);
  expect(await statusOf('/news')).toBe(401);
  expect(await statusOf('/admin')).toBe(401);
  expect((await fetch(gatehouse.opsUrl('/readyz'))).status).toBe(200);

  // 3. The fixed file applies.
  await replacePolicies(newsIsPublic);
  await eventually('the fixed policy applies', async () => (await statusOf('/news')) === 200);
  expect(await reloads('success')).toBeGreaterThan(successesBefore);
  expect(await statusOf('/admin')).toBe(401);
});

// Node's recursive fs.watch on Linux (a JS implementation that watches each file) keeps watching
// the replaced inode after a rename, so in-place edits after `sed -i`, `kubectl cp` or any
// atomic save go unnoticed. Reported to the lead; this test stays red until the source is fixed.
it('still applies an in-place edit after the file was replaced by a rename', async () => {
  const target = join(gatehouse.policyDir, 'policies.yaml');
  await writeFile(target, newsIsPublic.replace('value: /news', 'value: /careers'));
  await eventually('the edited policy applies', async () => (await statusOf('/careers')) === 200);
  expect(await statusOf('/news')).toBe(401);
});

/**
 * How the kubelet updates a mounted ConfigMap (AtomicWriter): the files live in a timestamped
 * directory, `..data` links to it, the visible names link through `..data`, and an update writes
 * a new directory and renames a new `..data` link over the old one.
 */
it('follows a ConfigMap-style update (symlinks swapped through ..data)', async () => {
  const dir = gatehouse.policyDir;
  await rm(join(dir, 'policies.yaml'));
  await mkdir(join(dir, '..2026_01_01_00_00_00.1'));
  await writeFile(
    join(dir, '..2026_01_01_00_00_00.1', 'policies.yaml'),
    newsIsPublic.replace('value: /news', 'value: /press'),
  );
  await symlink('..2026_01_01_00_00_00.1', join(dir, '..data'));
  await symlink(join('..data', 'policies.yaml'), join(dir, 'policies.yaml'));
  await eventually('the linked policy applies', async () => (await statusOf('/press')) === 200);

  await mkdir(join(dir, '..2026_01_01_00_01_00.2'));
  await writeFile(join(dir, '..2026_01_01_00_01_00.2', 'policies.yaml'), newsIsPublic);
  await symlink('..2026_01_01_00_01_00.2', join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  await eventually('the swapped policy applies', async () => (await statusOf('/news')) === 200);
  expect(await statusOf('/press')).toBe(401);
});
