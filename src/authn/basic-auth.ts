import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Bcrypt from 'bcryptjs';
import type { AuthRequest } from '../authz/auth-request.ts';
import type { Authenticator, AuthnResult } from './authenticator.ts';
import { parseBasicAuthorization } from './basic-credentials.ts';
import type { Identity } from '../authz/identity.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { LruCache } from '../lru-cache.ts';
import { definedFields } from '../defined-fields.ts';

/**
 * bcryptjs, loaded on the first password checked: only installations with an htpasswd file use
 * it, and it is 0.5 MB of heap in every replica otherwise (issue #17). Its CommonJS build.
 */
let bcrypt: typeof Bcrypt | undefined;
function bcryptjs(): typeof Bcrypt {
  bcrypt ??= createRequire(import.meta.url)('bcryptjs') as typeof Bcrypt;
  return bcrypt;
}

/**
 * HTTP Basic authentication (RFC 7617) for machine clients, against an htpasswd secret of bcrypt
 * entries (see htpasswd.ts). The identity carries no groups: roles come from `RoleMapping`s with
 * `User` subjects in decide().
 *
 * Order of checks, each for a reason:
 * 1. the ban, BEFORE the password: a banned account cannot be probed, since a right and a wrong
 *    password get the same answer while the ban lasts (Authelia's regulation does the same);
 * 2. bcrypt, also for an unknown user (against a dummy hash of the same cost), so the response
 *    time does not tell which user names exist (CWE-208, observable timing discrepancy);
 * 3. every failure, unknown users included, is counted by the throttle.
 *
 * Successful verifications are remembered for `cacheTtlMs` (default 60 s): bcrypt is slow on
 * purpose (~50-100 ms at cost 10, in JavaScript) and a machine client sends its credentials on
 * every request. The cache key is an HMAC of user and password under a per-process random key,
 * so the cache holds nothing that could be brute-forced offline, and an entry is only served
 * while the user's current hash is still the one it was verified against: a changed or removed
 * htpasswd entry takes effect as soon as the secret is reloaded, and at the latest after the TTL
 * if the caller hands over a stale map.
 *
 * bcrypt reads only the first 72 bytes of a password (as Apache httpd does for `htpasswd -B`
 * entries): a longer password is accepted whenever its first 72 bytes are right.
 */
export type BasicAuthEvent =
  | {
      readonly kind: 'success';
      readonly user: string;
      readonly clientIp: string;
      /** True when the verification came from the cache (no bcrypt run). */
      readonly cached: boolean;
    }
  | {
      readonly kind: 'failure';
      readonly user: string;
      readonly clientIp: string;
      /** For the operator's log only; the client gets the same answer for both. */
      readonly reason: 'unknown-user' | 'wrong-password';
    }
  | {
      readonly kind: 'banned';
      readonly user: string;
      readonly clientIp: string;
      readonly retryAfterSeconds?: number;
    };

/** Rejection codes (stable, for logs and metrics). */
export const BasicRejections = {
  Malformed: 'malformed',
  Banned: 'banned',
  BadCredentials: 'bad-credentials',
} as const;

export interface BasicAuthenticatorOptions {
  /** user → bcrypt hash, or a getter returning the current map (the secret can be reloaded). */
  readonly users: ReadonlyMap<string, string> | (() => ReadonlyMap<string, string>);
  readonly throttle: LoginThrottle;
  /** Realm in the challenge (RFC 7617 §2); default `gatehouse`. */
  readonly realm?: string | undefined;
  /** The integrator's metric and log line. */
  readonly onEvent?: ((event: BasicAuthEvent) => void) | undefined;
  /** Epoch milliseconds, for the verification cache. */
  readonly now?: (() => number) | undefined;
  /** How long a successful verification is remembered; 0 disables the cache. Default 60 000. */
  readonly cacheTtlMs?: number | undefined;
  /** Default 1000. */
  readonly cacheMaxEntries?: number | undefined;
}

const quotedStringSafe = /^[\u0020\u0021\u0023-\u005B\u005D-\u007E]+$/;
/** Cost used for the dummy hash when the user map is empty (bcryptjs' default). */
const defaultDummyCost = 10;

export class BasicAuthenticator implements Authenticator {
  readonly name = 'basic';
  readonly #users: () => ReadonlyMap<string, string>;
  readonly #throttle: LoginThrottle;
  readonly #challenge: string;
  readonly #onEvent: (event: BasicAuthEvent) => void;
  readonly #now: () => number;
  readonly #cacheTtlMs: number;
  /** HMAC(user, password) → the bcrypt hash it was verified against. */
  readonly #verified: LruCache<string, string>;
  readonly #cacheKey = randomBytes(32);
  /** cost → a hash of a random password, compared against for unknown users. */
  readonly #dummyHashes = new Map<number, Promise<string>>();

