import { describe, expect, it } from 'vitest';
import { desiredStatus, statusNeedsWrite, statusPatch } from './object-status.ts';
import type { ObjectVerdict } from './object-status.ts';

const t0 = Date.parse('2026-01-01T10:00:00.400Z');

function verdict(overrides: Partial<ObjectVerdict> = {}): ObjectVerdict {
  return {
    kind: 'AccessPolicy',
    plural: 'accesspolicies',
    namespace: 'shop',
    name: 'shop',
    uid: 'u1',
    generation: 3,
    resourceVersion: '100',
    ready: true,
    reason: 'Accepted',
    message: '2 rules applied to shop.example.com',
    ruleCount: 2,
    mode: 'Enforce',
    observedStatus: undefined,
    ...overrides,
  };
}

describe('desiredStatus', () => {
  it('reports generation, a Ready condition and the counts', () => {
    expect(desiredStatus(verdict(), t0)).toEqual({
      observedGeneration: 3,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Accepted',
          message: '2 rules applied to shop.example.com',
          observedGeneration: 3,
          lastTransitionTime: '2026-01-01T10:00:00Z',
        },
      ],
      ruleCount: 2,
      mode: 'Enforce',
    });
  });

  it('keeps lastTransitionTime while the status stays, and moves it when the status flips', () => {
    const written = desiredStatus(verdict(), t0);
    const later = t0 + 60_000;
    const same = desiredStatus(verdict({ observedStatus: written, message: 'other text' }), later);
    expect(same.conditions[0]?.lastTransitionTime).toBe('2026-01-01T10:00:00Z');
    const flipped = desiredStatus(
      verdict({ observedStatus: written, ready: false, reason: 'Invalid', message: 'x' }),
      later,
    );
    expect(flipped.conditions[0]?.lastTransitionTime).toBe('2026-01-01T10:01:00Z');
  });
});

describe('statusNeedsWrite', () => {
  it('is false for the same content in another key order, with foreign fields around', () => {
    const desired = desiredStatus(verdict(), t0);
    const observed = JSON.parse(
      JSON.stringify({ mode: 'Enforce', somethingElse: 1, ...desired, ruleCount: 2 }),
    ) as unknown;
    expect(statusNeedsWrite(observed, desired)).toBe(false);
  });

  it('is true when a count, the generation or the reason changed, or nothing was written yet', () => {
    const written = desiredStatus(verdict(), t0);
    expect(statusNeedsWrite(undefined, written)).toBe(true);
    expect(
      statusNeedsWrite(
        written,
        desiredStatus(verdict({ observedStatus: written, ruleCount: 3 }), t0),
      ),
    ).toBe(true);
    expect(
      statusNeedsWrite(
        written,
        desiredStatus(verdict({ observedStatus: written, generation: 4 }), t0),
      ),
    ).toBe(true);
  });

  it('removes counts that no longer apply with null in the merge patch', () => {
    const observed = { ruleCount: 2, mode: 'Enforce' };
    const { ruleCount: _rules, mode: _mode, ...mapping } = verdict({ kind: 'RoleMapping' });
    const withoutCounts = desiredStatus({ ...mapping, subjectCount: 1 }, t0);
    expect(statusNeedsWrite(observed, withoutCounts)).toBe(true);
    expect(statusPatch(observed, withoutCounts)).toMatchObject({
      status: { ruleCount: null, mode: null },
    });
  });
});
