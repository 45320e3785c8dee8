import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { DependencyError } from '../../errors.ts';
import { OpenedSessions } from '../opened-sessions.ts';
import { sealSessionRecord } from '../session-cipher.ts';
import { LOCK_BUSY, type LockBusy } from '../locks.ts';
import type { LoginStateLimits, LoginStatePut, WindowCount } from '../login-state-store.ts';
import type { RevocationListener } from '../revocation-bus.ts';
import { ListenerSet } from '../listener-set.ts';
import type { SessionBackend } from '../session-backend.ts';
import { byRecentUse, lastUseOf, type SessionListing } from '../session-directory.ts';
import {
  revokedTokenOf,
  tokenRevocationKey,
  type RevokedToken,
  type TokenRevocationListener,
} from '../token-revocations.ts';
import { isUserAgentSummary, summariseUserAgent } from '../user-agent-summary.ts';
import { STORAGE_KEY_PATTERN, assertStorageName, assertTtl } from '../storage-names.ts';
import { buildSession, toSessionRecord } from '../session.ts';
import type { NewSession, Session } from '../session.ts';
import {
  isLive,
  resolveTiming,
  slidIdleExpiry,
  storageTtlMs,
  type SessionTiming,
} from '../session-timing.ts';
import { sessionKeyOf, type SessionTicket } from '../ticket.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS, type RedisClient } from './redis-connection.ts';
import { RedisKeys } from './redis-keys.ts';
import {
  ADMIT_LOGIN_STATE,
  INDEX_ADD,
  RELEASE_LOCK,
  REPLACE_SESSION,
  REVOKE_TOKEN,
  TAKE_SESSION,
  TOUCH_SESSION,
  runScript,
} from './redis-scripts.ts';
import { definedFields } from '../../defined-fields.ts';

/**
 * The production session backend, every role of session-backend.ts (key layout in
 * redis-keys.ts). Safe for Redis Cluster: every
 * command and script touches one key; index maintenance is separate commands sent together
 * (ioredis auto-pipelining batches them per node), and stale index entries are pruned when found.
 *
 * Any Redis failure is thrown as `DependencyError('redis', ...)`.
 */
export interface RedisSessionStoreOptions {
  /** From `createRedisClient`; the store owns it and quits it on `close()`. */
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly idleTimeoutMs: number;
  readonly absoluteLifetimeMs: number;
  readonly slidingIntervalMs?: number;
  /** How long `revocationsReady()` waits for the subscription (default 2000 ms). */
  readonly connectTimeoutMs?: number;
  readonly now?: () => number;
  readonly randomBytes?: (size: number) => Buffer;
  readonly logger?: Logger;
}

/** One PUBLISH carries at most this many keys, keeping messages well under a few tens of KiB. */
const REVOCATION_BATCH = 500;

