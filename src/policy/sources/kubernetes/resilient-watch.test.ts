import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ResilientWatch, backoffDelay } from './resilient-watch.ts';
import type {
  ListPage,
  ResourceRef,
  WatchEvent,
  WatchHandle,
  WatchTransport,
} from './watch-transport.ts';

const logger = pino({ level: 'silent' });
const resource: ResourceRef = {
  group: 'gatehouse.dev',
  version: 'v1alpha1',
  plural: 'accesspolicies',
};

function object(name: string, resourceVersion: string, note = ''): Record<string, unknown> {
  return { metadata: { name, namespace: 'shop', resourceVersion }, spec: { note } };
}

interface OpenWatch {
  readonly resourceVersion: string;
  readonly emit: (event: WatchEvent) => void;
  readonly close: (error: unknown) => void;
  aborted: boolean;
}

/** A scripted API server: lists come from `lists` in order (then repeat the last), watches are
 * recorded so the test can emit events on them. */
class FakeTransport implements WatchTransport {
  readonly lists: (ListPage | Error)[];
  readonly watches: OpenWatch[] = [];
  listCalls = 0;

  constructor(lists: (ListPage | Error)[]) {
    this.lists = lists;
  }

  list(): Promise<ListPage> {
    const next = this.lists[Math.min(this.listCalls, this.lists.length - 1)];
    this.listCalls++;
    if (next === undefined) throw new Error('no list scripted');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }

  watch(
    _resource: ResourceRef,
    query: { resourceVersion: string },
    onEvent: (event: WatchEvent) => void,
    onClose: (error: unknown) => void,
  ): WatchHandle {
    const open: OpenWatch = {
      resourceVersion: query.resourceVersion,
      emit: onEvent,
      close: onClose,
      aborted: false,
    };
    this.watches.push(open);
    return {
      abort: () => {
        open.aborted = true;
      },
    };
  }

  latest(): OpenWatch {
    const open = this.watches.at(-1);
    if (open === undefined) throw new Error('no watch opened');
    return open;
  }
}

function page(resourceVersion: string, ...items: Record<string, unknown>[]): ListPage {
  return { items, resourceVersion, continue: '' };
}

function statusError(code: number): Error {
  return Object.assign(new Error(`HTTP ${String(code)}`), { statusCode: code });
}

async function until(what: string, probe: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function startWatch(transport: FakeTransport, watchdogTimeoutMs = 5_000) {
  let changes = 0;
  const watch = new ResilientWatch<string>({
    resource,
    label: 'accesspolicies',
    transport,
    transform: (raw) => {
      const metadata = raw.metadata as { name: string };
      return `${metadata.name}:${(raw.spec as { note: string }).note}`;
    },
    onChange: () => {
      changes++;
    },
    watchdogTimeoutMs,
    logger,
    backoff: { initialMs: 5, maxMs: 20 },
    listTimeoutMs: 100,
  });
  watch.start();
  return { watch, changes: () => changes };
}

describe('ResilientWatch', () => {
  it('lists, then follows events from the list resourceVersion', async () => {
    const transport = new FakeTransport([page('10', object('a', '9'))]);
    const { watch } = startWatch(transport);
    await watch.firstAttempt();
    expect(watch.synced()).toBe(true);
    await until('watch opened', () => transport.watches.length === 1);
    expect(transport.latest().resourceVersion).toBe('10');

    transport.latest().emit({ type: 'ADDED', object: object('b', '11') });
    transport.latest().emit({ type: 'MODIFIED', object: object('a', '12', 'changed') });
    transport.latest().emit({ type: 'DELETED', object: object('b', '13') });
    expect([...watch.items()]).toEqual(['a:changed']);

    // A normal close resumes from the last seen version without listing again.
    transport.latest().close(null);
    await until('re-watched', () => transport.watches.length === 2);
    expect(transport.latest().resourceVersion).toBe('13');
    expect(transport.listCalls).toBe(1);
    await watch.stop();
  });

  it('lists again on 410 Gone, whether an ERROR event or an HTTP status', async () => {
    const transport = new FakeTransport([
      page('10', object('a', '9')),
      page('20', object('c', '19')),
      page('30', object('d', '29')),
    ]);
    const { watch } = startWatch(transport);
    await until('watching', () => transport.watches.length === 1);
    transport
      .latest()
      .emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    await until('relisted', () => transport.watches.length === 2);
    expect(transport.listCalls).toBe(2);
    expect([...watch.items()]).toEqual(['c:']);
    expect(transport.latest().resourceVersion).toBe('20');

    transport.latest().close(statusError(410));
    await until('relisted again', () => transport.watches.length === 3);
    expect([...watch.items()]).toEqual(['d:']);
    await watch.stop();
  });

  it('keeps its objects through failures and retries with backoff', async () => {
    const transport = new FakeTransport([
      page('10', object('a', '9')),
      statusError(503),
      statusError(503),
      page('40', object('a', '39', 'after')),
    ]);
    const { watch } = startWatch(transport);
    await until('watching', () => transport.watches.length === 1);
    // The stream breaks and the resourceVersion is gone: lists fail twice, then succeed.
    transport.latest().close(statusError(410));
    await until(
      'relisted after failures',
      () => transport.listCalls === 4 && transport.watches.length === 2,
    );
    expect([...watch.items()]).toEqual(['a:after']);
    expect(watch.synced()).toBe(true);
    await watch.stop();
  });

  it('restarts a watch that goes silent, and counts bookmarks as life', async () => {
    const transport = new FakeTransport([page('10', object('a', '9'))]);
    const { watch } = startWatch(transport, 80);
    await until('watching', () => transport.watches.length === 1);
    // Bookmarks every 40 ms keep the first watch alive past the 80 ms watchdog.
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 40));
      transport
        .latest()
        .emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: `1${String(i)}0` } } });
    }
    expect(transport.watches).toHaveLength(1);
    // Then silence: the watchdog aborts it and watches again from the bookmark's version.
    await until('restarted', () => transport.watches.length === 2, 1_000);
    expect(transport.watches[0]?.aborted).toBe(true);
    expect(transport.latest().resourceVersion).toBe('130');
    expect(transport.listCalls).toBe(1);
    await watch.stop();
  });

  it('reports a first attempt even when the API server is unreachable, and stops cleanly', async () => {
    const transport = new FakeTransport([statusError(503)]);
    const { watch } = startWatch(transport);
    await watch.firstAttempt();
    expect(watch.attempted()).toBe(true);
    expect(watch.synced()).toBe(false);
    await watch.stop();
    const calls = transport.listCalls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(transport.listCalls).toBe(calls);
  });
});

describe('ResilientWatch against a hung API server', () => {
  it('gives up on a list that never answers, so start-up is not held', async () => {
    const transport = new FakeTransport([page('1')]);
    transport.list = () => new Promise<ListPage>(() => undefined);
    const { watch } = startWatch(transport);
    await watch.firstAttempt();
    expect(watch.attempted()).toBe(true);
    expect(watch.synced()).toBe(false);
    await watch.stop();
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with jitter within [half, full]', () => {
    const options = { initialMs: 500, maxMs: 30_000 };
    expect(backoffDelay(1, options, () => 0)).toBe(250);
    expect(backoffDelay(1, options, () => 1)).toBe(500);
    expect(backoffDelay(4, options, () => 1)).toBe(4_000);
    expect(backoffDelay(20, options, () => 1)).toBe(30_000);
    expect(backoffDelay(20, options, () => 0)).toBe(15_000);
  });
});
