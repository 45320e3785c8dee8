/**
 * Sessions for fault tests, minted straight into the store (as a sign-in would, without the
 * provider round trips): a fresh ticket, `store.create`, and the cookie a browser would send.
 * The store must use the same Redis and key prefix as the gatehouse under test.
 */
import { pino } from 'pino';
import {
  createRedisClient,
  waitForRedisReady,
  type RedisConnectionOptions,
} from '../../../src/sessions/redis/redis-connection.ts';
import { RedisSessionStore } from '../../../src/sessions/redis/redis-store.ts';
import type { SessionStore } from '../../../src/sessions/session-store.ts';
import { issueTicket, sessionKeyOf, type IssuedTicket } from '../../../src/sessions/ticket.ts';

export interface MintedSession {
  readonly user: string;
  readonly ticket: IssuedTicket;
  /** The storage key (`sessionKeyOf(ticket.id)`); the Redis key is `<prefix>s:<key>`. */
  readonly key: string;
  /** `Cookie` header value: `_gatehouse=v1.<id>.<secret>`. */
  readonly cookie: string;
}

/** The gatehouse defaults, so the minted sessions live as long as real ones. */
const timing = { idleTimeoutMs: 8 * 60 * 60 * 1000, absoluteLifetimeMs: 7 * 24 * 60 * 60 * 1000 };

/** A store over its own ioredis client, ready for commands. */
export async function openSessionStore(
  connection: Omit<RedisConnectionOptions, 'keyPrefix'> & { readonly keyPrefix: string },
): Promise<RedisSessionStore> {
  const client = createRedisClient(connection, pino({ level: 'silent' }));
  try {
    await waitForRedisReady(client, 10_000);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return new RedisSessionStore({ client, keyPrefix: connection.keyPrefix, ...timing });
}

export async function mintSessions(
  store: SessionStore,
  count: number,
  cookieName = '_gatehouse',
): Promise<MintedSession[]> {
  const minted: MintedSession[] = [];
  for (let index = 0; index < count; index += 1) {
    const user = `fault-user-${String(index)}`;
    const ticket = issueTicket();
    await store.create(
      {
        provider: 'dev',
        subject: user,
        identity: { user, email: `${user}@shop.test`, groups: [], claims: {} },
        tokens: {},
      },
      ticket,
    );
    minted.push({
      user,
      ticket,
      key: sessionKeyOf(ticket.id),
      cookie: `${cookieName}=${ticket.text}`,
    });
  }
  return minted;
}
