import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../../authz/identity.ts';
import type { AuthRequest } from '../../../authz/auth-request.ts';
import { decide } from '../../../authz/decide.ts';
import type { PolicyChangeEvent, ReloadResult } from '../../policy-source.ts';
import type { PolicyResource } from '../../resources.ts';
import { buildSnapshot } from '../../snapshot.ts';
import type { PolicySnapshot } from '../../snapshot.ts';
import { FilePolicySource, PolicyDocumentLoader, loadPolicyDocuments } from './file-source.ts';
import { authRequest } from '../../../../test/fixtures/builders/auth-request.ts';
import { person } from '../../../../test/fixtures/builders/identity.ts';
import { examplePolicyCounts } from '../../../../test/fixtures/builders/policy.ts';
import { useTempDirectory } from '../../../../test/fixtures/builders/temp-directory.ts';
import { capturingLogger } from '../../../../test/fixtures/gatehouse/log-capture.ts';

const examples = join(import.meta.dirname, '../../../../examples/policies');

const get = (host: string, target: string, method = 'GET'): AuthRequest =>
  authRequest({ dialect: 'forward-auth', scheme: 'http', host, target, method, requestId: 'r' });

const options = { superRole: 'admin', noMatch: 'deny' } as const;

const goodPolicy = `
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: shop, namespace: shop }
spec:
  hosts: [shop.test]
  rules:
    - name: all
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [guest]
`;

/** The same policy with a path value that does not start with "/": the schema refuses it. */
const brokenPolicy = goodPolicy.replace('value: / }', 'value: nope }');

describe('FilePolicySource on the examples', () => {
  it('loads them and they mean what the README says', async () => {
    const { logger } = capturingLogger();
    const source = new FilePolicySource({ directory: examples, logger, watch: false });
    await source.start();
    expect(source.ready()).toBe(true);
    const snapshot = source.current()!;
    expect(snapshot.counts).toEqual(examplePolicyCounts);

    const alice = person('alice', { email: 'alice@example.com' });
    const bob = person('bob', { email: 'bob@other.org' });
    const root = person('root', { groups: ['gatehouse-admins'] });
    // A token of the `ci` issuer, for the API's audience (examples/policies/api.yaml).
    const robot = person('robot', {
      claims: { client_id: 'ci-deployer' },
      method: 'bearer',
      provider: 'ci',
      audiences: ['demo-api'],
    });
    const cases: [AuthRequest, Identity | null, string][] = [
      [get('app.localhost', '/public/logo.png'), null, 'role-granted'],
      [get('app.localhost', '/'), null, 'authentication-required'],
      [get('app.localhost', '/'), bob, 'role-granted'],
      [get('app.localhost', '/admin'), alice, 'role-granted'],
      [get('app.localhost', '/admin'), bob, 'missing-role'],
      [get('app.localhost', '/admin'), root, 'super-role'],
      [get('app.localhost', '/metrics'), root, 'deny-rule'],
      [get('app.localhost', '//admin'), bob, 'missing-role'],
      [get('app.localhost', '/public/../admin'), bob, 'ambiguous-path'],
      [get('api.localhost', '/healthz'), null, 'role-granted'],
      [get('api.localhost', '/v1/items'), alice, 'role-granted'], // api-reader by email domain
      [get('api.localhost', '/v1/items', 'POST'), alice, 'missing-role'],
      [get('api.localhost', '/v1/items', 'POST'), robot, 'role-granted'],
      [get('grafana.localhost', '/'), bob, 'role-granted'], // the *.localhost fallback
      [get('grafana.localhost', '/'), null, 'authentication-required'],
      [get('localhost', '/'), bob, 'no-matching-rule'], // a wildcard never matches its apex
    ];
    for (const [request, who, reason] of cases) {
      expect([
        request.host,
        request.method,
        request.path,
        who?.user,
        decide(request, who, snapshot, options).reason,
      ]).toEqual([request.host, request.method, request.path, who?.user, reason]);
    }
    await source.stop();
  });
});

