import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection.ts';

/**
 * Lua scripts, each touching exactly ONE key, so they run unchanged on Redis Cluster (a script's
 * keys must share a slot). Work spanning a session and its indexes is done as separate commands,
 * and stale index entries are tolerated and pruned when found.
 *
 * Times are epoch milliseconds from the caller's injected clock. Lua numbers are doubles, exact
 * for integers below 2^53; `%d` writes them back without an exponent.
 */
export interface RedisScript {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): RedisScript {
  // SHA-1 here is Redis's script identifier (EVALSHA), not a security function.
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Slides a session's idle expiry: ARGV = new idle expiry, now. Never past the absolute expiry,
 * never backwards (an `update` may have just written a later one), never recreating a session
 * deleted meanwhile. Records `now` as the last use (`l`, the listing's). Returns 1 if extended.
 */
export const TOUCH_SESSION = script(`
local f = redis.call('HMGET', KEYS[1], 'i', 'a')
if not f[1] or not f[2] then return 0 end
local now = tonumber(ARGV[2])
local i = math.min(tonumber(ARGV[1]), tonumber(f[2]))
if i <= tonumber(f[1]) then return 0 end
redis.call('HSET', KEYS[1], 'i', string.format('%d', i), 'l', ARGV[2])
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(1, i - now)))
return 1
`);

/**
 * Replaces a live session's sealed record and resets its idle expiry (and the last use): ARGV =
 * sealed record, now, idle timeout. Writes nothing (returns 0) if the session is gone or expired, so a refresh that
 * raced a logout cannot bring the session back.
 */
export const REPLACE_SESSION = script(`
local f = redis.call('HMGET', KEYS[1], 'i', 'a')
if not f[1] or not f[2] then return 0 end
local now = tonumber(ARGV[2])
local a = tonumber(f[2])
if tonumber(f[1]) <= now or a <= now then return 0 end
local i = math.min(now + tonumber(ARGV[3]), a)
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'i', string.format('%d', i), 'l', ARGV[2])
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(1, i - now)))
return 1
`);

/**
 * Deletes a session and returns its index ids `{u, s, n}` (user, sid, user name; empty strings
 * when absent) so the caller can clean the indexes, or nil when there was no session.
 */
export const TAKE_SESSION = script(`
local f = redis.call('HMGET', KEYS[1], 'u', 's', 'n')
if redis.call('DEL', KEYS[1]) == 0 then return false end
return {f[1] or '', f[2] or '', f[3] or ''}
`);

/**
 * Adds a member to an index set and makes the set live at least ARGV[2] ms: its TTL follows the
 * longest-lived session in it. (Plain PEXPIRE GT would not do: Redis treats a key without TTL as
 * infinite, so GT never sets the first TTL.)
 */
export const INDEX_ADD = script(`
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`);

/**
 * Counts a login state as pending, unless the cap is reached: ARGV = state key, now, its expiry,
 * cap (0: none), key TTL. Expired members are dropped first (scores are expiry times from the
 * caller's clock). Returns `{1}` when counted, `{0, oldest expiry}` when full. The set's own TTL
 * follows its latest member, so an idle installation keeps no key.
 */
export const ADMIT_LOGIN_STATE = script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local cap = tonumber(ARGV[4])
if cap > 0 and redis.call('ZCARD', KEYS[1]) >= cap then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, oldest[2]}
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return {1}
`);

/**
 * Adds a revoked bearer token to the revocation list, a sorted set of `issuer NUL jti` scored by
 * the epoch ms until which it is refused: ARGV = member, until, now. A later `until` wins (`GT`,
 * Redis ≥ 6.2, as `GETDEL` already requires); entries past their `until` are dropped, and the
 * set lives as long as its latest entry, so an installation that revoked nothing keeps no key.
 */
export const REVOKE_TOKEN = script(`
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local ttl = tonumber(ARGV[2]) - tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
end
return 1
`);

/** Deletes a lock only if it still holds this holder's token (the Redis docs' release pattern). */
export const RELEASE_LOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

/** EVALSHA, falling back to EVAL when the server (or a cluster node) has not cached the script. */
export async function runScript(
  client: RedisClient,
  redisScript: RedisScript,
  key: string,
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(redisScript.sha, 1, key, ...args);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
      return client.eval(redisScript.lua, 1, key, ...args);
    }
    throw error;
  }
}
