import type { Session } from 'oidc-provider';

/** What the index remembers of one provider session. */
export interface IndexedSession {
  /** The current session id (the adapter key); it changes on `resetIdentifier`. */
  readonly id: string;
  readonly subject: string;
  /** client_id → the `sid` and grant of that client in this session. */
  readonly clients: ReadonlyMap<
    string,
    { readonly sid?: string | undefined; readonly grantId?: string | undefined }
  >;
}

/**
 * The provider's sessions by subject. oidc-provider's adapters look sessions
 * up by id only, and ending "every session of a user" (what an administrator
 * does in a real identity provider, and what triggers Back-Channel Logout
 * without the browser) needs the other direction. Fed by the provider's
 * `session.saved` / `session.destroyed` events.
 */
export class SessionIndex {
  // Keyed by the session's `uid`, which survives id rotation.
  readonly #byUid = new Map<string, IndexedSession>();

  saved(session: Session): void {
    if (session.accountId === undefined) {
      this.#byUid.delete(session.uid);
      return;
    }
    const clients = new Map(
      Object.entries(session.authorizations ?? {}).map(([clientId, { sid, grantId }]) => [
        clientId,
        { sid, grantId },
      ]),
    );
    this.#byUid.set(session.uid, { id: session.jti, subject: session.accountId, clients });
  }

  destroyed(session: Session): void {
    if (this.#byUid.get(session.uid)?.id === session.jti) this.#byUid.delete(session.uid);
  }

  /** Removes and returns every session of `subject`. */
  takeSessionsOf(subject: string): IndexedSession[] {
    const taken: IndexedSession[] = [];
    for (const [uid, session] of this.#byUid) {
      if (session.subject !== subject) continue;
      taken.push(session);
      this.#byUid.delete(uid);
    }
    return taken;
  }
}