  /** @throws TypeError when the realm cannot be a quoted-string, RangeError for a bad TTL. */
  constructor(options: BasicAuthenticatorOptions) {
    const users = options.users;
    this.#users = typeof users === 'function' ? users : () => users;
    this.#throttle = options.throttle;
    const realm = options.realm ?? 'gatehouse';
    if (!quotedStringSafe.test(realm)) {
      throw new TypeError('basic auth: the realm must be printable ASCII without " or \\');
    }
    this.#challenge = `Basic realm="${realm}", charset="UTF-8"`;
    this.#onEvent = options.onEvent ?? (() => undefined);
    this.#now = options.now ?? Date.now;
    this.#cacheTtlMs = options.cacheTtlMs ?? 60_000;
    if (!Number.isSafeInteger(this.#cacheTtlMs) || this.#cacheTtlMs < 0) {
      throw new RangeError('basic auth: cacheTtlMs must be a non-negative integer');
    }
    this.#verified = new LruCache({ maxEntries: options.cacheMaxEntries ?? 1000, now: this.#now });
  }

  /** `WWW-Authenticate` value for a 401 where a policy allows basic auth (RFC 7617 §2). */
  get challenge(): string {
    return this.#challenge;
  }

  authenticate(request: AuthRequest): AuthnResult | Promise<AuthnResult> {
    const credential = parseBasicAuthorization(request.credentials.authorization);
    if (credential.kind === 'absent') return { kind: 'absent' };
    if (credential.kind === 'malformed') return this.#reject(BasicRejections.Malformed);
    return this.#verify(request, credential.user, credential.password);
  }

  async #verify(request: AuthRequest, user: string, password: string): Promise<AuthnResult> {
    const clientIp = request.clientIp;

    const ban = await this.#throttle.isBanned(user, clientIp);
    if (ban.banned) {
      this.#onEvent({
        kind: 'banned',
        user,
        clientIp,
        ...definedFields({ retryAfterSeconds: ban.retryAfterSeconds }),
      });
      return this.#reject(BasicRejections.Banned);
    }

    const hash = this.#users().get(user);
    const key = this.#cacheKeyOf(user, password);
    if (hash !== undefined && this.#verified.get(key) === hash) {
      this.#onEvent({ kind: 'success', user, clientIp, cached: true });
      return identified(user);
    }

    const matches = await bcryptjs().compare(password, hash ?? (await this.#dummyHash()));
    if (hash === undefined || !matches) {
      await this.#throttle.recordFailure(user, clientIp);
      this.#onEvent({
        kind: 'failure',
        user,
        clientIp,
        reason: hash === undefined ? 'unknown-user' : 'wrong-password',
      });
      return this.#reject(BasicRejections.BadCredentials);
    }

    await this.#throttle.recordSuccess(user, clientIp);
    if (this.#cacheTtlMs > 0) this.#verified.set(key, hash, this.#now() + this.#cacheTtlMs);
    this.#onEvent({ kind: 'success', user, clientIp, cached: false });
    return identified(user);
  }

  #reject(code: string): AuthnResult {
    return { kind: 'rejected', code, challenge: this.#challenge };
  }

  #cacheKeyOf(user: string, password: string): string {
    // User names cannot contain NUL (control characters are refused), so the join is unambiguous.
    return createHmac('sha256', this.#cacheKey)
      .update(user, 'utf8')
      .update('\u0000')
      .update(password, 'utf8')
      .digest('base64url');
  }

  /**
   * A hash with the cost of the configured entries (the first one's: a machine-client secret is
   * usually written by one tool with one cost), so an unknown user costs as much as a known one.
   * Made once per cost, from a random password nobody knows.
   */
  #dummyHash(): Promise<string> {
    const first = this.#users().values().next();
    const cost = first.done === true ? defaultDummyCost : bcryptjs().getRounds(first.value);
    let hash = this.#dummyHashes.get(cost);
    if (hash === undefined) {
      hash = bcryptjs().hash(randomBytes(18).toString('base64'), cost);
      this.#dummyHashes.set(cost, hash);
    }
    return hash;
  }
}

function identified(user: string): AuthnResult {
  const identity: Identity = {
    subject: user,
    user,
    groups: [],
    claims: {},
    provider: 'basic',
    method: 'basic',
  };
  return { kind: 'identified', identity };
}
