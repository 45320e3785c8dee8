import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { policyReferenceExamples } from './reference-examples.ts';
import { validateResource } from './validate.ts';
import { buildSnapshot } from './snapshot.ts';
import { decide } from '../authz/decide.ts';
import type { PolicyResource } from './resources.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';
import { identity } from '../../test/fixtures/builders/identity.ts';

describe('the step-up example of the policy reference', () => {
  const example = policyReferenceExamples().find((entry) => entry.title.startsWith('Step-up'));
  const manifest = {
    ...(parse(example?.yaml ?? '') as Record<string, unknown>),
    // The API server sets it; files may omit it.
    metadata: {
      name: 'intranet',
      namespace: 'intranet',
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
  };

  it('is a valid policy', () => {
    expect(validateResource(manifest)).toMatchObject({ ok: true });
  });

  it('decides as its comment says: a 20-minute-old sign-in must step up for billing', () => {
    const snapshot = buildSnapshot([manifest as unknown as PolicyResource]);
    const now = Date.UTC(2026, 0, 1);
    const signedIn = (ago: number) =>
      identity({ user: 'alice', authentication: { authTime: now / 1000 - ago } });
    const at = (path: string) => authRequest({ host: 'intranet.example.com', target: path });
    const options = { superRole: null, noMatch: 'deny' as const, now: () => now };
    expect(decide(at('/billing'), signedIn(20 * 60), snapshot, options).reason).toBe(
      'step-up-required',
    );
    expect(decide(at('/billing'), signedIn(5 * 60), snapshot, options).outcome).toBe('allow');
    expect(decide(at('/wiki'), signedIn(20 * 60), snapshot, options).outcome).toBe('allow');
  });
});
