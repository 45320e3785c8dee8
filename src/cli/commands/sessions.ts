/**
 * `gatehouse sessions`: what an operator sees and ends of the browser sessions (issue #20). It
 * reads the configuration `serve` reads and opens the session store with the same builder
 * (composition/sessions.ts), so it reaches the same Redis (standalone, Sentinel or Cluster) under
 * the same key prefix. Ending sessions publishes them on the revocation channel: every replica's
 * cache drops them and the next request with their cookie is refused, on every replica at once.
 *
 * The listing an operator sees holds no token and no personal data beyond the user name asked
 * for (sessions/session-directory.ts). Every revocation writes one audit line (`"logger":
 * "gatehouse.audit"`, `event: revocation`, `source: operator`) on standard error.
 */
import { userInfo } from 'node:os';
import { Writable } from 'node:stream';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { Logger } from 'pino';
import type { AuditEvent } from '../../audit/audit-log.ts';
import { openSessions, type Sessions } from '../../composition/sessions.ts';
import { createRuntime, type Runtime } from '../../composition/runtime.ts';
import type { Config } from '../../config/schema.ts';
import { DependencyError } from '../../errors.ts';
import { listProblems } from '../../config/problems.ts';
import { createLogger } from '../../logger.ts';
import type { SessionListing } from '../../sessions/session-directory.ts';
import { STORAGE_KEY_PATTERN } from '../../sessions/storage-names.ts';
import { loadCommandConfig, type CliCommand, type CliIo } from '../command.ts';

/** Exit statuses of `gatehouse sessions` and `gatehouse tokens`, for scripts. */
export const sessionsExitStatus = {
  /** Done: listed (possibly nothing), or ended at least one session / revoked the token. */
  ok: 0,
  /** `revoke` matched no live session: nothing was ended. */
  nothingMatched: 1,
  /** Bad options, or a configuration with problems. */
  usage: 2,
  /** The shared store cannot be used: `sessions.store` is `memory`, or Redis is unreachable. */
  storeUnavailable: 3,
} as const;

const usage = `Usage: gatehouse sessions list   --user NAME [--source provider/NAME] [options]
       gatehouse sessions revoke --user NAME [--source provider/NAME] [options]
       gatehouse sessions revoke --session KEY [options]
       gatehouse sessions revoke --all-of-source provider/NAME [options]

Lists or ends browser sessions in the shared session store (sessions.store: redis), read with
the configuration \`gatehouse serve\` uses. Ending a session takes effect on every replica at once.

  --user NAME          the user name the person signed in with (exactly as in the audit trail);
                       sessions started before gatehouse kept a listing are not found by name
  --source provider/NAME
                       only sessions signed in through this provider
  --session KEY        one session, by the SESSION column of "sessions list"
  --all-of-source provider/NAME
                       every session this provider signed in
  --reason TEXT        recorded on the audit line (e.g. a ticket number)
  --config FILE        the configuration (default $GATEHOUSE_CONFIG), as for serve
  --output table|json  table (default) or one JSON document

Each revocation writes one audit line (JSON, "logger":"gatehouse.audit") on standard error.
Exit status: 0 done, 1 nothing matched (revoke), 2 usage or configuration, 3 the shared store is
unavailable (sessions.store is memory, or Redis cannot be reached).
`;

