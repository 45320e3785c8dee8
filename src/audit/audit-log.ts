import type { Logger } from 'pino';

/**
 * The audit trail: one structured line per security-relevant event, on its own logger name
 * (`"logger":"gatehouse.audit"`) so operators can route it to a SIEM or a separate index apart
 * from the operational logs. Lines carry identifiers an investigation needs (request id, user,
 * host, path, policy, rule, reason) and never tokens, cookies or ticket secrets.
 */
export const auditLoggerName = 'gatehouse.audit';

export type AuditEvent =
  | {
      readonly event: 'deny';
      /** gatehouse's own id, generated for every request. */
      readonly requestId: string;
      /** The ingress's `X-Request-ID`, when a trusted proxy sent a well-formed one. */
      readonly proxyRequestId?: string;
      readonly outcome: 'unauthenticated' | 'forbidden';
      readonly reason: string;
      readonly dialect: string;
      readonly method: string;
      readonly host: string;
      readonly path: string | null;
      readonly client: string;
      readonly user: string | null;
      readonly provider: string | null;
      readonly policy: string | null;
      readonly rule: string | null;
      /** The client's own copy of an identity header that got the request refused. */
      readonly forgedHeader?: string;
    }
  | {
      readonly event: 'login';
      readonly requestId: string;
      readonly result: 'success' | 'failure';
      readonly provider: string;
      readonly user?: string;
      readonly sessionId?: string;
      readonly reason?: string;
    }
  | {
      readonly event: 'logout';
      readonly requestId: string;
      readonly provider: string;
      readonly user: string;
      readonly sessionId: string;
    }
  | {
      readonly event: 'revocation';
      /**
       * Who ended the sessions: the provider (`backchannel`), a refused refresh
       * (`invalid-grant`), the person from the portal (`self-service`) or an operator with
       * `gatehouse sessions revoke` (`operator`, issue #20).
       */
      readonly source: 'backchannel' | 'invalid-grant' | 'admin' | 'self-service' | 'operator';
      /** The provider whose sessions ended; `null` when they came from several or unknown ones. */
      readonly provider: string | null;
      readonly sessions: number;
      /** What selected them: a provider's `sid` or `sub`, one session, a user, a provider. */
      readonly by?: 'sid' | 'sub' | 'session' | 'user' | 'user-name' | 'provider';
      readonly requestId?: string;
      readonly sessionId?: string;
      /** The user name an operator named (`--user`), or the person ending their own sessions. */
      readonly user?: string;
      /** The storage keys ended, when an operator ended sessions (never tickets or tokens). */
      readonly sessionIds?: readonly string[];
      /** The operating-system user who ran the command. */
      readonly actor?: string;
      /** The operator's `--reason`. */
      readonly reason?: string;
    }
  | {
      /** A bearer token revoked by `jti` (`gatehouse tokens revoke`, issue #20). */
      readonly event: 'token-revocation';
      /** The configured issuer name (`bearer.issuers[].name`). */
      readonly issuer: string;
      readonly jti: string;
      /** Until when it is refused (ISO 8601): the token's expiry, or the operator's bound. */
      readonly until: string;
      readonly actor?: string;
      readonly reason?: string;
    }
  | {
      readonly event: 'impersonation';
      readonly requestId: string;
      readonly action: 'start' | 'stop';
      readonly result: 'success' | 'refused';
      readonly actor: string;
      readonly target: string;
      readonly reason?: string;
    }
  | {
      readonly event: 'policy-change';
      readonly source: string;
      readonly version: string;
      readonly previousVersion: string | null;
      readonly objects: Readonly<Record<string, number>>;
    };

export class AuditLog {
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger.child({ logger: auditLoggerName });
  }

  record(event: AuditEvent): void {
    this.#logger.info(event, `audit: ${event.event}`);
  }
}