describe('FilePolicySource in a temporary directory', () => {
  const temp = useTempDirectory('gatehouse-policy-');

  it('keeps the last good snapshot when a file breaks, reports where, and reloads once fixed', async () => {
    const { logger, lines } = capturingLogger();
    let clock = Date.parse('2025-03-01T00:00:00Z');
    const source = new FilePolicySource({
      directory: temp.path,
      logger,
      watch: false,
      now: () => clock,
    });
    const changes: PolicyChangeEvent[] = [];
    const reloads: ReloadResult[] = [];
    source.onChange((_snapshot, event) => changes.push(event));
    source.onReload((result) => reloads.push(result));

    await writeFile(join(temp.path, 'shop.yaml'), goodPolicy);
    await source.start();
    const first = source.current()!;
    expect(decide(get('shop.test', '/'), null, first, options).outcome).toBe('allow');
    expect(changes).toEqual([{ source: 'files', version: first.version, previousVersion: null }]);

    // The same content again: no swap, and the file-loaded object keeps its first-seen time.
    clock += 60_000;
    await expect(source.reload()).resolves.toMatchObject({ ok: true, changed: false });
    expect(first.objects[0]!.creationTimestamp).toBe('2025-03-01T00:00:00.000Z');

    await writeFile(join(temp.path, 'shop.yaml'), brokenPolicy);
    await writeFile(join(temp.path, 'other.yml'), 'kind: [unclosed\n');
    const failed = await source.reload();
    expect(failed.ok).toBe(false);
    if (!failed.ok) {
      expect(failed.problems).toEqual(
        expect.arrayContaining([
          {
            file: join(temp.path, 'shop.yaml'),
            document: 1,
            line: 9,
            object: 'AccessPolicy shop/shop',
            path: 'spec.rules[0].match[0].path.value',
            message: 'must start with "/" (got "nope")',
          },
          expect.objectContaining({
            file: join(temp.path, 'other.yml'),
            document: 1,
            path: '',
            message: expect.stringContaining('YAML syntax error'),
          }),
        ]),
      );
    }
    expect(source.current()).toBe(first);
    expect(source.ready()).toBe(true);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        file: join(temp.path, 'shop.yaml'),
        object: 'AccessPolicy shop/shop',
        field: 'spec.rules[0].match[0].path.value',
        msg: 'must start with "/" (got "nope")',
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 50,
        msg: 'policy reload refused; keeping the last good snapshot',
      }),
    );

    await rm(join(temp.path, 'other.yml'));
    await writeFile(
      join(temp.path, 'shop.yaml'),
      goodPolicy.replace('[shop.test]', '[shop.test, www.shop.test]'),
    );
    const fixed = await source.reload();
    expect(fixed).toMatchObject({ ok: true, changed: true });
    const second = source.current()!;
    expect(second).not.toBe(first);
    expect(decide(get('www.shop.test', '/'), null, second, options).outcome).toBe('allow');
    expect(changes.at(-1)).toEqual({
      source: 'files',
      version: second.version,
      previousVersion: first.version,
    });
    expect(reloads.map((r) => r.ok)).toEqual([true, true, false, true]);
    await source.stop();
  });

  it('rescans unchanged files without parsing them again, and still sees the next edit', async () => {
    const { logger } = capturingLogger();
    const source = new FilePolicySource({ directory: temp.path, logger, watch: false });
    await writeFile(join(temp.path, 'shop.yaml'), goodPolicy);
    await source.start();
    const first = source.current()!;
    // Parsing 10,000 policies costs seconds of CPU: the periodic rescan must not pay it for
    // files that did not change (issue 17).
    const parsed = vi.spyOn(PolicyDocumentLoader.prototype, 'add');
    try {
      await expect(source.reload()).resolves.toEqual({
        ok: true,
        version: first.version,
        changed: false,
        counts: first.counts,
      });
      expect(parsed).not.toHaveBeenCalled();
      await writeFile(join(temp.path, 'shop.yaml'), brokenPolicy);
      await expect(source.reload()).resolves.toMatchObject({ ok: false });
      // Back to the bytes of the last good load: nothing to parse, nothing to swap.
      await writeFile(join(temp.path, 'shop.yaml'), goodPolicy);
      parsed.mockClear();
      await expect(source.reload()).resolves.toMatchObject({ ok: true, changed: false });
      expect(parsed).not.toHaveBeenCalled();
      await writeFile(join(temp.path, 'shop.yaml'), goodPolicy.replace('shop.test]', 'b.test]'));
      await expect(source.reload()).resolves.toMatchObject({ ok: true, changed: true });
      expect(parsed).toHaveBeenCalledTimes(1);
      expect(decide(get('b.test', '/'), null, source.current()!, options).outcome).toBe('allow');
    } finally {
      parsed.mockRestore();
      await source.stop();
    }
  });

  it('is not ready while the first load fails', async () => {
    const { logger } = capturingLogger();
    await writeFile(join(temp.path, 'shop.yaml'), brokenPolicy);
    const source = new FilePolicySource({ directory: temp.path, logger, watch: false });
    await source.start();
    expect(source.ready()).toBe(false);
    expect(source.current()).toBeNull();
    await source.stop();
  });

  it('refuses to start on a directory that does not exist', async () => {
    const { logger } = capturingLogger();
    const source = new FilePolicySource({
      directory: join(temp.path, 'missing'),
      logger,
      watch: false,
    });
    await expect(source.start()).rejects.toThrow(/ENOENT/);
  });

  it('reads nested directories and skips hidden entries (ConfigMap ..data twins)', async () => {
    const { logger } = capturingLogger();
    await mkdir(join(temp.path, 'team', 'sub'), { recursive: true });
    await mkdir(join(temp.path, '..data'));
    await writeFile(join(temp.path, 'team', 'sub', 'shop.yml'), goodPolicy);
    await writeFile(join(temp.path, '..data', 'shop.yaml'), goodPolicy);
    await writeFile(join(temp.path, '.hidden.yaml'), brokenPolicy);
    await writeFile(join(temp.path, 'README.md'), '# not a manifest');
    const source = new FilePolicySource({ directory: temp.path, logger, watch: false });
    await source.start();
    expect(source.current()?.counts.AccessPolicy).toBe(1);
    await source.stop();
  });

  it('watches the directory and reloads after a change', async () => {
    const { logger } = capturingLogger();
    await writeFile(join(temp.path, 'shop.yaml'), goodPolicy);
    const source = new FilePolicySource({ directory: temp.path, logger, debounceMs: 50 });
    await source.start();
    const changed = new Promise<PolicySnapshot>((resolve) => {
      source.onChange((snapshot) => {
        resolve(snapshot);
      });
    });
    await writeFile(
      join(temp.path, 'more.yaml'),
      goodPolicy.replace('name: shop,', 'name: more,').replace('shop.test', 'more.test'),
    );
    const snapshot = await changed;
    expect(decide(get('more.test', '/'), null, snapshot, options).outcome).toBe('allow');
    await source.stop();
  });
});

