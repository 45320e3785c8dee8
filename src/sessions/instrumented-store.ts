import type { Tracer } from '@opentelemetry/api';
import type { Metrics } from '../metrics/metrics.ts';
import { AttributeNames, SpanNames, inChildSpan } from '../tracing/tracing.ts';
import type { LockBusy } from './locks.ts';
import type { LoginStateLimits, LoginStatePut, WindowCount } from './login-state-store.ts';
import type { RevocationListener } from './revocation-bus.ts';
import type { SessionBackend } from './session-backend.ts';
import type { SessionListing } from './session-directory.ts';
import type { GetOptions } from './session-store.ts';
import type { NewSession, Session } from './session.ts';
import type { SessionTicket } from './ticket.ts';
import type { RevokedToken, TokenRevocationListener } from './token-revocations.ts';

/**
 * A session-backend decorator (every role, session-backend.ts) that times the operations of the
 * backing store and counts their failures (`gatehouse_session_store_duration_seconds{operation}`,
 * `gatehouse_session_store_errors_total{operation}`): the dependency metrics an operator reads
 * when checks slow down or fail with 503. It sits under the per-replica cache, so the latency is
 * Redis's, not the cache's. Not timed: `withLock` (its duration is mostly `fn`'s), the
 * subscription calls `onRevocation`, `onTokenRevocation` and `revocationsReady`, and `close`.
 *
 * Given a tracer, each timed operation made inside a traced check is also a child span
 * (`session-store <operation>`, docs/monitoring.md "Tracing"): the same boundary, so a slow check
 * shows whether Redis was the slow part. The span carries the operation name only, never a key.
 */
export class InstrumentedSessionStore implements SessionBackend {
  readonly #store: SessionBackend;
  readonly #metrics: Metrics;
  readonly #tracer: Tracer | undefined;

  constructor(store: SessionBackend, metrics: Metrics, tracer?: Tracer) {
    this.#store = store;
    this.#metrics = metrics;
    this.#tracer = tracer;
  }

  #timed<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (this.#tracer === undefined) return this.#measured(operation, run);
    return inChildSpan(
      this.#tracer,
      SpanNames.sessionStore(operation),
      { [AttributeNames.sessionStoreOperation]: operation },
      () => this.#measured(operation, run),
    );
  }

  async #measured<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const stop = this.#metrics.sessionStoreDuration.startTimer({ operation });
    try {
      return await run();
    } catch (error) {
      this.#metrics.sessionStoreErrors.inc({ operation });
      throw error;
    } finally {
      stop();
    }
  }

  create(fields: NewSession, ticket: SessionTicket): Promise<Session> {
    return this.#timed('create', () => this.#store.create(fields, ticket));
  }
  get(ticket: SessionTicket, options?: GetOptions): Promise<Session | null> {
    return this.#timed('get', () => this.#store.get(ticket, options));
  }
  update(ticket: SessionTicket, session: Session): Promise<boolean> {
    return this.#timed('update', () => this.#store.update(ticket, session));
  }
  delete(key: string): Promise<boolean> {
    return this.#timed('delete', () => this.#store.delete(key));
  }
  deleteByUser(userKey: string): Promise<string[]> {
    return this.#timed('deleteByUser', () => this.#store.deleteByUser(userKey));
  }
  deleteBySid(provider: string, sid: string): Promise<string[]> {
    return this.#timed('deleteBySid', () => this.#store.deleteBySid(provider, sid));
  }
  listKeysByUser(userKey: string): Promise<string[]> {
    return this.#timed('listKeysByUser', () => this.#store.listKeysByUser(userKey));
  }
  listByUser(userKey: string): Promise<SessionListing[]> {
    return this.#timed('listByUser', () => this.#store.listByUser(userKey));
  }
  listByUserName(userName: string): Promise<SessionListing[]> {
    return this.#timed('listByUserName', () => this.#store.listByUserName(userName));
  }
  deleteByProvider(provider: string): Promise<string[]> {
    return this.#timed('deleteByProvider', () => this.#store.deleteByProvider(provider));
  }
  revokeToken(token: RevokedToken): Promise<void> {
    return this.#timed('revokeToken', () => this.#store.revokeToken(token));
  }
  listRevokedTokens(): Promise<RevokedToken[]> {
    return this.#timed('listRevokedTokens', () => this.#store.listRevokedTokens());
  }
  onTokenRevocation(listener: TokenRevocationListener): () => void {
    return this.#store.onTokenRevocation(listener);
  }
  putLoginState(
    stateKey: string,
    value: string,
    ttlMs: number,
    limits?: LoginStateLimits,
  ): Promise<LoginStatePut> {
    return this.#timed('putLoginState', () =>
      this.#store.putLoginState(stateKey, value, ttlMs, limits),
    );
  }
  countSignInStart(client: string, windowMs: number): Promise<WindowCount> {
    return this.#timed('countSignInStart', () => this.#store.countSignInStart(client, windowMs));
  }
  takeLoginState(stateKey: string): Promise<string | null> {
    return this.#timed('takeLoginState', () => this.#store.takeLoginState(stateKey));
  }
  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<T | LockBusy> {
    // Not timed: the call lasts as long as `fn` (a token refresh, timed elsewhere), and its
    // failures are `fn`'s as much as the store's.
    return this.#store.withLock(name, ttlMs, fn);
  }
  rememberOnce(namespace: string, id: string, ttlMs: number): Promise<boolean> {
    return this.#timed('rememberOnce', () => this.#store.rememberOnce(namespace, id, ttlMs));
  }
  publishRevocation(keys: readonly string[]): Promise<void> {
    return this.#timed('publishRevocation', () => this.#store.publishRevocation(keys));
  }
  onRevocation(listener: RevocationListener): () => void {
    return this.#store.onRevocation(listener);
  }
  revocationsReady(): Promise<void> {
    return this.#store.revocationsReady();
  }
  ping(): Promise<void> {
    return this.#timed('ping', () => this.#store.ping());
  }
  close(): Promise<void> {
    return this.#store.close();
  }
}