export class RedisSessionStore implements SessionBackend {
  readonly #client: RedisClient;
  readonly #keys: RedisKeys;
  readonly #timing: SessionTiming;
  readonly #connectTimeoutMs: number;
  readonly #now: () => number;
  readonly #randomBytes: (size: number) => Buffer;
  readonly #logger: Logger;
  readonly #listeners: ListenerSet<readonly string[]>;
  readonly #tokenListeners: ListenerSet<readonly RevokedToken[]>;
  /** Records opened before, so an unchanged one is not decrypted again (opened-sessions.ts). */
  readonly #opened: OpenedSessions;
  #subscriber: RedisClient | undefined;
  #subscribed: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisSessionStoreOptions) {
    this.#client = options.client;
    this.#keys = new RedisKeys(options.keyPrefix);
    this.#timing = resolveTiming(options);
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#now = options.now ?? Date.now;
    this.#randomBytes = options.randomBytes ?? cryptoRandomBytes;
    this.#opened = new OpenedSessions({ now: this.#now });
    this.#logger = options.logger ?? pino({ level: 'silent' });
    this.#listeners = new ListenerSet(this.#logger, 'revocation listener failed');
    this.#tokenListeners = new ListenerSet(this.#logger, 'token revocation listener failed');
  }

  async create(fields: NewSession, ticket: SessionTicket): Promise<Session> {
    const now = this.#now();
    const key = sessionKeyOf(ticket.id);
    const session = buildSession(fields, key, now, this.#timing);
    const userIndexId = this.#keys.userIndexId(session.userKey);
    const nameIndexId = this.#keys.userNameIndexId(session.identity.user);
    const sidIndexId =
      session.oidcSid === undefined
        ? undefined
        : this.#keys.sidIndexId(session.provider, session.oidcSid);
    const sessionKey = this.#keys.session(key);
    const indexTtl = Math.max(1, session.absoluteExpiresAt - now);
    await this.#run('create', async () => {
      // The three writes are independent: if one fails, create fails and no cookie is issued,
      // so a session missing from an index is unreachable; an index entry without a session is
      // pruned when found.
      const writes: Promise<unknown>[] = [
        this.#client
          .multi()
          .del(sessionKey)
          .hset(sessionKey, {
            d: this.#seal(session, ticket),
            i: session.idleExpiresAt,
            a: session.absoluteExpiresAt,
            u: userIndexId,
            ...definedFields({ s: sidIndexId }),
            p: session.provider,
            c: now,
            l: now,
            n: nameIndexId,
            ...definedFields({ ua: summariseUserAgent(fields.userAgent) }),
          })
          .pexpire(sessionKey, storageTtlMs(session, now))
          .exec()
          .then(checkTransaction),
        runScript(this.#client, INDEX_ADD, this.#keys.userIndexById(userIndexId), [key, indexTtl]),
        runScript(this.#client, INDEX_ADD, this.#keys.userNameIndexById(nameIndexId), [
          key,
          indexTtl,
        ]),
      ];
      if (sidIndexId !== undefined) {
        writes.push(
          runScript(this.#client, INDEX_ADD, this.#keys.sidIndexById(sidIndexId), [key, indexTtl]),
        );
      }
      await Promise.all(writes);
    });
    return session;
  }

  async get(ticket: SessionTicket): Promise<Session | null> {
    const key = sessionKeyOf(ticket.id);
    const sessionKey = this.#keys.session(key);
    // As bytes: an unchanged record is recognised without decoding it (opened-sessions.ts).
    const [sealed, idle, absolute] = await this.#run('get', () =>
      this.#client.hmgetBuffer(sessionKey, 'd', 'i', 'a'),
    );
    if (sealed == null || idle == null || absolute == null) return null;
    const stored = {
      idleExpiresAt: Number(idle.toString('latin1')),
      absoluteExpiresAt: Number(absolute.toString('latin1')),
    };
    const now = this.#now();
    if (!isLive(stored, now)) return null;
    // The plain `a` field bounds the TTL; the sealed one is authenticated: the session carries
    // the earlier of the two.
    const session = this.#opened.open(sealed, ticket, key, stored);
    if (session === null || now >= session.absoluteExpiresAt) return null;
    const slid = slidIdleExpiry(session, now, this.#timing);
    if (slid === null) return session;
    await this.#run('touch', () => runScript(this.#client, TOUCH_SESSION, sessionKey, [slid, now]));
    return { ...session, idleExpiresAt: slid };
  }

  async update(ticket: SessionTicket, session: Session): Promise<boolean> {
    const key = sessionKeyOf(ticket.id);
    const sealed = this.#seal({ ...session, key }, ticket);
    const replaced = await this.#run('update', () =>
      runScript(this.#client, REPLACE_SESSION, this.#keys.session(key), [
        sealed,
        this.#now(),
        this.#timing.idleTimeoutMs,
      ]),
    );
    return replaced === 1;
  }

  async delete(key: string): Promise<boolean> {
    if (!STORAGE_KEY_PATTERN.test(key)) return false;
    const ended = await this.#endSessions([key]);
    return ended.length > 0;
  }

  async deleteByUser(userKey: string): Promise<string[]> {
    const index = this.#keys.userIndexById(this.#keys.userIndexId(userKey));
    const members = await this.#run('deleteByUser', () => this.#client.smembers(index));
    return this.#endSessions(members, index);
  }

  async deleteBySid(provider: string, sid: string): Promise<string[]> {
    const index = this.#keys.sidIndexById(this.#keys.sidIndexId(provider, sid));
    const members = await this.#run('deleteBySid', () => this.#client.smembers(index));
    return this.#endSessions(members, index);
  }

  async listKeysByUser(userKey: string): Promise<string[]> {
    const index = this.#keys.userIndexById(this.#keys.userIndexId(userKey));
    return this.#run('listKeysByUser', async () => {
      const members = await this.#client.smembers(index);
      const exists = await Promise.all(
        members.map((member) => this.#client.exists(this.#keys.session(member))),
      );
      const live = members.filter((_, position) => exists[position] === 1);
      const stale = members.filter((_, position) => exists[position] !== 1);
      if (stale.length > 0) await this.#client.srem(index, ...stale);
      return live;
    });
  }

  async listByUser(userKey: string): Promise<SessionListing[]> {
    const index = this.#keys.userIndexById(this.#keys.userIndexId(userKey));
    // A record older than the listing has no provider field; the user key names it.
    const provider = userKey.slice(0, Math.max(0, userKey.indexOf('\u0000')));
    const listings = await this.#run('listByUser', () => this.#listIndex(index));
    return listings.map((listing) =>
      listing.provider === null ? { ...listing, provider } : listing,
    );
  }

  async listByUserName(userName: string): Promise<SessionListing[]> {
    const index = this.#keys.userNameIndexById(this.#keys.userNameIndexId(userName));
    return this.#run('listByUserName', () => this.#listIndex(index));
  }

  async deleteByProvider(provider: string): Promise<string[]> {
    const keys = await this.#run('deleteByProvider', async () => {
      const found: string[] = [];
      await this.#scan(this.#keys.sessionPattern, 'hash', async (redisKeys) => {
        const candidates = redisKeys
          .map((redisKey) => this.#keys.storageKeyOf(redisKey))
          .filter((key): key is string => key !== undefined && STORAGE_KEY_PATTERN.test(key));
        const providers = await Promise.all(
          candidates.map((key) => this.#client.hget(this.#keys.session(key), 'p')),
        );
        found.push(...candidates.filter((_, position) => providers[position] === provider));
      });
      return found;
    });
    return this.#endSessions(keys);
  }

  async revokeToken(token: RevokedToken): Promise<void> {
    const checked = revokedTokenOf(token);
    if (checked === null) throw new TypeError('revokeToken: malformed issuer, jti or until');
    const ttlMs = checked.until - this.#now();
    if (ttlMs <= 0) throw new RangeError('revokeToken: until must be in the future');
    await this.#run('revokeToken', async () => {
      await runScript(this.#client, REVOKE_TOKEN, this.#keys.revokedTokens, [
        tokenRevocationKey(checked.issuer, checked.jti),
        checked.until,
        this.#now(),
      ]);
      await this.#client.publish(
        this.#keys.revocationChannel,
        JSON.stringify({ tokens: [checked] }),
      );
    });
  }

  async listRevokedTokens(): Promise<RevokedToken[]> {
    const now = this.#now();
    return this.#run('listRevokedTokens', async () => {
      // One key, one command: every replica re-reads it each minute (revoked-token-set.ts).
      const entries = await this.#client.zrange(
        this.#keys.revokedTokens,
        `(${String(now)}`,
        '+inf',
        'BYSCORE',
        'WITHSCORES',
      );
      const tokens: RevokedToken[] = [];
      for (let index = 0; index + 1 < entries.length; index += 2) {
        const [issuer, ...rest] = (entries[index] ?? '').split('\u0000');
        const token = revokedTokenOf({
          issuer,
          jti: rest.join('\u0000'),
          until: Number(entries[index + 1]),
        });
        if (token !== null) tokens.push(token);
      }
      return tokens;
    });
  }

  onTokenRevocation(listener: TokenRevocationListener): () => void {
    const unsubscribe = this.#tokenListeners.add(listener);
    this.#subscribeInBackground();
    return unsubscribe;
  }

  async putLoginState(
    stateKey: string,
    value: string,
    ttlMs: number,
    limits: LoginStateLimits = {},
  ): Promise<LoginStatePut> {
    assertStorageName('stateKey', stateKey);
    assertTtl(ttlMs);
    const now = this.#now();
    return this.#run('putLoginState', async () => {
      // Counted first, written second (two keys, two slots in a cluster): a failure between the
      // two leaves a count without a state, which only lasts until its expiry.
      const admitted = await runScript(this.#client, ADMIT_LOGIN_STATE, this.#keys.loginPending, [
        stateKey,
        now,
        now + ttlMs,
        Math.max(0, limits.maxPending ?? 0),
        ttlMs,
      ]);
      const [ok, oldest] = Array.isArray(admitted) ? (admitted as unknown[]) : [];
      if (ok !== 1) {
        const retryAfterMs = Math.max(1, Number(oldest) - now);
        return {
          stored: false,
          retryAfterMs: Number.isFinite(retryAfterMs) ? retryAfterMs : ttlMs,
        };
      }
      await this.#client.set(this.#keys.loginState(stateKey), value, 'PX', ttlMs);
      return { stored: true };
    });
  }

  async takeLoginState(stateKey: string): Promise<string | null> {
    assertStorageName('stateKey', stateKey);
    return this.#run('takeLoginState', async () => {
      // GETDEL (Redis ≥ 6.2) is atomic: of two concurrent callbacks with the same state, one wins.
      const [value] = await Promise.all([
        this.#client.getdel(this.#keys.loginState(stateKey)),
        this.#client.zrem(this.#keys.loginPending, stateKey),
      ]);
      return value;
    });
  }

  async countSignInStart(client: string, windowMs: number): Promise<WindowCount> {
    assertStorageName('client', client);
    assertTtl(windowMs);
    const now = this.#now();
    const window = Math.floor(now / windowMs);
    const resetInMs = (window + 1) * windowMs - now;
    const key = this.#keys.signInStarts(client, window);
    // The window is in the key (from the injected clock); the TTL only collects it afterwards.
    // SET NX PX + INCR in one transaction: the counter never exists without an expiry.
    const results = await this.#run('countSignInStart', async () => {
      const replies = await this.#client.multi().set(key, 0, 'PX', windowMs, 'NX').incr(key).exec();
      checkTransaction(replies);
      return replies;
    });
    return { count: Number(results?.[1]?.[1] ?? 1), resetInMs };
  }

  async withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T | LockBusy> {
    assertStorageName('lock name', name);
    assertTtl(ttlMs);
    const lockKey = this.#keys.lock(name);
    const token = this.#randomBytes(16).toString('base64url');
    const acquired = await this.#run('lock', () =>
      this.#client.set(lockKey, token, 'PX', ttlMs, 'NX'),
    );
    if (acquired !== 'OK') return LOCK_BUSY;
    try {
      return await fn();
    } finally {
      // A failed release is not the caller's failure: the lock expires after ttlMs anyway.
      await runScript(this.#client, RELEASE_LOCK, lockKey, [token]).catch((error: unknown) => {
        this.#logger.warn({ err: error, lock: name }, 'redis lock release failed');
      });
    }
  }

  async rememberOnce(namespace: string, id: string, ttlMs: number): Promise<boolean> {
    assertStorageName('namespace', namespace);
    assertTtl(ttlMs);
    const result = await this.#run('rememberOnce', () =>
      this.#client.set(this.#keys.once(namespace, id), '1', 'PX', ttlMs, 'NX'),
    );
    return result === 'OK';
  }

  async publishRevocation(keys: readonly string[]): Promise<void> {
    const valid = keys.filter((key) => STORAGE_KEY_PATTERN.test(key));
    const batches: string[][] = [];
    for (let start = 0; start < valid.length; start += REVOCATION_BATCH) {
      batches.push(valid.slice(start, start + REVOCATION_BATCH));
    }
    await this.#run('publish', () =>
      Promise.all(
        batches.map((batch) =>
          this.#client.publish(this.#keys.revocationChannel, JSON.stringify(batch)),
        ),
      ),
    );
  }

  onRevocation(listener: RevocationListener): () => void {
    const unsubscribe = this.#listeners.add(listener);
    this.#subscribeInBackground();
    return unsubscribe;
  }

  async revocationsReady(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new DependencyError('redis', 'redis revocation subscription not ready'));
      }, this.#connectTimeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([this.#subscribe(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async ping(): Promise<void> {
    await this.#run('ping', () => this.#client.ping());
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.#tokenListeners.clear();
    const clients = [this.#subscriber, this.#client].filter((client) => client !== undefined);
    this.#subscriber = undefined;
    await Promise.all(
      clients.map(async (client) => {
        if (client.status !== 'ready') {
          client.disconnect();
          return;
        }
        await client.quit().catch(() => {
          client.disconnect();
        });
      }),
    );
  }

  /**
   * Deletes sessions, removes them from their indexes (and every key, found or not, from
   * `listedIn`: the index they were read from, so stale entries go too), publishes the ended keys.
   */
  async #endSessions(keys: readonly string[], listedIn?: string): Promise<string[]> {
    if (keys.length === 0) return [];
    const ended = await this.#run('delete', async () => {
      const taken = await Promise.all(
        keys.map(async (key) => ({
          key,
          indexes: await runScript(this.#client, TAKE_SESSION, this.#keys.session(key), []),
        })),
      );
      const removals = new Map<string, Set<string>>();
      if (listedIn !== undefined) removals.set(listedIn, new Set(keys));
      const endedKeys: string[] = [];
      for (const { key, indexes } of taken) {
        if (!Array.isArray(indexes)) continue;
        endedKeys.push(key);
        const [userIndexId, sidIndexId, nameIndexId] = indexes as unknown[];
        if (typeof userIndexId === 'string' && userIndexId !== '') {
          addRemoval(removals, this.#keys.userIndexById(userIndexId), key);
        }
        if (typeof sidIndexId === 'string' && sidIndexId !== '') {
          addRemoval(removals, this.#keys.sidIndexById(sidIndexId), key);
        }
        if (typeof nameIndexId === 'string' && nameIndexId !== '') {
          addRemoval(removals, this.#keys.userNameIndexById(nameIndexId), key);
        }
      }
      await Promise.all(
        [...removals].map(([index, members]) => this.#client.srem(index, ...members)),
      );
      return endedKeys;
    });
    if (ended.length > 0) await this.publishRevocation(ended);
    return ended;
  }

  #subscribe(): Promise<void> {
    if (this.#subscribed !== undefined) return this.#subscribed;
    const channel = this.#keys.revocationChannel;
    // A dedicated connection: a connection in subscriber mode can run no other command. Unlike
    // the command connection it queues while offline and never times out, so SUBSCRIBE goes
    // out as soon as Redis is reachable; ioredis resubscribes after every reconnect.
    const overrides = {
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
      connectionName: 'gatehouse-revocations',
    };
    const subscriber =
      this.#client instanceof Cluster
        ? this.#client.duplicate(undefined, {
            enableOfflineQueue: true,
            redisOptions: { ...this.#client.options.redisOptions, ...overrides },
          })
        : this.#client.duplicate(overrides);
    subscriber.on('error', (error: unknown) => {
      this.#logger.debug({ err: error }, 'redis revocation subscriber error');
    });
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) this.#dispatch(message);
    });
    this.#subscriber = subscriber;
    this.#subscribed = subscriber.subscribe(channel).then(
      () => undefined,
      (error: unknown) => {
        this.#subscribed = undefined;
        throw new DependencyError('redis', 'redis SUBSCRIBE failed', { cause: error });
      },
    );
    return this.#subscribed;
  }

  /**
   * The listings of the live sessions an index names, most recently used first; entries whose
   * session is gone are removed from the index. Every command touches one key (Cluster).
   */
  async #listIndex(index: string): Promise<SessionListing[]> {
    const members = await this.#client.smembers(index);
    const fields = await Promise.all(
      members.map((member) =>
        this.#client.hmget(this.#keys.session(member), 'i', 'a', 'p', 'c', 'l', 'ua'),
      ),
    );
    const now = this.#now();
    const listings: SessionListing[] = [];
    const stale: string[] = [];
    members.forEach((key, position) => {
      const [idle, absolute, provider, created, lastUsed, userAgent] = fields[position] ?? [];
      if (idle == null || absolute == null) {
        stale.push(key);
        return;
      }
      const idleExpiresAt = Number(idle);
      const absoluteExpiresAt = Number(absolute);
      if (!isLive({ idleExpiresAt, absoluteExpiresAt }, now)) return;
      const createdAt = optionalTime(created);
      listings.push({
        key,
        provider: provider ?? null,
        createdAt: createdAt ?? null,
        lastUsedAt: lastUseOf({
          lastUsedAt: optionalTime(lastUsed),
          createdAt,
          idleExpiresAt,
          idleTimeoutMs: this.#timing.idleTimeoutMs,
        }),
        idleExpiresAt,
        absoluteExpiresAt,
        userAgent: userAgent != null && isUserAgentSummary(userAgent) ? userAgent : null,
      });
    });
    if (stale.length > 0) await this.#client.srem(index, ...stale);
    return listings.sort(byRecentUse);
  }

  /**
   * Runs `onBatch` over every key matching `pattern` of this type, on every server holding data:
   * the one server (standalone, Sentinel's primary) or each cluster primary, since a cluster's
   * `SCAN` covers only the node it is sent to.
   */
  async #scan(
    pattern: string,
    type: 'hash' | 'string',
    onBatch: (redisKeys: string[]) => Promise<void>,
  ): Promise<void> {
    const nodes = this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(
          cursor,
          'MATCH',
          pattern,
          'COUNT',
          1000,
          'TYPE',
          type,
        );
        cursor = next;
        if (batch.length > 0) await onBatch(batch);
      } while (cursor !== '0');
    }
  }

  #dispatch(message: string): void {
    const keys = parseJson(message);
    if (isTokenMessage(keys)) {
      this.#dispatchTokens(keys.tokens);
      return;
    }
    if (!Array.isArray(keys)) return;
    const valid = Object.freeze(
      keys.filter((key): key is string => typeof key === 'string' && STORAGE_KEY_PATTERN.test(key)),
    );
    if (valid.length === 0) return;
    this.#listeners.deliver(valid);
  }

  /** A listener is added at once; the subscription it needs follows, and a failure is a warning. */
  #subscribeInBackground(): void {
    this.#subscribe().catch((error: unknown) => {
      this.#warnSubscriptionFailed(error);
    });
  }

  /**
   * A subscription cut short by `close()` is not a failure worth a warning: a short-lived user
   * of the store (`gatehouse sessions`) closes it while SUBSCRIBE may still be on its way.
   */
  #warnSubscriptionFailed(error: unknown): void {
    if (!this.#closed) this.#logger.warn({ err: error }, 'redis revocation subscription failed');
  }

  #dispatchTokens(entries: readonly unknown[]): void {
    const tokens = Object.freeze(
      entries.map(revokedTokenOf).filter((token): token is RevokedToken => token !== null),
    );
    if (tokens.length === 0) return;
    this.#tokenListeners.deliver(tokens);
  }

  #seal(session: Session, ticket: SessionTicket): string {
    return sealSessionRecord(toSessionRecord(session), {
      secret: ticket.secret,
      storageKey: session.key,
      randomBytes: this.#randomBytes,
    });
  }

  /** Runs Redis work, turning any failure into `DependencyError('redis', ...)`. */
  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DependencyError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new DependencyError('redis', `redis ${operation} failed: ${reason}`, {
        cause: error,
      });
    }
  }
}

function checkTransaction(results: [error: Error | null, result: unknown][] | null): void {
  if (results === null) throw new Error('transaction aborted');
  for (const [error] of results) {
    if (error !== null) throw error;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isTokenMessage(value: unknown): value is { readonly tokens: readonly unknown[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { tokens?: unknown }).tokens)
  );
}

/** A stored epoch-milliseconds field, or `undefined` when absent or not a time. */
function optionalTime(value: string | null | undefined): number | undefined {
  if (value == null) return undefined;
  const time = Number(value);
  return Number.isSafeInteger(time) && time > 0 ? time : undefined;
}

function addRemoval(removals: Map<string, Set<string>>, index: string, key: string): void {
  const members = removals.get(index);
  if (members === undefined) removals.set(index, new Set([key]));
  else members.add(key);
}
