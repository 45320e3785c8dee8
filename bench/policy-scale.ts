/**
 * Scenario (f), in process: what 10,000 AccessPolicies × 10 rules over 5,000 hosts cost gatehouse
 * outside HTTP. Run pinned to the server core, as a process of its own so its heap is not the
 * runner's:
 *   taskset -c 0 node bench/policy-scale.ts --dir DIR [--baseline-dir DIR10] [--rounds 5]
 * It prints one JSON line (PolicyScaleResult):
 * - `loadMs`: reading, parsing (yaml) and validating every manifest, what the file source does
 *   before a rebuild (the Kubernetes source receives objects already parsed);
 * - `buildSnapshotMs`: `buildSnapshot` over the validated objects, the full rebuild the target
 *   "under 1 s" is about; median of the rounds;
 * - `decideNs`: nanoseconds per `decide()` over the set's sample URLs (a realistic mix of hosts,
 *   exact and wildcard), timed with `process.hrtime.bigint`, median of the rounds, for the big
 *   set and the baseline set, and their ratio (target: within 1.2×);
 * - `heapUsedBytes` / `rssBytes` with the snapshot live.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AuthRequest } from '../src/authz/auth-request.ts';
import { decide } from '../src/authz/decide.ts';
import type { PolicyResource } from '../src/policy/resources.ts';
import { buildSnapshot } from '../src/policy/snapshot.ts';
import type { PolicySnapshot } from '../src/policy/snapshot.ts';
import {
  PolicyDocumentLoader,
  listManifestFiles,
} from '../src/policy/sources/files/file-source.ts';
import { median } from './stats.ts';

export interface PolicySetCost {
  readonly objects: number;
  readonly loadMs: number;
  readonly buildSnapshotMs: number;
  readonly buildSnapshotRunsMs: readonly number[];
  readonly decideNs: number;
  readonly decideRunsNs: readonly number[];
}

export interface PolicyScaleResult {
  readonly large: PolicySetCost;
  readonly baseline?: PolicySetCost;
  /** large.decideNs / baseline.decideNs. */
  readonly decideRatio?: number;
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
}

/** The AuthRequest the nginx dialect builds for a plain GET of `url` (already normal). */
export function requestForUrl(url: string): AuthRequest {
  const parsed = new URL(url);
  return {
    dialect: 'nginx',
    method: 'GET',
    scheme: parsed.protocol === 'https:' ? 'https' : 'http',
    host: parsed.host,
    path: { ok: true, value: parsed.pathname },
    originalUrl: url,
    clientIp: '127.0.0.1',
    requestId: 'bench',
    acceptsRedirect: false,
    credentials: { headers: {} },
  };
}

/** Reads and loads the files one by one, as the file source does (each text let go once loaded). */
async function loadDirectory(
  directory: string,
): Promise<{ resources: PolicyResource[]; ms: number }> {
  const started = performance.now();
  const loader = new PolicyDocumentLoader();
  for (const path of await listManifestFiles(directory)) {
    loader.add({ path, text: await readFile(path, 'utf8') });
  }
  const loaded = loader.result();
  const ms = performance.now() - started;
  if (loaded.problems.length > 0) {
    throw new Error(
      `policy set in ${directory} has problems: ${JSON.stringify(loaded.problems.slice(0, 3))}`,
    );
  }
  return { resources: [...loaded.resources], ms };
}

/** Nanoseconds per decide() call over `requests`, `calls` calls in a round. */
function timeDecide(
  snapshot: PolicySnapshot,
  requests: readonly AuthRequest[],
  calls: number,
): number {
  let allowed = 0;
  const started = process.hrtime.bigint();
  for (let call = 0; call < calls; call++) {
    const request = requests[call % requests.length]!;
    if (decide(request, null, snapshot).outcome === 'allow') allowed++;
  }
  const elapsed = Number(process.hrtime.bigint() - started);
  // Using the result keeps the optimiser from dropping the calls; every sample URL is a guest rule.
  if (allowed !== calls)
    throw new Error(`only ${String(allowed)} of ${String(calls)} sample requests were allowed`);
  return elapsed / calls;
}

export async function measurePolicySet(
  directory: string,
  sampleUrls: readonly string[],
  rounds: number,
): Promise<{ cost: PolicySetCost; snapshot: PolicySnapshot }> {
  const { resources, ms: loadMs } = await loadDirectory(directory);
  const buildRuns: number[] = [];
  let snapshot = buildSnapshot(resources); // warm-up (JIT), not counted
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    snapshot = buildSnapshot(resources);
    buildRuns.push(performance.now() - started);
  }
  const requests = sampleUrls.map(requestForUrl);
  const calls = 200_000;
  timeDecide(snapshot, requests, calls); // warm-up
  const decideRuns: number[] = [];
  for (let round = 0; round < rounds; round++)
    decideRuns.push(timeDecide(snapshot, requests, calls));
  return {
    snapshot,
    cost: {
      objects: resources.length,
      loadMs,
      buildSnapshotMs: median(buildRuns),
      buildSnapshotRunsMs: buildRuns,
      decideNs: median(decideRuns),
      decideRunsNs: decideRuns,
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      samples: { type: 'string' },
      'baseline-dir': { type: 'string' },
      'baseline-samples': { type: 'string' },
      rounds: { type: 'string', default: '5' },
    },
    strict: true,
  });
  if (values.dir === undefined || values.samples === undefined) {
    throw new Error(
      'usage: node bench/policy-scale.ts --dir DIR --samples FILE.json [--baseline-dir DIR --baseline-samples FILE.json]',
    );
  }
  const rounds = Number(values.rounds);
  const readSamples = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as string[];
  let baseline: PolicySetCost | undefined;
  if (values['baseline-dir'] !== undefined && values['baseline-samples'] !== undefined) {
    baseline = (
      await measurePolicySet(
        values['baseline-dir'],
        await readSamples(values['baseline-samples']),
        rounds,
      )
    ).cost;
  }
  const large = await measurePolicySet(values.dir, await readSamples(values.samples), rounds);
  globalThis.gc?.();
  const memory = process.memoryUsage();
  const result: PolicyScaleResult = {
    large: large.cost,
    ...(baseline === undefined
      ? {}
      : { baseline, decideRatio: large.cost.decideNs / baseline.decideNs }),
    heapUsedBytes: memory.heapUsed,
    rssBytes: memory.rss,
  };
  // Keep the snapshot alive until memory is read.
  if (large.snapshot.objects.length === 0) throw new Error('empty snapshot');
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.main) await main();
