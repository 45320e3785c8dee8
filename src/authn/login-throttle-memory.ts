import {
  type BanEvent,
  type BanStatus,
  type LoginThrottle,
  type LoginThrottleOptions,
  type LoginThrottleSettings,
  resolveLoginThrottleSettings,
  secondsFromMs,
  type ThrottleSubject,
  throttleSubjects,
} from './login-throttle.ts';
import { LruCache } from '../lru-cache.ts';

/**
 * The login throttle for local runs and unit tests: the same rules as the Redis one (fixed
 * window of `findTime`, ban of `banTime` at `maxRetries`), held in this process only. With
 * several replicas each counts on its own, so an attacker gets `maxRetries` per replica: use
 * the Redis throttle in a cluster.
 *
 * Memory is bounded (LRU): an attacker spraying made-up user names can evict old counters and,
 * past `maxEntries` bans, old bans. That only weakens regulation on a process that is already
 * being flooded, and never lets a wrong password through.
 */
export interface MemoryLoginThrottleOptions extends LoginThrottleOptions {
  /** Epoch milliseconds, injected so tests control the windows. */
  readonly now?: () => number;
  /** Bound on counters and on bans held (each); default 100 000. */
  readonly maxEntries?: number;
}

interface Counter {
  readonly count: number;
  readonly windowEndsAt: number;
}

export class MemoryLoginThrottle implements LoginThrottle {
  readonly #settings: LoginThrottleSettings;
  readonly #now: () => number;
  readonly #onBan: (event: BanEvent) => void;
  readonly #counters: LruCache<string, Counter>;
  /** key → epoch ms at which the ban lifts. */
  readonly #bans: LruCache<string, number>;

  constructor(options: MemoryLoginThrottleOptions = {}) {
    this.#settings = resolveLoginThrottleSettings(options);
    this.#now = options.now ?? Date.now;
    this.#onBan = options.onBan ?? (() => undefined);
    const maxEntries = options.maxEntries ?? 100_000;
    this.#counters = new LruCache({ maxEntries, now: this.#now });
    this.#bans = new LruCache({ maxEntries, now: this.#now });
  }

  isBanned(user: string, clientIp: string): Promise<BanStatus> {
    const now = this.#now();
    let liftsAt = now;
    for (const subject of throttleSubjects(user, clientIp)) {
      liftsAt = Math.max(liftsAt, this.#bans.get(key(subject)) ?? now);
    }
    return Promise.resolve(
      liftsAt > now
        ? { banned: true, retryAfterSeconds: secondsFromMs(liftsAt - now) }
        : { banned: false },
    );
  }

  recordFailure(user: string, clientIp: string): Promise<void> {
    const now = this.#now();
    for (const subject of throttleSubjects(user, clientIp)) {
      const previous = this.#counters.get(key(subject));
      const counter: Counter = {
        count: (previous?.count ?? 0) + 1,
        windowEndsAt: previous?.windowEndsAt ?? now + this.#settings.findTimeMs,
      };
      if (counter.count < this.#settings.maxRetries) {
        this.#counters.set(key(subject), counter, counter.windowEndsAt);
        continue;
      }
      const liftsAt = now + this.#settings.banTimeMs;
      this.#bans.set(key(subject), liftsAt, liftsAt);
      this.#counters.delete(key(subject));
      this.#onBan({
        scope: subject.scope,
        user,
        clientIp,
        banSeconds: secondsFromMs(this.#settings.banTimeMs),
      });
    }
    return Promise.resolve();
  }

  recordSuccess(user: string, clientIp: string): Promise<void> {
    for (const subject of throttleSubjects(user, clientIp)) {
      if (subject.scope === 'user') this.#counters.delete(key(subject));
    }
    return Promise.resolve();
  }
}

function key(subject: ThrottleSubject): string {
  return `${subject.scope}:${subject.id}`;
}
