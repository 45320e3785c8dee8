/**
 * `gatehouse tokens`: revokes bearer JWTs by `jti` before they expire (issue #20), and lists the
 * revocations in force. The revocation is stored in the shared store until the token's expiry
 * and published on the revocation channel; every replica keeps the list in memory and refuses
 * the token from its next request with 401 `invalid_token` "The access token has been revoked"
 * (RFC 6750 §3.1), whether or not it had the token in its verified-token cache.
 */
import { MAX_JTI_LENGTH, type RevokedToken } from '../../sessions/token-revocations.ts';
import type { CliCommand } from '../command.ts';
import {
  actorName,
  isoOrNull,
  openSharedStore,
  parseStoreCommandArgs,
  sessionsExitStatus,
  storeFailure,
  table,
} from './sessions.ts';

/** Without `--until`: long enough for the access tokens of most issuers (minutes to hours). */
export const DEFAULT_REVOCATION_MS = 24 * 60 * 60 * 1000;
/** A revocation is kept at most this long: no access token should live longer. */
const MAX_REVOCATION_MS = 366 * 24 * 60 * 60 * 1000;

const usage = `Usage: gatehouse tokens revoke --jti ID --issuer NAME [--until TIME] [options]
       gatehouse tokens list [--issuer NAME] [options]

Revokes a bearer token (a JWT access token) by its jti claim, on every replica at once: from the
next request on it is refused with 401 invalid_token "The access token has been revoked".
Needs the shared store (sessions.store: redis), read with the configuration \`gatehouse serve\`
uses.

  --jti ID             the token's jti claim, exactly
  --issuer NAME        the bearer issuer that signed it, by its configured name (bearer.issuers[].name)
  --until TIME         when the revocation may be forgotten: the token's exp claim (seconds since
                       1970) or an RFC 3339 time. Default: 24 hours from now; a token that lives
                       longer is accepted again after that, so pass its exp.
  --reason TEXT        recorded on the audit line (e.g. a ticket number)
  --config FILE        the configuration (default $GATEHOUSE_CONFIG), as for serve
  --output table|json  table (default) or one JSON document

Each revocation writes one audit line (JSON, "logger":"gatehouse.audit") on standard error.
Exit status: 0 done, 2 usage or configuration, 3 the shared store is unavailable
(sessions.store is memory, or Redis cannot be reached).
`;

export const tokensCommand: CliCommand = {
  name: 'tokens',
  summary: 'Revoke bearer tokens by jti (tokens revoke --jti ID --issuer NAME)',
  async run(args, io) {
    const parsed = parseStoreCommandArgs(
      { name: 'tokens', usage, actions: ['revoke', 'list'] },
      args,
      io,
      {
        jti: { type: 'string' },
        issuer: { type: 'string' },
        until: { type: 'string' },
        reason: { type: 'string' },
      },
    );
    if (typeof parsed === 'number') return parsed;
    const { values, action, output, fail } = parsed;
    if (action === 'revoke') {
      if (values.jti === undefined || values.issuer === undefined) {
        return fail('revoke needs --jti ID and --issuer NAME');
      }
      if (values.jti === '' || values.jti.length > MAX_JTI_LENGTH) {
        return fail(`--jti must be 1 to ${String(MAX_JTI_LENGTH)} characters`);
      }
      if (values.reason !== undefined && (values.reason === '' || values.reason.length > 200)) {
        return fail('--reason must be 1 to 200 characters');
      }
    } else if (values.jti !== undefined || values.until !== undefined) {
      return fail('list takes no --jti or --until');
    }

    const opened = await openSharedStore(values.config, io, 'tokens');
    if (typeof opened === 'number') return opened;
    const { sessions, config, runtime, audit } = opened;
    try {
      const issuers = config.bearer.issuers.map((issuer) => issuer.name);
      if (values.issuer !== undefined && !issuers.includes(values.issuer)) {
        io.stderr(
          `gatehouse tokens: --issuer ${values.issuer} is not a configured bearer issuer; ` +
            (issuers.length === 0
              ? 'bearer.issuers is empty, so no bearer token is accepted anyway.\n'
              : `configured: ${issuers.join(', ')}.\n`),
        );
        return sessionsExitStatus.usage;
      }
      const now = runtime.now();
      if (action === 'list') {
        const tokens = (await sessions.store.listRevokedTokens())
          .filter((token) => values.issuer === undefined || token.issuer === values.issuer)
          .sort((a, b) => a.until - b.until);
        io.stdout(
          output === 'json'
            ? `${JSON.stringify({ tokens: tokens.map(tokenJson) }, null, 2)}\n`
            : tokens.length === 0
              ? 'No revoked token.\n'
              : table(
                  ['ISSUER', 'JTI', 'UNTIL'],
                  tokens.map((token) => [token.issuer, token.jti, isoOrNull(token.until) ?? '']),
                ),
        );
        return sessionsExitStatus.ok;
      }
      const until =
        values.until === undefined ? now + DEFAULT_REVOCATION_MS : parseUntil(values.until);
      if (until === null) {
        io.stderr(
          `gatehouse tokens: --until ${values.until ?? ''} is neither seconds since 1970 (the exp claim) nor an RFC 3339 time\n`,
        );
        return sessionsExitStatus.usage;
      }
      if (until <= now) {
        io.stderr(
          `gatehouse tokens: --until ${isoOrNull(until) ?? ''} is past: the token has expired and is refused anyway; nothing was written\n`,
        );
        return sessionsExitStatus.usage;
      }
      if (until - now > MAX_REVOCATION_MS) {
        io.stderr(
          'gatehouse tokens: --until is more than 366 days away; no access token should live that long\n',
        );
        return sessionsExitStatus.usage;
      }
      const token: RevokedToken = { issuer: values.issuer ?? '', jti: values.jti ?? '', until };
      await sessions.store.revokeToken(token);
      audit({
        event: 'token-revocation',
        issuer: token.issuer,
        jti: token.jti,
        until: isoOrNull(until) ?? '',
        actor: actorName(io),
        ...(values.reason === undefined ? {} : { reason: values.reason }),
      });
      io.stdout(
        output === 'json'
          ? `${JSON.stringify({ revoked: tokenJson(token) }, null, 2)}\n`
          : `Revoked token ${token.jti} of issuer ${token.issuer} on every replica until ${isoOrNull(until) ?? ''}.\n`,
      );
      return sessionsExitStatus.ok;
    } catch (error) {
      return storeFailure(io, 'tokens', error);
    } finally {
      await sessions.close();
    }
  },
};

/** Seconds since 1970 (a JWT NumericDate, RFC 7519 §2) or an RFC 3339 time, in epoch ms. */
export function parseUntil(text: string): number | null {
  if (/^\d{1,12}$/.test(text)) return Number(text) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(text)) {
    return null;
  }
  const parsed = Date.parse(text);
  return Number.isFinite(parsed) ? parsed : null;
}

function tokenJson(token: RevokedToken): Record<string, unknown> {
  return { issuer: token.issuer, jti: token.jti, until: isoOrNull(token.until) };
}
