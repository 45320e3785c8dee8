import { randomUUID } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthRequest } from '../authz/auth-request.ts';
import { DependencyError } from '../errors.ts';
import {
  createRedisClient,
  type RedisClient,
  waitForRedisReady,
} from '../sessions/redis/redis-connection.ts';
import type { AuthnResult } from './authenticator.ts';
import {
  type BasicAuthEvent,
  BasicAuthenticator,
  type BasicAuthenticatorOptions,
} from './basic-auth.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { MemoryLoginThrottle } from './login-throttle-memory.ts';
import { RedisLoginThrottle } from './login-throttle-redis.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';

const ciPassword = 'pa:ss wörd';
const challenge = 'Basic realm="gatehouse", charset="UTF-8"';
let ciHash: string;

beforeAll(async () => {
  ciHash = await bcrypt.hash(ciPassword, 4);
});

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

const request = (authorization?: string, clientIp = '192.0.2.10'): AuthRequest =>
  authRequest({
    host: 'registry.example.com',
    target: '/v2/',
    clientIp,
    acceptsRedirect: false,
    ...(authorization === undefined ? {} : { authorization }),
  });

interface Fixture {
  auth: BasicAuthenticator;
  events: BasicAuthEvent[];
  users: Map<string, string>;
  advance: (ms: number) => void;
}

function fixture(overrides: Partial<BasicAuthenticatorOptions> = {}): Fixture {
  let now = 1_700_000_000_000;
  const events: BasicAuthEvent[] = [];
  const users = new Map([['ci', ciHash]]);
  const auth = new BasicAuthenticator({
    users: () => users,
    throttle: new MemoryLoginThrottle({ now: () => now }),
    onEvent: (event) => events.push(event),
    now: () => now,
    ...overrides,
  });
  return {
    auth,
    events,
    users,
    advance: (ms) => {
      now += ms;
    },
  };
}

const ciIdentity: AuthnResult = {
  kind: 'identified',
  identity: {
    subject: 'ci',
    user: 'ci',
    groups: [],
    claims: {},
    provider: 'basic',
    method: 'basic',
  },
};

