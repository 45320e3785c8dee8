import { createHash } from 'node:crypto';

/**
 * The Redis key layout. Every key starts with the configured prefix, so several installations can
 * share a Redis and an operator can find (or flush) gatehouse's keys with one `SCAN MATCH`.
 *
 * | key | type | content |
 * | --- | --- | --- |
 * | `<p>s:<key>` | hash | `d` sealed record, `i` idle expiry, `a` absolute expiry (epoch ms), `u` user index id, `s` sid index id; the listing (session-directory.ts): `p` provider, `c` sign-in time, `l` last use (epoch ms), `ua` device summary, `n` user-name index id |
 * | `<p>u:<hash(userKey)>` | set | storage keys of the user's sessions; TTL = the longest absolute lifetime |
 * | `<p>n:<hash(user name)>` | set | storage keys of the sessions signed in under that user name, from any provider; TTL likewise |
 * | `<p>revoked-tokens` | sorted set | revoked bearer tokens, `<issuer name> NUL <jti>` scored by the epoch ms until which they are refused; TTL = the latest |
 * | `<p>sid:<hash(provider, sid)>` | set | storage keys bound to a provider session id |
 * | `<p>login:<stateKey>` | string | login state, single use |
 * | `<p>login-pending` | sorted set | state keys of pending sign-ins, scored by expiry (epoch ms) |
 * | `<p>starts:<client>:<window>` | string | sign-in starts of a client address (block) in one window |
 * | `<p>lock:<name>` | string | lock holder's random token |
 * | `<p>once:<ns>:<hash(id)>` | string | replay marker |
 * | channel `<p>revocations` | pub/sub | JSON array of ended storage keys, or `{"tokens": [{issuer, jti, until}]}` for revoked bearer tokens (an object, which replicas older than issue #20 ignore) |
 *
 * User names, emails and provider session ids appear only hashed (SHA-256, base64url), so a dump
 * or `MONITOR` shows no personal data in clear; a session's listing fields hold a provider name,
 * times and a device summary from a fixed vocabulary (user-agent-summary.ts). Keys of one session never share a hash tag with
 * its indexes: in Redis Cluster they live in different slots, and the store never sends one
 * command or script over several of them.
 */
export class RedisKeys {
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  get prefix(): string {
    return this.#prefix;
  }

  get revocationChannel(): string {
    return `${this.#prefix}revocations`;
  }

  session(storageKey: string): string {
    return `${this.#prefix}s:${storageKey}`;
  }

  /** The id stored in a session's `u` field; `userIndexById` turns it back into a key. */
  userIndexId(userKey: string): string {
    return digest(userKey);
  }

  userIndexById(id: string): string {
    return `${this.#prefix}u:${id}`;
  }

  /** The id stored in a session's `s` field. */
  sidIndexId(provider: string, sid: string): string {
    return digest(`${provider}\u0000${sid}`);
  }

  sidIndexById(id: string): string {
    return `${this.#prefix}sid:${id}`;
  }

  /** The id stored in a session's `n` field: the index of one user name, across providers. */
  userNameIndexId(userName: string): string {
    return digest(userName);
  }

  userNameIndexById(id: string): string {
    return `${this.#prefix}n:${id}`;
  }

  /** `SCAN MATCH` pattern of every session hash; the storage key is what follows it. */
  get sessionPattern(): string {
    return `${escapeGlob(this.#prefix)}s:*`;
  }

  /** The storage key of a session hash's Redis key, or `undefined` for another key. */
  storageKeyOf(redisKey: string): string | undefined {
    const head = `${this.#prefix}s:`;
    return redisKey.startsWith(head) ? redisKey.slice(head.length) : undefined;
  }

  /**
   * One key for the installation, like `loginPending`: revocations are an operator's rare
   * action, and every replica reads them all at start and each minute.
   */
  get revokedTokens(): string {
    return `${this.#prefix}revoked-tokens`;
  }

  loginState(stateKey: string): string {
    return `${this.#prefix}login:${stateKey}`;
  }

  /**
   * One key for the whole installation: the cap on pending sign-ins is global. In Redis Cluster
   * it lives on one node, which sees one small command per sign-in start and callback.
   */
  get loginPending(): string {
    return `${this.#prefix}login-pending`;
  }

  signInStarts(client: string, window: number): string {
    return `${this.#prefix}starts:${client}:${String(window)}`;
  }

  lock(name: string): string {
    return `${this.#prefix}lock:${name}`;
  }

  once(namespace: string, id: string): string {
    return `${this.#prefix}once:${namespace}:${digest(id)}`;
  }
}

/** A prefix is free text: its glob characters must match themselves in `SCAN MATCH`. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}