/** A policy whose last rule closes /admin: cut off before it, /admin falls to the guest rule. */
const guardedPolicy = `${goodPolicy.trimStart()}    - name: admin
      match: [{ path: { type: PathPrefix, value: /admin } }]
      action: Deny
`;
const cutAt = guardedPolicy.indexOf('    - name: admin');

/** Rewrites `path` in place, as `>` in a shell or a non-atomic editor does: truncate, then write. */
async function writeInPlace(path: string, parts: readonly string[], pauseMs: number) {
  const handle = await open(path, 'w');
  try {
    for (const [index, part] of parts.entries()) {
      if (index > 0) await sleep(pauseMs);
      await handle.write(part);
    }
  } finally {
    await handle.close();
  }
}

describe('FilePolicySource and files written in place (non-atomic writes)', () => {
  const temp = useTempDirectory('gatehouse-policy-');

  it('never loads the first half of a file written in two halves with a pause', async () => {
    const { logger } = capturingLogger();
    const file = join(temp.path, 'shop.yaml');
    await writeFile(file, guardedPolicy.replace('/admin', '/staff'));
    const source = new FilePolicySource({
      directory: temp.path,
      logger,
      debounceMs: 20,
      stableMs: 200,
    });
    await source.start();
    const seen: PolicySnapshot[] = [];
    source.onChange((snapshot) => seen.push(snapshot));

    // The first half alone is valid YAML and a valid policy, without the Deny rule.
    expect(
      loadPolicyDocuments([{ path: file, text: guardedPolicy.slice(0, cutAt) }]),
    ).toMatchObject({ problems: [] });
    await writeInPlace(file, [guardedPolicy.slice(0, cutAt), guardedPolicy.slice(cutAt)], 120);
    for (let waited = 0; seen.length === 0 && waited < 5000; waited += 50) await sleep(50);
    await sleep(400); // a late reload of a half would show up here

    expect(seen.length).toBeGreaterThan(0);
    for (const snapshot of seen) {
      expect(decide(get('shop.test', '/admin'), null, snapshot, options).reason).toBe('deny-rule');
    }
    await source.stop();
  });

  it('refuses a reload in which a file that held objects now holds none, until it is deleted', async () => {
    const { logger, lines } = capturingLogger();
    const file = join(temp.path, 'shop.yaml');
    await writeFile(file, guardedPolicy);
    await writeFile(
      join(temp.path, 'other.yaml'),
      goodPolicy.replace('name: shop,', 'name: other,').replace('shop.test', 'other.test'),
    );
    const source = new FilePolicySource({
      directory: temp.path,
      logger,
      watch: false,
      stableMs: 0,
    });
    const reloads: ReloadResult[] = [];
    source.onReload((result) => reloads.push(result));
    await source.start();
    const first = source.current()!;

    for (const text of ['', '# being rewritten\n', '---\n']) {
      await writeFile(file, text);
      const result = await source.reload();
      expect(result).toEqual({
        ok: false,
        problems: [
          {
            file,
            path: '',
            message:
              'held 1 object and now holds none: refused, as a file being rewritten in place looks the same; delete the file to remove its objects, and replace files atomically (write a temporary file, then rename it)',
          },
        ],
      });
      expect(source.current()).toBe(first);
    }
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, file, msg: expect.stringContaining('now holds none') }),
    );
    expect(reloads.map((r) => r.ok)).toEqual([true, false, false, false]);

    await rm(file);
    await expect(source.reload()).resolves.toMatchObject({ ok: true, changed: true });
    expect(source.current()?.counts.AccessPolicy).toBe(1);
    await source.stop();
  });

  it('keeps /admin closed while a file is truncated and rewritten after a long pause', async () => {
    const { logger } = capturingLogger();
    const file = join(temp.path, 'shop.yaml');
    await writeFile(file, guardedPolicy);
    const source = new FilePolicySource({
      directory: temp.path,
      logger,
      debounceMs: 20,
      stableMs: 100,
    });
    const reloads: ReloadResult[] = [];
    source.onReload((result) => reloads.push(result));
    await source.start();
    const first = source.current()!;

    // Truncated, then nothing for longer than the quiet period: the empty file is stable.
    await writeInPlace(
      file,
      ['', guardedPolicy.replace('[shop.test]', '[shop.test, a.test]')],
      600,
    );
    for (let waited = 0; source.current() === first && waited < 5000; waited += 50) {
      await sleep(50);
    }
    expect(reloads.some((result) => !result.ok)).toBe(true);
    expect(decide(get('a.test', '/admin'), null, source.current()!, options).reason).toBe(
      'deny-rule',
    );
    await source.stop();
  });
});

