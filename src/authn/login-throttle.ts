import { createHash } from 'node:crypto';
import { canonicalAddress } from '../dialects/proxy-trust.ts';

/**
 * Brute-force regulation for password logins (HTTP Basic), modelled on Authelia's `regulation`:
 * failed attempts are counted per user and per client address inside a fixed window of
 * `findTime`; reaching `maxRetries` bans that user (or address) for `banTime`. OWASP ASVS 5.0
 * V6.3.1 / NIST SP 800-63B §5.2.2 ask for such rate limiting of failed authentication attempts.
 *
 * Both subjects are counted because they catch different attacks: the user counter stops a
 * botnet guessing one account's password from many addresses, the address counter stops one
 * client spraying a few common passwords over many accounts. The known cost (Authelia's too) is
 * that anyone can lock a user out for `banTime` by failing on purpose; the ban is short for that
 * reason.
 */
export interface BanStatus {
  readonly banned: boolean;
  /** Seconds until every ban on this user and address has lifted (for `Retry-After`). */
  readonly retryAfterSeconds?: number;
}

export interface LoginThrottle {
  /** True while the user or the address is banned. */
  isBanned(user: string, clientIp: string): Promise<BanStatus>;
  /** Counts a failed attempt for both; bans whichever reaches `maxRetries` within `findTime`. */
  recordFailure(user: string, clientIp: string): Promise<void>;
  /**
   * Clears the user's failure count: the owner just proved the password (Authelia's regulator
   * stops counting at a successful attempt too). The address counter is left alone, or an
   * attacker holding one valid account could reset it between guesses at other accounts; an
   * active ban is never lifted early.
   */
  recordSuccess(user: string, clientIp: string): Promise<void>;
}

export interface LoginThrottleSettings {
  readonly maxRetries: number;
  readonly findTimeMs: number;
  readonly banTimeMs: number;
}

/** Authelia's defaults: `max_retries: 3`, `find_time: 2m`, `ban_time: 5m`. */
export const defaultLoginThrottleSettings: LoginThrottleSettings = {
  maxRetries: 3,
  findTimeMs: 2 * 60_000,
  banTimeMs: 5 * 60_000,
};

/** What a ban was placed on; `user` and `clientIp` are for the integrator's log line and metric. */
export interface BanEvent {
  readonly scope: ThrottleScope;
  readonly user: string;
  readonly clientIp: string;
  readonly banSeconds: number;
}

export interface LoginThrottleOptions extends Partial<LoginThrottleSettings> {
  /** Called when a ban is placed (not on every refused attempt while banned). */
  readonly onBan?: ((event: BanEvent) => void) | undefined;
}

/** @throws RangeError when a setting is not a positive integer. */
export function resolveLoginThrottleSettings(
  options: Partial<LoginThrottleSettings>,
): LoginThrottleSettings {
  const settings: LoginThrottleSettings = {
    maxRetries: options.maxRetries ?? defaultLoginThrottleSettings.maxRetries,
    findTimeMs: options.findTimeMs ?? defaultLoginThrottleSettings.findTimeMs,
    banTimeMs: options.banTimeMs ?? defaultLoginThrottleSettings.banTimeMs,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`login throttle: ${name} must be a positive integer, got ${value}`);
    }
  }
  return settings;
}

export type ThrottleScope = 'user' | 'ip';

/** One counted subject: its scope and the storage-safe id (a hash for users). */
export interface ThrottleSubject {
  readonly scope: ThrottleScope;
  readonly id: string;
}

/**
 * The subjects an attempt counts against. User names are hashed (SHA-256, base64url) so a Redis
 * dump or `MONITOR` shows no account names, and so that any byte a client puts in a name is safe
 * in a key. Addresses are canonicalised (`::ffff:10.0.0.1` is `10.0.0.1`); a value that is not an
 * address (should not happen: the dialect sets it) counts against the user only.
 */
export function throttleSubjects(user: string, clientIp: string): ThrottleSubject[] {
  const subjects: ThrottleSubject[] = [
    { scope: 'user', id: createHash('sha256').update(user, 'utf8').digest('base64url') },
  ];
  const address = canonicalAddress(clientIp);
  if (address !== null) subjects.push({ scope: 'ip', id: address.address });
  return subjects;
}

/** Whole seconds, rounded up, so a client told to come back never returns a moment too early. */
export function secondsFromMs(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
