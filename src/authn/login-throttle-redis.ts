import { DependencyError } from '../errors.ts';
import type { RedisClient } from '../sessions/redis/redis-connection.ts';
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

/**
 * The shared login throttle: every replica sees the same counts, so adding replicas does not
 * multiply an attacker's guesses.
 *
 * | key | type | content |
 * | --- | --- | --- |
 * | `<p>throttle:u:<sha256(user)>` | string | failures in the current window; TTL = findTime |
 * | `<p>throttle:ip:<address>` | string | same, per client address |
 * | `<p>throttle:ban:u:<sha256(user)>`, `<p>throttle:ban:ip:<address>` | string | ban; TTL = banTime |
 *
 * Redis Cluster safe: every command and every `MULTI` touches one key. The window counter is
 * `MULTI; SET k 0 PX findTime NX; INCR k; EXEC`: the key is created with its TTL in the same
 * transaction as the increment, so a crash can never leave a counter without expiry (which
 * `INCR` then `PEXPIRE` as two commands could), and it works on Redis versions before 7
 * (no `PEXPIRE ... NX`). The window is fixed, not sliding, like a Redis rate-limit counter.
 *
 * Any Redis failure is a `DependencyError('redis', ...)`: when failures cannot be counted the
 * login is refused (fail closed), never waved through unregulated.
 */
export interface RedisLoginThrottleOptions extends LoginThrottleOptions {
  /** Shared with the session store; the throttle never quits it. */
  readonly client: RedisClient;
  readonly keyPrefix: string;
}

export class RedisLoginThrottle implements LoginThrottle {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #settings: LoginThrottleSettings;
  readonly #onBan: (event: BanEvent) => void;

  constructor(options: RedisLoginThrottleOptions) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix;
    this.#settings = resolveLoginThrottleSettings(options);
    this.#onBan = options.onBan ?? (() => undefined);
  }

  #counterKey(subject: ThrottleSubject): string {
    return `${this.#prefix}throttle:${subject.scope === 'user' ? 'u' : 'ip'}:${subject.id}`;
  }

  #banKey(subject: ThrottleSubject): string {
    return `${this.#prefix}throttle:ban:${subject.scope === 'user' ? 'u' : 'ip'}:${subject.id}`;
  }

  async isBanned(user: string, clientIp: string): Promise<BanStatus> {
    return guard('check a login ban', async () => {
      const remaining = await Promise.all(
        throttleSubjects(user, clientIp).map((subject) => this.#client.pttl(this.#banKey(subject))),
      );
      // PTTL: -2 = no key, -1 = a key without expiry (never written so; treat as a full ban).
      const longest = Math.max(
        0,
        ...remaining.map((ms) => (ms === -1 ? this.#settings.banTimeMs : ms)),
      );
      return longest > 0
        ? { banned: true, retryAfterSeconds: secondsFromMs(longest) }
        : { banned: false };
    });
  }

  async recordFailure(user: string, clientIp: string): Promise<void> {
    await guard('count a failed login', async () => {
      await Promise.all(
        throttleSubjects(user, clientIp).map(async (subject) => {
          const count = await this.#countFailure(this.#counterKey(subject));
          if (count < this.#settings.maxRetries) return;
          await this.#client.set(this.#banKey(subject), '1', 'PX', this.#settings.banTimeMs);
          // A fresh window after the ban, as if the slate were clean (the ban was the penalty).
          await this.#client.del(this.#counterKey(subject));
          this.#onBan({
            scope: subject.scope,
            user,
            clientIp,
            banSeconds: secondsFromMs(this.#settings.banTimeMs),
          });
        }),
      );
    });
  }

  async recordSuccess(user: string, clientIp: string): Promise<void> {
    await guard('reset failed logins', async () => {
      for (const subject of throttleSubjects(user, clientIp)) {
        if (subject.scope === 'user') await this.#client.del(this.#counterKey(subject));
      }
    });
  }

  async #countFailure(key: string): Promise<number> {
    const replies = await this.#client
      .multi()
      .set(key, '0', 'PX', this.#settings.findTimeMs, 'NX')
      .incr(key)
      .exec();
    const incr = replies?.[1];
    if (incr === undefined) throw new Error('MULTI aborted');
    const [error, count] = incr;
    if (error !== null) throw error;
    if (typeof count !== 'number') throw new Error('INCR returned a non-number');
    return count;
  }
}

async function guard<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof DependencyError) throw error;
    throw new DependencyError('redis', `login throttle: could not ${action}`, { cause: error });
  }
}