/** Policies beyond the examples: a guardrail, step-up, matches a description cannot be. */
const unusualPolicies = `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: guard }
spec:
  hosts: [app.localhost, '*.unusual.test']
  rules:
    - name: no-debug
      enforcement: Guardrail
      match: [{ methods: [GET], path: { type: PathPrefix, value: /debug/ } }]
      action: Deny
---
apiVersion: gatehouse.dev/v1alpha1
kind: AccessPolicy
metadata: { name: unusual, namespace: demo }
spec:
  hosts: [a.unusual.test]
  mode: Audit
  rules:
    - name: default-path
      match: [{ methods: [POST] }]
      roles: [authenticated]
    - name: exact-first
      match:
        - path: { value: /admin, type: Exact }
        - path: { type: PathPrefix, value: /admin/ }
          headers: [{ name: X-Tenant, value: blue }]
      roles: [app-admin]
      authentication: { maxAge: 5m }
`;

describe('loadPolicyDocuments', () => {
  it('yields frozen copies that decide exactly as the objects the Kubernetes API hands over', async () => {
    const files = [{ path: 'unusual.yaml', text: unusualPolicies }];
    for (const name of ['api.yaml', 'app.yaml', 'fallback.yaml', 'role-mappings.yaml']) {
      files.push({ path: name, text: await readFile(join(examples, name), 'utf8') });
    }
    const loaded = loadPolicyDocuments(files);
    expect(loaded.problems).toEqual([]);
    expect(loaded.resources.every((resource) => Object.isFrozen(resource.spec))).toBe(true);
    // What the Kubernetes source builds from: plain, unfrozen objects decoded from JSON.
    const plain = JSON.parse(JSON.stringify(loaded.resources)) as PolicyResource[];
    const fromFiles = buildSnapshot(loaded.resources, { now: () => 0 });
    const fromApi = buildSnapshot(plain, { now: () => 0 });
    expect(fromFiles.version).toBe(fromApi.version);

    const people = [
      null,
      person('alice', { email: 'alice@example.com' }),
      person('root', { groups: ['gatehouse-admins', 'admins'] }),
      person('robot', {
        claims: { client_id: 'ci-deployer' },
        method: 'bearer',
        provider: 'ci',
        audiences: ['demo-api'],
      }),
    ];
    const hosts = ['app.localhost', 'api.localhost', 'grafana.localhost', 'a.unusual.test'];
    const targets = ['/', '/public/x', '/admin', '/admin/', '/admin/x', '/metrics', '/debug/x'];
    targets.push('/healthz', '/healthz/live', '/v1/items', '/v1/reports?format=csv', '/other');
    const reasons = new Set<string>();
    let compared = 0;
    for (const host of hosts) {
      for (const target of targets) {
        for (const method of ['GET', 'HEAD', 'POST', 'OPTIONS']) {
          const request = authRequest({
            host,
            target,
            method,
            headers: { 'x-tenant': 'blue', 'user-agent': 'legacy-sync/1.2' },
          });
          for (const who of people) {
            const decided = decide(request, who, fromFiles, options);
            // Byte for byte: the same rule, match description and key order in logs and output.
            expect(JSON.stringify(decided)).toBe(
              JSON.stringify(decide(request, who, fromApi, options)),
            );
            reasons.add(decided.reason);
            compared++;
          }
        }
      }
    }
    expect(compared).toBe(768);
    expect(reasons.size).toBeGreaterThanOrEqual(6);
  });

  it('reads multi-document files, lists and defaults, and reports duplicates with their origin', () => {
    const loaded = loadPolicyDocuments(
      [
        {
          path: 'a.yaml',
          text: `---\n${goodPolicy}\n---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: gatehouse.dev/v1alpha1\n    kind: RoleMapping\n    metadata: { name: m }\n    spec: { roles: [x], subjects: [{ kind: Group, name: g }] }\n`,
        },
        { path: 'b.yaml', text: goodPolicy },
      ],
      { creationTimestampFor: () => '2025-02-02T00:00:00Z' },
    );
    expect(loaded.keys).toEqual(['AccessPolicy/shop/shop', 'RoleMapping/default/m']);
    expect(loaded.resources[1]!.metadata).toEqual({
      name: 'm',
      namespace: 'default',
      creationTimestamp: '2025-02-02T00:00:00Z',
    });
    expect(loaded.problems).toEqual([
      {
        file: 'b.yaml',
        document: 1,
        line: 4,
        object: 'AccessPolicy shop/shop',
        path: 'metadata.name',
        message: 'defined twice: also in a.yaml (document 1)',
      },
    ]);
  });

  it('locates problems inside list items and rejects unknown kinds', () => {
    const loaded = loadPolicyDocuments([
      {
        path: 'c.yaml',
        text: 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: gatehouse.dev/v1alpha1\n    kind: ClusterRoleMapping\n    metadata: { name: m }\n    spec: { roles: [x], subjects: [{ kind: Team, name: g }] }\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n',
      },
    ]);
    expect(loaded.resources).toEqual([]);
    expect(loaded.problems).toEqual([
      expect.objectContaining({
        document: 1,
        line: 7,
        object: 'ClusterRoleMapping m',
        path: 'items[0].spec.subjects[0].kind',
      }),
      expect.objectContaining({ document: 2, path: 'apiVersion' }),
      expect.objectContaining({ document: 2, path: 'kind', object: 'Deployment web' }),
    ]);
  });

  it('refuses duplicate keys, alias bombs and recursive aliases', () => {
    const loaded = loadPolicyDocuments([
      { path: 'd.yaml', text: 'kind: AccessPolicy\nkind: RoleMapping\n' },
      {
        path: 'e.yaml',
        text: `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [${'*a, '.repeat(50)}*a]\nc: [${'*b, '.repeat(50)}*b]\n`,
      },
      // A valid policy whose free-form annotations hold an anchor used inside its own node.
      {
        path: 'f.yaml',
        text: goodPolicy.replace(
          'namespace: shop }',
          'namespace: shop, annotations: &n { x: *n } }',
        ),
      },
    ]);
    expect(loaded.problems.map((p) => [p.file, p.message.split(':')[0]])).toEqual([
      ['d.yaml', 'YAML syntax error'],
      ['e.yaml', 'cannot read YAML'],
      ['f.yaml', 'cannot read YAML'],
    ]);
  });
});