describe('BasicAuthenticator', () => {
  it('identifies a user with the right password (UTF-8, colon inside the password)', async () => {
    const { auth, events } = fixture();
    expect(await auth.authenticate(request(basic('ci', ciPassword)))).toEqual(ciIdentity);
    expect(events).toEqual([
      { kind: 'success', user: 'ci', clientIp: '192.0.2.10', cached: false },
    ]);
  });

  it('accepts the scheme in any case', async () => {
    const { auth } = fixture();
    const header = basic('ci', ciPassword).replace('Basic', 'bASIC');
    expect(await auth.authenticate(request(header))).toEqual(ciIdentity);
  });

  it('refuses a wrong password and an unknown user alike, with the Basic challenge', async () => {
    const { auth, events } = fixture();
    const wrong = await auth.authenticate(request(basic('ci', 'guess')));
    const unknown = await auth.authenticate(request(basic('nobody', ciPassword)));
    expect(wrong).toEqual({ kind: 'rejected', code: 'bad-credentials', challenge });
    expect(unknown).toEqual(wrong);
    expect(events).toEqual([
      { kind: 'failure', user: 'ci', clientIp: '192.0.2.10', reason: 'wrong-password' },
      { kind: 'failure', user: 'nobody', clientIp: '192.0.2.10', reason: 'unknown-user' },
    ]);
  });

  it('runs bcrypt for an unknown user too, so timing does not reveal which users exist', async () => {
    const slowHash = await bcrypt.hash(ciPassword, 8);
    const { auth } = fixture({ users: new Map([['ci', slowHash]]) });
    await auth.authenticate(request(basic('warm-up', 'x'), '192.0.2.1')); // builds the dummy hash
    const timed = async (user: string, ip: string): Promise<number> => {
      const started = performance.now();
      await auth.authenticate(request(basic(user, 'wrong'), ip));
      return performance.now() - started;
    };
    const known = await timed('ci', '192.0.2.2');
    const unknown = await timed('nobody', '192.0.2.3');
    // Loose bound on a shared machine: without the dummy compare, unknown would be ~0 ms.
    expect(unknown).toBeGreaterThan(known * 0.3);
  });

  it.each([
    ['no credentials', 'Basic'],
    ['not base64', 'Basic !!!!'],
    ['unpadded base64', 'Basic YWxpY2U6cHc'],
    ['no colon', `Basic ${Buffer.from('alice').toString('base64')}`],
    ['an empty user', `Basic ${Buffer.from(':pw').toString('base64')}`],
    ['invalid UTF-8', `Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString('base64')}`],
    ['a control character', `Basic ${Buffer.from('ci:pw\r\nX: y').toString('base64')}`],
    ['an oversized token', `Basic ${'A'.repeat(8192)}`],
  ])('rejects a Basic header with %s as malformed', async (_, header) => {
    const { auth, events } = fixture();
    expect(await auth.authenticate(request(header))).toEqual({
      kind: 'rejected',
      code: 'malformed',
      challenge,
    });
    expect(events).toEqual([]);
  });

  it('is absent without an Authorization header or with another scheme', async () => {
    const { auth } = fixture();
    expect(await auth.authenticate(request())).toEqual({ kind: 'absent' });
    expect(await auth.authenticate(request('Bearer a.b.c'))).toEqual({ kind: 'absent' });
    expect(await auth.authenticate(request('Basicfoo'))).toEqual({ kind: 'absent' });
  });

  it('bans after 3 failures, refuses the right password while banned, then lets it in', async () => {
    const { auth, events, advance } = fixture();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await auth.authenticate(request(basic('ci', `guess-${attempt}`), `198.51.100.${attempt}`));
    }
    const banned = await auth.authenticate(request(basic('ci', ciPassword), '192.0.2.77'));
    expect(banned).toEqual({ kind: 'rejected', code: 'banned', challenge });
    expect(events.at(-1)).toEqual({
      kind: 'banned',
      user: 'ci',
      clientIp: '192.0.2.77',
      retryAfterSeconds: 300,
    });
    advance(300_000);
    expect(await auth.authenticate(request(basic('ci', ciPassword), '192.0.2.77'))).toEqual(
      ciIdentity,
    );
  });

  it('does not compare passwords while banned, so a banned account cannot be probed', async () => {
    let lookups = 0;
    const users = new Map([['ci', ciHash]]);
    const throttle: LoginThrottle = {
      isBanned: () => Promise.resolve({ banned: true, retryAfterSeconds: 10 }),
      recordFailure: () => Promise.reject(new Error('must not be called')),
      recordSuccess: () => Promise.reject(new Error('must not be called')),
    };
    const auth = new BasicAuthenticator({
      users: () => {
        lookups += 1;
        return users;
      },
      throttle,
    });
    const right = await auth.authenticate(request(basic('ci', ciPassword)));
    const wrong = await auth.authenticate(request(basic('ci', 'guess')));
    expect(right).toEqual({ kind: 'rejected', code: 'banned', challenge });
    expect(wrong).toEqual(right);
    expect(lookups).toBe(0);
  });

  it('does not let a cached verification bypass a ban', async () => {
    const { auth } = fixture();
    expect(await auth.authenticate(request(basic('ci', ciPassword)))).toEqual(ciIdentity);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await auth.authenticate(request(basic('ci', 'guess'), '203.0.113.5'));
    }
    expect((await auth.authenticate(request(basic('ci', ciPassword)))).kind).toBe('rejected');
  });

  it('caches a verification for 60 s, and drops it when the htpasswd entry changes', async () => {
    const { auth, events, users, advance } = fixture();
    await auth.authenticate(request(basic('ci', ciPassword)));
    advance(59_000);
    await auth.authenticate(request(basic('ci', ciPassword)));
    advance(2_000);
    await auth.authenticate(request(basic('ci', ciPassword)));
    expect(events.map((event) => event.kind === 'success' && event.cached)).toEqual([
      false,
      true,
      false,
    ]);

    users.set('ci', await bcrypt.hash('rotated', 4));
    expect((await auth.authenticate(request(basic('ci', ciPassword)))).kind).toBe('rejected');
    expect(await auth.authenticate(request(basic('ci', 'rotated')))).toEqual(ciIdentity);
    users.delete('ci');
    expect((await auth.authenticate(request(basic('ci', 'rotated')))).kind).toBe('rejected');
  });

  it('fails closed when the throttle cannot be reached', async () => {
    const throttle: LoginThrottle = {
      isBanned: () => Promise.reject(new DependencyError('redis', 'down')),
      recordFailure: () => Promise.resolve(),
      recordSuccess: () => Promise.resolve(),
    };
    const auth = new BasicAuthenticator({ users: new Map([['ci', ciHash]]), throttle });
    await expect(auth.authenticate(request(basic('ci', ciPassword)))).rejects.toBeInstanceOf(
      DependencyError,
    );
  });

  it('uses the configured realm and refuses one that would break the challenge', () => {
    const { auth } = fixture({ realm: 'registry' });
    expect(auth.challenge).toBe('Basic realm="registry", charset="UTF-8"');
    expect(() => fixture({ realm: 'a"b' })).toThrow(TypeError);
  });
});

describe('BasicAuthenticator with the Redis throttle', () => {
  const prefix = `gatehouse-test:${randomUUID()}:`;
  let client: RedisClient;

  beforeAll(async () => {
    client = createRedisClient({
      mode: 'standalone',
      url: 'redis://127.0.0.1:6379',
      keyPrefix: prefix,
    });
    await waitForRedisReady(client, 5000);
  });

  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });

  it('bans after 3 failures within the window and lifts the ban after the ban time', async () => {
    const auth = new BasicAuthenticator({
      users: new Map([['ci', ciHash]]),
      throttle: new RedisLoginThrottle({
        client,
        keyPrefix: prefix,
        maxRetries: 3,
        findTimeMs: 2000,
        banTimeMs: 1000,
      }),
    });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const result = await auth.authenticate(request(basic('ci', 'guess'), '192.0.2.200'));
      expect(result).toMatchObject({ code: 'bad-credentials' });
    }
    expect(await auth.authenticate(request(basic('ci', ciPassword), '192.0.2.201'))).toEqual({
      kind: 'rejected',
      code: 'banned',
      challenge,
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await auth.authenticate(request(basic('ci', ciPassword), '192.0.2.201'))).toEqual(
      ciIdentity,
    );
  });
});
