import { describe, expect, it } from 'vitest';
import { Metrics } from '../metrics/metrics.ts';
import { DependencyError } from '../errors.ts';
import { InstrumentedSessionStore } from './instrumented-store.ts';
import { MemorySessionStore } from './memory/memory-store.ts';
import type { SessionBackend } from './session-backend.ts';

async function metricText(metrics: Metrics): Promise<string> {
  return metrics.registry.metrics();
}

describe('instrumented session store', () => {
  it('times each operation of the backing store by name', async () => {
    const metrics = new Metrics({ collectProcessMetrics: false });
    const store = new InstrumentedSessionStore(
      new MemorySessionStore({ idleTimeoutMs: 60_000, absoluteLifetimeMs: 600_000 }),
      metrics,
    );
    await store.putLoginState('state-1', 'value', 1000);
    expect(await store.takeLoginState('state-1')).toBe('value');
    const text = await metricText(metrics);
    expect(text).toMatch(
      /gatehouse_session_store_duration_seconds_count\{operation="putLoginState"\} 1/,
    );
    expect(text).toMatch(
      /gatehouse_session_store_duration_seconds_count\{operation="takeLoginState"\} 1/,
    );
  });

  it('counts a failing operation and still fails it (fail closed)', async () => {
    const metrics = new Metrics({ collectProcessMetrics: false });
    const failing = {
      ping: () => Promise.reject(new DependencyError('redis', 'connection refused')),
    } as unknown as SessionBackend;
    const store = new InstrumentedSessionStore(failing, metrics);
    await expect(store.ping()).rejects.toBeInstanceOf(DependencyError);
    expect(await metricText(metrics)).toMatch(
      /gatehouse_session_store_errors_total\{operation="ping"\} 1/,
    );
  });
});
