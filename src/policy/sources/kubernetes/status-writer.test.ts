import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from './events.ts';
import type { KubeEvent } from './events.ts';
import { desiredStatus } from './object-status.ts';
import type { ObjectVerdict } from './object-status.ts';
import { StatusWriter } from './status-writer.ts';

const logger = pino({ level: 'silent' });
const now = (): number => Date.parse('2026-01-01T10:00:00Z');

const invalid: ObjectVerdict = {
  kind: 'AccessPolicy',
  plural: 'accesspolicies',
  namespace: 'shop',
  name: 'broken',
  uid: 'u1',
  generation: 1,
  resourceVersion: '10',
  ready: false,
  reason: 'Invalid',
  message: 'not applied: spec.rules[0].name: duplicate rule name "app"',
  ruleCount: 2,
  mode: 'Enforce',
  observedStatus: undefined,
};

describe('StatusWriter', () => {
  it('writes a merge patch once per object version, and nothing when the status already says it', async () => {
    const patches: Record<string, unknown>[] = [];
    const writer = new StatusWriter({
      patch: (_verdict, patch) => {
        patches.push(patch);
        return Promise.resolve();
      },
      logger,
      now,
    });
    expect(await writer.write(invalid)).toBe('written');
    expect(patches[0]).toMatchObject({
      status: {
        observedGeneration: 1,
        conditions: [{ type: 'Ready', status: 'False', reason: 'Invalid' }],
      },
    });
    // The watch has not delivered our write yet: same version, same content, no second write.
    expect(await writer.write(invalid)).toBe('unchanged');
    // Delivered: the observed status matches.
    const observed = desiredStatus(invalid, now());
    expect(
      await writer.write({ ...invalid, resourceVersion: '11', observedStatus: observed }),
    ).toBe('unchanged');
    expect(patches).toHaveLength(1);
  });

  it('drops a write to an object that is gone, without throwing', async () => {
    const writer = new StatusWriter({
      patch: () => Promise.reject(Object.assign(new Error('not found'), { statusCode: 404 })),
      logger,
      now,
    });
    expect(await writer.write(invalid)).toBe('not_found');
  });
});

describe('EventRecorder', () => {
  /** The recorder of replica `instance`, whose Events land in `events`. */
  const recorderInto = (events: KubeEvent[], instance: string): EventRecorder =>
    new EventRecorder({
      sink: (_namespace, event) => {
        events.push(event);
        return Promise.resolve();
      },
      instance,
      clusterScopedNamespace: 'gatehouse',
      logger,
      now,
    });

  it('records one Warning per generation and reason, and none for what the status already reports', async () => {
    const events: KubeEvent[] = [];
    const recorder = recorderInto(events, 'gatehouse-0');
    expect(await recorder.recordAll([invalid])).toBe(1);
    expect(await recorder.recordAll([invalid])).toBe(0);
    expect(events[0]).toMatchObject({
      type: 'Warning',
      reason: 'Invalid',
      regarding: { kind: 'AccessPolicy', namespace: 'shop', name: 'broken', uid: 'u1' },
      eventTime: '2026-01-01T10:00:00.000000Z',
    });
    // A new generation with the same problem is news.
    expect(await recorder.record({ ...invalid, generation: 2 })).toBe(true);
    // A replica that just became leader does not repeat what the status already carries.
    const fresh = recorderInto(events, 'gatehouse-1');
    expect(
      await fresh.record({
        ...invalid,
        generation: 2,
        observedStatus: desiredStatus({ ...invalid, generation: 2 }, now()),
      }),
    ).toBe(false);
    expect(events).toHaveLength(2);
  });
});
