import { describe, expect, it } from 'vitest';
import { decide } from '../src/authz/decide.ts';
import type { AuthRequest } from '../src/authz/auth-request.ts';
import { buildSnapshot } from '../src/policy/snapshot.ts';
import { loadPolicyDocuments } from '../src/policy/sources/files/file-source.ts';
import {
  benchHost,
  benchPolicyManifest,
  generatePolicySet,
  guestPath,
  signedInPath,
} from './generate-policies.ts';

function requestFor(url: string): AuthRequest {
  const parsed = new URL(url);
  return {
    dialect: 'nginx',
    method: 'GET',
    scheme: 'http',
    host: parsed.host,
    path: { ok: true, value: parsed.pathname },
    originalUrl: url,
    clientIp: '127.0.0.1',
    requestId: 'bench',
    acceptsRedirect: false,
    credentials: { headers: {} },
  };
}

function snapshotOf(files: ReadonlyMap<string, string>) {
  const loaded = loadPolicyDocuments([...files].map(([path, text]) => ({ path, text })));
  expect(loaded.problems).toEqual([]);
  return { snapshot: buildSnapshot(loaded.resources), count: loaded.resources.length };
}

describe('benchPolicyManifest', () => {
  it('lets guests through the public path and asks them to sign in for the app', () => {
    const { snapshot } = snapshotOf(new Map([['bench.yaml', benchPolicyManifest()]]));
    expect(decide(requestFor(`http://${benchHost}${guestPath}`), null, snapshot).outcome).toBe(
      'allow',
    );
    expect(decide(requestFor(`http://${benchHost}${signedInPath}`), null, snapshot).outcome).toBe(
      'unauthenticated',
    );
  });
});

describe('generatePolicySet', () => {
  it('produces valid manifests whose sample URLs all reach a guest rule of their own policy', () => {
    const set = generatePolicySet({ policies: 300, rulesPerPolicy: 10, hosts: 150 });
    const { snapshot, count } = snapshotOf(set.files);
    expect(count).toBe(300);
    expect(set.files.size).toBe(3);
    expect(set.sampleUrls).toHaveLength(1000);
    expect(new Set(set.sampleUrls.map((url) => new URL(url).pathname.split('/')[1])).size).toBe(
      300,
    );
    for (const url of set.sampleUrls) {
      const decision = decide(requestFor(url), null, snapshot);
      expect(decision.outcome, url).toBe('allow');
      expect(decision.rule?.rule, url).toMatch(/^r[0-3]$/);
    }
  });

  it('uses as many distinct URLs for 10 policies as for thousands, over wildcard and exact hosts', () => {
    const set = generatePolicySet({ policies: 10, rulesPerPolicy: 10, hosts: 5 });
    expect(new Set(set.sampleUrls).size).toBe(1000);
    const big = generatePolicySet({ policies: 2000, rulesPerPolicy: 10, hosts: 1000 });
    expect(big.sampleUrls.some((url) => url.includes('.w'))).toBe(true);
    expect(new Set(big.sampleUrls.map((url) => new URL(url).host)).size).toBeGreaterThan(400);
  });
});
