import type { AuditLog } from '../audit/audit-log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { SessionDirectory, SessionListing } from '../sessions/session-directory.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { Session } from '../sessions/session.ts';

/**
 * What the portal lets a signed-in person do with their own sessions (issue #20): see them
 * (provider, sign-in, last use, device, which one is this browser) and end one or all of them.
 * http/sign-in/ only adapts these to pages and CSRF-checked POSTs.
 *
 * "Own" means the sessions of the same person at the same provider, `userKeyOf(provider,
 * subject)` (the index sign-out and back-channel logout use): a person signed in through two
 * providers is two accounts, each seeing its own. Ending sessions publishes them on the
 * revocation bus (the store does), so every replica refuses them from the next request.
 */
export interface OwnSessionsDependencies {
  readonly store: SessionStore & SessionDirectory;
  readonly metrics: Pick<Metrics, 'sessionRevocations'>;
  readonly audit: Pick<AuditLog, 'record'>;
}

export interface OwnSession extends SessionListing {
  /** The session of the browser asking: "this device". */
  readonly current: boolean;
}

/** The person's live sessions, most recently used first, the asking one marked `current`. */
export async function listOwnSessions(
  store: SessionDirectory,
  current: Session,
): Promise<OwnSession[]> {
  const listings = await store.listByUser(current.userKey);
  return listings.map((listing) => ({ ...listing, current: listing.key === current.key }));
}

/**
 * Ends one of the person's sessions by its storage key (the key the list shows). Resolves `false`,
 * ending nothing, when the key is not one of this person's live sessions: someone else's and an
 * already ended one get the same answer, so the form cannot be used to probe for sessions.
 * Ending `current` itself is allowed (it is a sign-out without the provider's logout).
 */
export async function endOwnSession(
  dependencies: OwnSessionsDependencies,
  current: Session,
  key: string,
  requestId: string,
): Promise<boolean> {
  const own = await dependencies.store.listKeysByUser(current.userKey);
  if (!own.includes(key)) return false;
  const ended = await dependencies.store.delete(key);
  if (ended) record(dependencies, current, requestId, 1, 'session');
  return ended;
}

/**
 * Ends every session of the person ("sign out everywhere"), or every one but this browser's
 * (`keepCurrent`). Resolves to the number ended.
 */
export async function endAllOwnSessions(
  dependencies: OwnSessionsDependencies,
  current: Session,
  requestId: string,
  options: { readonly keepCurrent: boolean },
): Promise<number> {
  const { store } = dependencies;
  let ended: number;
  if (options.keepCurrent) {
    const others = (await store.listKeysByUser(current.userKey)).filter(
      (key) => key !== current.key,
    );
    const results = await Promise.all(others.map((key) => store.delete(key)));
    ended = results.filter(Boolean).length;
  } else {
    ended = (await store.deleteByUser(current.userKey)).length;
  }
  record(dependencies, current, requestId, ended, 'user');
  return ended;
}

function record(
  { metrics, audit }: OwnSessionsDependencies,
  current: Session,
  requestId: string,
  ended: number,
  by: 'session' | 'user',
): void {
  if (ended > 0) metrics.sessionRevocations.inc({ source: 'self-service' }, ended);
  audit.record({
    event: 'revocation',
    source: 'self-service',
    provider: current.provider,
    sessions: ended,
    by,
    requestId,
    sessionId: current.key,
    user: current.identity.user,
  });
}
