/**
 * Policy sets for the benchmarks, written as the same CRD manifests an operator applies:
 *
 * - `benchPolicyManifest`: the one small policy scenarios (b)–(e) and (g) check against;
 * - `generatePolicySet`: scenario (f), N AccessPolicies × R rules over H hosts (10,000 × 10
 *   over 5,000 in the issue; the 10-policy baseline keeps the same two policies per host), with
 *   1,000 distinct request URLs that hit guest rules all over the set, so a load spreads over
 *   the index instead of hammering one entry.
 *
 * Usage as a script (writes YAML files, one per 100 policies, into DIR):
 *   node bench/generate-policies.ts --policies 10000 --rules 10 --hosts 5000 --out DIR
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';

/** Host of the small policy; requests name it in `X-Original-URL` or `Host`. */
export const benchHost = 'bench.test';
/** A `guest` rule: anyone passes (scenario (b), (g) guest). */
export const guestPath = '/public/index.html';
/** An `authenticated` rule: a session or a bearer token passes (scenarios (c)–(e), (g) bearer). */
export const signedInPath = '/app/dashboard';

/** The small policy set: the docs/architecture.md shop shape on `bench.test`, plus its role mapping. */
export function benchPolicyManifest(): string {
  const policy = {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name: 'bench', namespace: 'bench' },
    spec: {
      hosts: [benchHost],
      rules: [
        {
          name: 'assets',
          match: [{ path: { type: 'PathPrefix', value: '/static' }, methods: ['GET', 'HEAD'] }],
          roles: ['guest'],
        },
        {
          name: 'public',
          match: [{ path: { type: 'PathPrefix', value: '/public' } }],
          roles: ['guest'],
        },
        {
          name: 'admin',
          match: [{ path: { type: 'PathPrefix', value: '/admin' } }],
          roles: ['bench-admin'],
        },
        {
          name: 'metrics',
          match: [{ path: { type: 'Exact', value: '/metrics' } }],
          action: 'Deny',
        },
        {
          name: 'app',
          match: [{ path: { type: 'PathPrefix', value: '/' } }],
          roles: ['authenticated'],
        },
      ],
    },
  };
  const roleMapping = {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'RoleMapping',
    metadata: { name: 'bench-admins', namespace: 'bench' },
    spec: { roles: ['bench-admin'], subjects: [{ kind: 'Group', name: 'admins' }] },
  };
  return `${stringify(policy)}---\n${stringify(roleMapping)}`;
}

export interface PolicySetShape {
  readonly policies: number;
  readonly rulesPerPolicy: number;
  readonly hosts: number;
}

export interface GeneratedPolicySet {
  /** Multi-document YAML files: name → text. */
  readonly files: ReadonlyMap<string, string>;
  /** Absolute URLs that each hit a `guest` rule (expected answer: 200). */
  readonly sampleUrls: readonly string[];
}

/** Every 50th host is a wildcard (`*.wN.bench.test`), so both host indexes are exercised. */
function hostOf(index: number): { pattern: string; requestHost: string } {
  if (index % 50 === 49) {
    return {
      pattern: `*.w${String(index)}.bench.test`,
      requestHost: `app.w${String(index)}.bench.test`,
    };
  }
  return {
    pattern: `svc-${String(index)}.team-${String(index % 200)}.bench.test`,
    requestHost: `svc-${String(index)}.team-${String(index % 200)}.bench.test`,
  };
}

/** Rule k of policy i: mostly guest path prefixes, an exact health path, a method-bound rule and a
 * signed-in rule, like a real application's policy. */
function ruleOf(policy: number, rule: number): Record<string, unknown> {
  const base = `/p${String(policy)}`;
  const name = `r${String(rule)}`;
  switch (rule % 5) {
    case 3:
      return {
        name,
        match: [
          { path: { type: 'PathPrefix', value: `${base}/${name}` }, methods: ['GET', 'HEAD'] },
        ],
        roles: ['guest'],
      };
    case 4:
      return {
        name,
        match: [{ path: { type: 'Exact', value: `${base}/${name}` } }],
        roles: ['authenticated', `team-${String(policy % 200)}`],
      };
    default:
      return {
        name,
        match: [{ path: { type: 'PathPrefix', value: `${base}/${name}` } }],
        roles: ['guest'],
      };
  }
}

/** A path under a guest rule of `policy` (rules with k % 5 in 0..3 are guest). */
function guestRequestPath(policy: number, rulesPerPolicy: number): string {
  const rule = policy % Math.min(4, rulesPerPolicy);
  return `/p${String(policy)}/r${String(rule)}/item`;
}

const policiesPerFile = 100;
const sampleSize = 1000;

export function generatePolicySet(shape: PolicySetShape): GeneratedPolicySet {
  const files = new Map<string, string>();
  let documents: string[] = [];
  const flush = (): void => {
    if (documents.length === 0) return;
    files.set(`policies-${String(files.size).padStart(4, '0')}.yaml`, documents.join('---\n'));
    documents = [];
  };
  for (let policy = 0; policy < shape.policies; policy++) {
    const host = hostOf(policy % shape.hosts);
    documents.push(
      stringify({
        apiVersion: 'gatehouse.dev/v1alpha1',
        kind: 'AccessPolicy',
        metadata: {
          name: `policy-${String(policy)}`,
          namespace: `team-${String(policy % 200)}`,
          // Distinct, stable times: precedence falls back to them (docs/architecture.md semantics 3).
          creationTimestamp: new Date(Date.UTC(2025, 0, 1) + policy * 1000).toISOString(),
        },
        spec: {
          hosts: [host.pattern],
          rules: Array.from({ length: shape.rulesPerPolicy }, (_, rule) => ruleOf(policy, rule)),
        },
      }),
    );
    if (documents.length === policiesPerFile) flush();
  }
  flush();

  // Always the same number of distinct request URLs, so a small and a large set are compared on
  // the same request mix and only the policy count differs. A prime stride visits distinct
  // policies all over the set (for any count not a multiple of it) in an order unrelated to
  // file or host order.
  const sampleUrls = Array.from({ length: sampleSize }, (_, position) => {
    const policy = (position * 7919) % shape.policies;
    const host = hostOf(policy % shape.hosts);
    return `http://${host.requestHost}${guestRequestPath(policy, shape.rulesPerPolicy)}/${String(position)}`;
  });
  return { files, sampleUrls };
}

export async function writePolicyFiles(
  directory: string,
  files: ReadonlyMap<string, string>,
): Promise<void> {
  await mkdir(directory, { recursive: true });
  for (const [name, text] of files) await writeFile(join(directory, name), text);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      policies: { type: 'string', default: '10000' },
      rules: { type: 'string', default: '10' },
      hosts: { type: 'string', default: '5000' },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (values.out === undefined) throw new Error('--out DIR is required');
  const set = generatePolicySet({
    policies: Number(values.policies),
    rulesPerPolicy: Number(values.rules),
    hosts: Number(values.hosts),
  });
  await writePolicyFiles(values.out, set.files);
  process.stdout.write(`wrote ${String(set.files.size)} files to ${values.out}\n`);
}

if (import.meta.main) await main();