export const sessionsCommand: CliCommand = {
  name: 'sessions',
  summary: 'List or end browser sessions (sessions list|revoke --user NAME)',
  async run(args, io) {
    const parsed = parseStoreCommandArgs(
      { name: 'sessions', usage, actions: ['list', 'revoke'] },
      args,
      io,
      {
        user: { type: 'string' },
        source: { type: 'string' },
        session: { type: 'string' },
        'all-of-source': { type: 'string' },
        reason: { type: 'string' },
      },
    );
    if (typeof parsed === 'number') return parsed;
    const { values, action, output, fail } = parsed;
    const source = values.source === undefined ? undefined : providerOfSource(values.source);
    if (source === null) return fail('--source must be provider/NAME (e.g. provider/partner)');
    const allOf =
      values['all-of-source'] === undefined ? undefined : providerOfSource(values['all-of-source']);
    if (allOf === null)
      return fail('--all-of-source must be provider/NAME (e.g. provider/partner)');
    const reason = values.reason;
    if (reason !== undefined && (reason === '' || reason.length > 200)) {
      return fail('--reason must be 1 to 200 characters');
    }
    const selectors = [values.user, values.session, allOf].filter((each) => each !== undefined);
    if (action === 'list' && (values.user === undefined || selectors.length !== 1)) {
      return fail('list needs --user NAME (and optionally --source)');
    }
    if (action === 'revoke' && selectors.length !== 1) {
      return fail('revoke needs exactly one of --user, --session, --all-of-source');
    }
    if (source !== undefined && values.user === undefined) {
      return fail('--source narrows --user; use --all-of-source to end a whole provider');
    }
    if (values.user === '') return fail('--user must not be empty');
    if (values.session !== undefined && !STORAGE_KEY_PATTERN.test(values.session)) {
      return fail('--session must be a session key: the 43 characters of the SESSION column');
    }

    const opened = await openSharedStore(values.config, io, 'sessions');
    if (typeof opened === 'number') return opened;
    const { sessions, config, audit } = opened;
    try {
      const known = new Set(config.providers.map((provider) => provider.name));
      for (const name of [source, allOf]) {
        if (name !== undefined && !known.has(name)) {
          io.stderr(
            `gatehouse sessions: note: ${name} is not a configured provider (its sessions may remain from before it was removed)\n`,
          );
        }
      }
      if (action === 'list') {
        const listed = await listByUser(sessions, values.user ?? '', source);
        io.stdout(
          output === 'json'
            ? `${JSON.stringify({ user: values.user, sessions: listed.map(listingJson) }, null, 2)}\n`
            : listingTable(listed),
        );
        return sessionsExitStatus.ok;
      }
      const common = {
        event: 'revocation',
        source: 'operator',
        actor: actorName(io),
        ...(reason === undefined ? {} : { reason }),
      } as const;
      let ended: string[];
      let event: AuditEvent;
      if (values.session !== undefined) {
        ended = (await sessions.store.delete(values.session)) ? [values.session] : [];
        event = { ...common, provider: null, by: 'session', sessions: ended.length };
      } else if (allOf !== undefined) {
        ended = await sessions.store.deleteByProvider(allOf);
        event = { ...common, provider: allOf, by: 'provider', sessions: ended.length };
      } else {
        const user = values.user ?? '';
        const keys = (await listByUser(sessions, user, source)).map((listing) => listing.key);
        const results = await Promise.all(keys.map((key) => sessions.store.delete(key)));
        ended = keys.filter((_, position) => results[position] === true);
        event = {
          ...common,
          provider: source ?? null,
          by: 'user-name',
          user,
          sessions: ended.length,
        };
      }
      audit({ ...event, sessionIds: ended });
      if (output === 'json') {
        io.stdout(`${JSON.stringify({ ended }, null, 2)}\n`);
      } else {
        io.stdout(
          ended.length === 0
            ? 'No live session matched; nothing was ended.\n'
            : `Ended ${String(ended.length)} session(s) on every replica:\n${ended.map((key) => `  ${key}\n`).join('')}`,
        );
      }
      return ended.length === 0 ? sessionsExitStatus.nothingMatched : sessionsExitStatus.ok;
    } catch (error) {
      return storeFailure(io, 'sessions', error);
    } finally {
      await sessions.close();
    }
  },
};

async function listByUser(
  sessions: Sessions,
  user: string,
  provider: string | undefined,
): Promise<SessionListing[]> {
  const listed = await sessions.store.listByUserName(user);
  return provider === undefined ? listed : listed.filter((each) => each.provider === provider);
}

/** `provider/NAME` → NAME; `null` when malformed (the identity source form of authz/identity.ts). */
function providerOfSource(value: string): string | null {
  const match = /^provider\/([a-z0-9]([a-z0-9-]*[a-z0-9])?)$/.exec(value);
  return match?.[1] ?? null;
}

export function outputOption(value: string | undefined): 'table' | 'json' | undefined {
  return value === 'table' || value === 'json' ? value : undefined;
}

/** The options every shared-store command takes besides its own. */
const storeCommandOptions = {
  config: { type: 'string', short: 'c' },
  output: { type: 'string', short: 'o', default: 'table' },
  help: { type: 'boolean', short: 'h' },
} as const;

type StoreCommandValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{
    args: string[];
    options: O & typeof storeCommandOptions;
    allowPositionals: true;
    strict: true;
  }>
>['values'];

export interface StoreCommandArgs<O extends ParseArgsOptionsConfig, A extends string> {
  readonly values: StoreCommandValues<O>;
  readonly action: A;
  readonly output: 'table' | 'json';
  /** Says what is wrong with the command line, then the usage; returns the usage exit status. */
  readonly fail: (message: string) => number;
}

/**
 * The command line of `gatehouse sessions` and `gatehouse tokens`: one of two actions, the
 * command's own options, and `--config`, `--output` and `--help`. Returns the exit status when
 * the command is done already (help shown, or a usage error said).
 */
export function parseStoreCommandArgs<O extends ParseArgsOptionsConfig, A extends string>(
  command: { readonly name: string; readonly usage: string; readonly actions: readonly [A, A] },
  args: readonly string[],
  io: CliIo,
  options: O,
): StoreCommandArgs<O, A> | number {
  const all: ParseArgsOptionsConfig = { ...options, ...storeCommandOptions };
  const { values, positionals } = parseArgs({
    args: [...args],
    options: all,
    allowPositionals: true,
    strict: true,
  });
  if (values['help'] === true) {
    io.stdout(command.usage);
    return sessionsExitStatus.ok;
  }
  const fail = (message: string): number => {
    io.stderr(`gatehouse ${command.name}: ${message}\n\n${command.usage}`);
    return sessionsExitStatus.usage;
  };
  const [action, ...extra] = positionals;
  const [first, second] = command.actions;
  const isAction = (value: string | undefined): value is A => value === first || value === second;
  if (!isAction(action) || extra.length > 0) {
    return fail(`expected "${first}" or "${second}"`);
  }
  const requested = values['output'];
  const output = outputOption(typeof requested === 'string' ? requested : undefined);
  if (output === undefined) return fail('--output must be table or json');
  // parseArgs checked the values against `all`, which is O with the shared options.
  return { values: values as StoreCommandValues<O>, action, output, fail };
}

