import type { Locks } from './locks.ts';
import type { LoginStateStore } from './login-state-store.ts';
import type { ReplayGuard } from './replay-guard.ts';
import type { RevocationBus } from './revocation-bus.ts';
import type { SessionDirectory } from './session-directory.ts';
import type { SessionStore } from './session-store.ts';
import type { TokenRevocationStore } from './token-revocations.ts';

/**
 * Everything gatehouse keeps in Redis (in memory for one local replica), split by role so that
 * each consumer names only the roles it uses:
 *
 * | role | file | methods | used by |
 * | --- | --- | --- | --- |
 * | `SessionStore` | session-store.ts | `create`, `get`, `update`, `delete`, `deleteByUser`, `deleteBySid`, `listKeysByUser` | sign-in callback, sign-out, token refresh, back-channel logout, session cookie, impersonation |
 * | `SessionDirectory` | session-directory.ts | `listByUser`, `listByUserName`, `deleteByProvider` | the portal's session list (oidc/own-sessions.ts), `gatehouse sessions` |
 * | `TokenRevocationStore` | token-revocations.ts | `revokeToken`, `listRevokedTokens`, `onTokenRevocation` | bearer authenticator (revoked-token-set.ts), `gatehouse tokens` |
 * | `LoginStateStore` | login-state-store.ts | `putLoginState`, `takeLoginState`, `countSignInStart` | sign-in start and callback |
 * | `Locks` | locks.ts | `withLock` | token refresh |
 * | `ReplayGuard` | replay-guard.ts | `rememberOnce` | back-channel logout |
 * | `RevocationBus` | revocation-bus.ts | `publishRevocation`, `onRevocation`, `revocationsReady` | per-replica cache; session cookie and impersonation after an update |
 * | `StoreLifecycle` | here | `ping`, `close` | the composition root (readiness, shutdown) |
 *
 * Every implementation is one object holding all the roles, a `SessionBackend`:
 * `redis/redis-store.ts` (production: standalone, Sentinel, Cluster), `memory/memory-store.ts`
 * (local runs and unit tests; nothing is shared between processes), `instrumented-store.ts`
 * (metrics around another backend) and `session-cache.ts` (a per-replica read-through cache in
 * front of another backend). One contract suite, `session-store.contract.ts` (a block per role),
 * runs against the memory store, the memory store behind the cache, Redis standalone, Redis
 * standalone behind the instrumented store and the cache (as main.ts wires it), Redis Sentinel and
 * Redis Cluster.
 *
 * Failures of the backing service are thrown as `DependencyError('redis', ...)`, never turned
 * into `null` / `false`: a caller must be able to tell an outage from a missing session (fail
 * closed, architecture.md "Security invariants" 1), and an outage must never look like a fresh
 * login state or a first-seen `jti`. The two exceptions are documented where they apply: a lock
 * that cannot be released (`Locks.withLock`) and a subscription that cannot be made yet
 * (`RevocationBus.onRevocation`).
 */
export interface StoreLifecycle {
  /** Rejects with `DependencyError` when the backing service is unreachable (readiness). */
  ping(): Promise<void>;
  /** Drops every revocation listener and releases the connections. */
  close(): Promise<void>;
}

/** Every role at once: what the implementations are, and what the composition root holds. */
export interface SessionBackend
  extends
    SessionStore,
    SessionDirectory,
    TokenRevocationStore,
    LoginStateStore,
    Locks,
    ReplayGuard,
    RevocationBus,
    StoreLifecycle {}