/** Who ran the command, for the audit line: the operating-system user. */
export function actorName(io: CliIo): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (an arbitrary uid in a container): the environment's word, or the uid.
    return io.env['USER'] ?? `uid:${String(process.getuid?.() ?? 'unknown')}`;
  }
}

/**
 * Redis failing mid-command (a failover, a timeout): said in one line with exit status 3, so a
 * script can tell it from a bad command line. Nothing else is expected here; it is rethrown.
 */
export function storeFailure(io: CliIo, command: string, error: unknown): number {
  if (!(error instanceof DependencyError)) throw error;
  io.stderr(
    `gatehouse ${command}: ${error.message}; what was done before the failure stays done, run the command again to finish\n`,
  );
  return sessionsExitStatus.storeUnavailable;
}

export interface SharedStore {
  readonly sessions: Sessions;
  readonly config: Config;
  readonly runtime: Runtime;
  /** Writes one audit line on standard error. */
  readonly audit: (event: AuditEvent) => void;
}

/**
 * Loads the configuration as `serve` does and opens its session store, or says why not and
 * returns the exit status: configuration problems (2), a memory store, which lives inside one
 * `serve` process and cannot be reached from here, or an unreachable Redis (3).
 */
export async function openSharedStore(
  configOption: string | undefined,
  io: CliIo,
  command: string,
): Promise<SharedStore | number> {
  const { file, loaded } = loadCommandConfig(configOption, io);
  const where = file ?? 'the built-in defaults';
  if (!loaded.ok) {
    io.stderr(
      `gatehouse ${command}: ${where} has ${String(loaded.problems.length)} problem(s):\n${listProblems(loaded.problems).join('\n')}\n`,
    );
    return sessionsExitStatus.usage;
  }
  const config = loaded.config;
  if (config.sessions.store !== 'redis') {
    io.stderr(
      `gatehouse ${command}: ${where} keeps sessions in memory (sessions.store: memory): they live inside the one serve process and no other process can list or revoke them. ` +
        'Seeing and revoking sessions and tokens needs the shared store: set sessions.store: redis.\n',
    );
    return sessionsExitStatus.storeUnavailable;
  }
  const logger = stderrLogger(io, config.log.level);
  const runtime = createRuntime({ logger, processMetrics: false });
  try {
    const sessions = await openSessions(config, runtime);
    return {
      sessions,
      config,
      runtime,
      audit: (event) => {
        runtime.audit.record(event);
      },
    };
  } catch (error) {
    io.stderr(`gatehouse ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return sessionsExitStatus.storeUnavailable;
  }
}

/** Logs and audit lines on standard error, so standard output holds only the answer. */
function stderrLogger(io: CliIo, level: string): Logger {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      io.stderr(chunk.toString());
      done();
    },
  });
  // Audit lines are written at info: a quieter configured level must not swallow them.
  return createLogger({ level: level === 'silent' ? 'info' : minLevel(level), destination });
}

function minLevel(level: string): string {
  const order = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  const index = order.indexOf(level);
  return index === -1 || index > order.indexOf('info') ? 'info' : level;
}

function listingJson(listing: SessionListing): Record<string, unknown> {
  return {
    key: listing.key,
    provider: listing.provider,
    createdAt: isoOrNull(listing.createdAt),
    lastUsedAt: isoOrNull(listing.lastUsedAt),
    expiresAt: isoOrNull(Math.min(listing.idleExpiresAt, listing.absoluteExpiresAt)),
    idleExpiresAt: isoOrNull(listing.idleExpiresAt),
    absoluteExpiresAt: isoOrNull(listing.absoluteExpiresAt),
    device: listing.userAgent,
  };
}

function listingTable(listings: readonly SessionListing[]): string {
  if (listings.length === 0) return 'No live session.\n';
  return table(
    ['SESSION', 'PROVIDER', 'SIGNED IN', 'LAST USED', 'EXPIRES', 'DEVICE'],
    listings.map((listing) => [
      listing.key,
      listing.provider ?? 'unknown',
      isoOrNull(listing.createdAt) ?? 'unknown',
      isoOrNull(listing.lastUsedAt) ?? 'unknown',
      isoOrNull(Math.min(listing.idleExpiresAt, listing.absoluteExpiresAt)) ?? 'unknown',
      listing.userAgent ?? 'unknown',
    ]),
  );
}

/** Left-aligned columns two spaces apart, as kubectl prints them. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `${cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  return [header, ...rows].map(line).join('');
}

/** UTC to the second (RFC 3339), or null. */
export function isoOrNull(epochMs: number | null): string | null {
  if (epochMs === null || !Number.isFinite(epochMs)) return null;
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
