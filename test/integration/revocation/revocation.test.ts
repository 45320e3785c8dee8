/**
 * Issue #20, end to end: an operator lists and ends browser sessions (`gatehouse sessions`) and
 * revokes bearer tokens by `jti` (`gatehouse tokens`), and two running replicas refuse what was
 * revoked from their next check, without a restart and whatever they had cached. The command
 * runs in-process (`main` of src/cli/gatehouse.ts) with the same configuration file the
 * replicas were started from, against a real Redis: the shared standalone server at
 * 127.0.0.1:6379 and a private three-primary Cluster (test/fixtures/redis/redis-cluster.ts),
 * where a session, its indexes and the revoked tokens land in different slots and nodes.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/gatehouse.ts';
import type { CliIo } from '../../../src/cli/command.ts';
import {
  createRedisClient,
  waitForRedisReady,
  type RedisConnectionOptions,
} from '../../../src/sessions/redis/redis-connection.ts';
import { RedisSessionStore } from '../../../src/sessions/redis/redis-store.ts';
import { issueTicket, sessionKeyOf } from '../../../src/sessions/ticket.ts';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import { testPolicies, shopHost } from '../../fixtures/gatehouse/policies.ts';
import { startTestGatehouse, type TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer, type TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import { startRedisCluster, type RedisCluster } from '../../fixtures/redis/redis-cluster.ts';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const guarded = `https://${shopHost}/private`;

let workDir: string;
let issuer: TokenIssuer;
let cluster: RedisCluster | undefined;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gatehouse-revocation-'));
  const [tokens, nodes] = await Promise.all([
    startTokenIssuer({ audience: 'shop-api' }),
    startRedisCluster({ primaries: 3, replicas: false }),
  ]);
  issuer = tokens;
  cluster = nodes;
}, 90_000);

afterAll(async () => {
  await Promise.all([issuer.close(), cluster?.close()]);
  await rm(workDir, { recursive: true, force: true });
});

/**
 * How long a replica may take to refuse what was revoked. Delivery is a pub/sub message, well
 * under a second (the store contract asserts that); the margin is for a loaded CI machine.
 */
const AT_ONCE = { timeout: 3000 };

/** Runs the gatehouse command in-process; what it printed, and its exit status. */
async function gatehouse(
  ...argv: string[]
): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    cwd: workDir,
  };
  const status = await main(argv, io);
  return { status, stdout, stderr };
}

/** The audit lines a command wrote on standard error. */
function auditLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line['logger'] === 'gatehouse.audit');
}

interface Topology {
  readonly yaml: () => string;
  readonly connection: () => Omit<RedisConnectionOptions, 'keyPrefix'>;
}

describeTopology('redis standalone', {
  yaml: () => `    url: redis://127.0.0.1:6379`,
  connection: () => ({ mode: 'standalone', url: 'redis://127.0.0.1:6379' }),
});

describeTopology('redis cluster', {
  yaml: () => {
    const seeds = required(cluster).seeds;
    return `    mode: cluster
    clusterNodes:
${seeds.map((seed) => `      - { host: ${seed.host}, port: ${String(seed.port)} }`).join('\n')}`;
  },
  connection: () => ({ mode: 'cluster', clusterNodes: required(cluster).seeds }),
});

function required(value: RedisCluster | undefined): RedisCluster {
  if (value === undefined) throw new Error('the cluster did not start');
  return value;
}

function describeTopology(name: string, topology: Topology): void {
  describe(`operator revocation: ${name}`, () => {
    const keyPrefix = `gatehouse-revocation:${randomUUID()}:`;
    let configFile: string;
    let replicas: TestGatehouse[] = [];
    let minter: RedisSessionStore;

    beforeAll(async () => {
      const configYaml = `
sessions:
  store: redis
  redis:
${topology.yaml()}
    keyPrefix: "${keyPrefix}"
bearer:
  issuers:
    - name: ci
      issuer: ${issuer.issuer}
      audiences: [shop-api]
      algorithms: [RS256]
`;
      configFile = join(workDir, `${randomUUID()}.yaml`);
      await writeFile(configFile, configYaml);
      replicas = await Promise.all(
        [0, 1].map(() => startTestGatehouse({ configYaml, policies: testPolicies })),
      );
      const client = createRedisClient(
        { ...topology.connection(), keyPrefix },
        pino({ level: 'silent' }),
      );
      await waitForRedisReady(client, 10_000);
      minter = new RedisSessionStore({
        client,
        keyPrefix,
        idleTimeoutMs: 8 * 60 * 60 * 1000,
        absoluteLifetimeMs: 7 * 24 * 60 * 60 * 1000,
      });
    }, 60_000);

    afterAll(async () => {
      await Promise.all([...replicas.map((replica) => replica.close()), minter.close()]);
    });

    /** A session as the sign-in would create it, and the cookie its browser sends. */
    async function signIn(user: string, provider: string, userAgent?: string) {
      const ticket = issueTicket();
      await minter.create(
        {
          provider,
          subject: `${provider}-${user}`,
          identity: { user, groups: [], claims: {} },
          tokens: {},
          ...(userAgent === undefined ? {} : { userAgent }),
        },
        ticket,
      );
      return { key: sessionKeyOf(ticket.id), cookie: `_gatehouse=${ticket.text}` };
    }

    function replicaAt(index: number): TestGatehouse {
      const replica = replicas[index];
      if (replica === undefined) throw new Error(`replica ${String(index)} did not start`);
      return replica;
    }

    /** The status every replica answers for this credential. */
    async function statuses(header: readonly [string, string]): Promise<number[]> {
      return Promise.all(
        replicas.map(async (replica) => (await nginxCheck(replica, guarded, [header])).status),
      );
    }

    it("lists a user's sessions and ends them on every replica at once", async () => {
      const user = `alice-${randomUUID().slice(0, 8)}`;
      const laptop = await signIn(user, 'corp', FIREFOX);
      const partner = await signIn(user, 'partner');
      const other = await signIn(`bob-${randomUUID().slice(0, 8)}`, 'partner');
      for (const session of [laptop, partner, other]) {
        // Each replica caches the session now (sessions.cache.ttl): revocation must beat that.
        expect(await statuses(['Cookie', session.cookie])).toEqual([200, 200]);
      }

      const table = await gatehouse('sessions', 'list', '--user', user, '--config', configFile);
      expect(table.status).toBe(0);
      // Only the answer: no warning from connecting and closing the store.
      expect(table.stderr).toBe('');
      const [header, ...rows] = table.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^SESSION\s+PROVIDER\s+SIGNED IN\s+LAST USED\s+EXPIRES\s+DEVICE$/);
      expect(rows).toHaveLength(2);
      expect(rows.find((row) => row.startsWith(laptop.key))).toMatch(/\scorp\s.*Firefox on Linux$/);
      expect(rows.find((row) => row.startsWith(partner.key))).toMatch(/\spartner\s.*unknown$/);

      const json = await gatehouse(
        'sessions',
        'list',
        '--user',
        user,
        '--source',
        'provider/partner',
        '--output',
        'json',
        '--config',
        configFile,
      );
      expect(JSON.parse(json.stdout)).toMatchObject({
        user,
        sessions: [{ key: partner.key, provider: 'partner', device: null }],
      });

      const one = await gatehouse(
        'sessions',
        'revoke',
        '--session',
        laptop.key,
        '--reason',
        'INC-2041',
        '--config',
        configFile,
      );
      expect(one.status).toBe(0);
      expect(one.stdout).toContain(laptop.key);
      expect(auditLines(one.stderr)).toEqual([
        expect.objectContaining({
          event: 'revocation',
          source: 'operator',
          by: 'session',
          sessions: 1,
          sessionIds: [laptop.key],
          reason: 'INC-2041',
          actor: expect.any(String),
        }),
      ]);
      await expect.poll(() => statuses(['Cookie', laptop.cookie]), AT_ONCE).toEqual([401, 401]);
      expect(await statuses(['Cookie', partner.cookie])).toEqual([200, 200]);

      const byName = await gatehouse('sessions', 'revoke', '--user', user, '--config', configFile);
      expect(byName.status).toBe(0);
      expect(auditLines(byName.stderr)[0]).toMatchObject({ by: 'user-name', user, sessions: 1 });
      await expect.poll(() => statuses(['Cookie', partner.cookie]), AT_ONCE).toEqual([401, 401]);
      expect(await statuses(['Cookie', other.cookie])).toEqual([200, 200]);

      const again = await gatehouse('sessions', 'revoke', '--user', user, '--config', configFile);
      expect(again.status).toBe(1);
      expect(again.stdout).toContain('nothing was ended');
    });

    it('ends every session of one provider', async () => {
      const partnerUsers = await Promise.all(
        ['p1', 'p2'].map((user) => signIn(`${user}-${randomUUID().slice(0, 8)}`, 'partner2')),
      );
      const corpUser = await signIn(`c-${randomUUID().slice(0, 8)}`, 'corp');
      const ended = await gatehouse(
        'sessions',
        'revoke',
        '--all-of-source',
        'provider/partner2',
        '--output',
        'json',
        '--config',
        configFile,
      );
      expect(ended.status).toBe(0);
      expect((JSON.parse(ended.stdout) as { ended: string[] }).ended.sort()).toEqual(
        partnerUsers.map((session) => session.key).sort(),
      );
      expect(ended.stderr).toContain('partner2 is not a configured provider');
      for (const session of partnerUsers) {
        await expect.poll(() => statuses(['Cookie', session.cookie]), AT_ONCE).toEqual([401, 401]);
      }
      expect(await statuses(['Cookie', corpUser.cookie])).toEqual([200, 200]);
    });

    it('revokes a bearer token by jti on every replica, cached or not', async () => {
      const revokedJti = randomUUID();
      const revoked = await issuer.sign({ jti: revokedJti });
      const kept = await issuer.sign({ jti: randomUUID() });
      const exp = String(Math.floor(Date.now() / 1000) + 600);
      // Both replicas verify and cache both tokens first.
      expect(await statuses(['Authorization', `Bearer ${revoked}`])).toEqual([200, 200]);
      expect(await statuses(['Authorization', `Bearer ${kept}`])).toEqual([200, 200]);

      const result = await gatehouse(
        'tokens',
        'revoke',
        '--jti',
        revokedJti,
        '--issuer',
        'ci',
        '--until',
        exp,
        '--config',
        configFile,
      );
      expect(result.status).toBe(0);
      expect(auditLines(result.stderr)).toEqual([
        expect.objectContaining({ event: 'token-revocation', issuer: 'ci', jti: revokedJti }),
      ]);
      await expect
        .poll(() => statuses(['Authorization', `Bearer ${revoked}`]), AT_ONCE)
        .toEqual([401, 401]);
      const refused = await nginxCheck(replicaAt(1), guarded, [
        ['Authorization', `Bearer ${revoked}`],
      ]);
      expect(refused.headers['www-authenticate']).toBe(
        'Bearer error="invalid_token", error_description="The access token has been revoked"',
      );
      expect(await statuses(['Authorization', `Bearer ${kept}`])).toEqual([200, 200]);

      // A replica started after the revocation loads it.
      const late = await startTestGatehouse({
        configYaml: await readFile(configFile, 'utf8'),
        policies: testPolicies,
      });
      try {
        await expect
          .poll(
            async () =>
              (await nginxCheck(late, guarded, [['Authorization', `Bearer ${revoked}`]])).status,
            {
              timeout: 2000,
            },
          )
          .toBe(401);
        const metrics = await (await fetch(late.opsUrl('/metrics'))).text();
        expect(metrics).toMatch(/^gatehouse_revoked_tokens [1-9]/m);
      } finally {
        await late.close();
      }
      const metrics = await (await fetch(replicaAt(0).opsUrl('/metrics'))).text();
      expect(metrics).toMatch(/^gatehouse_revocations_received_total\{kind="token"\} [1-9]/m);

      const listed = await gatehouse('tokens', 'list', '--output', 'json', '--config', configFile);
      expect(JSON.parse(listed.stdout)).toMatchObject({
        tokens: expect.arrayContaining([
          {
            issuer: 'ci',
            jti: revokedJti,
            until: new Date(Number(exp) * 1000).toISOString().replace('.000Z', 'Z'),
          },
        ]),
      });
    });

    it('refuses an unknown issuer and a past expiry, writing nothing', async () => {
      const unknown = await gatehouse(
        'tokens',
        'revoke',
        '--jti',
        'x',
        '--issuer',
        'nope',
        '--config',
        configFile,
      );
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain(
        '--issuer nope is not a configured bearer issuer; configured: ci',
      );
      const past = await gatehouse(
        'tokens',
        'revoke',
        '--jti',
        'x',
        '--issuer',
        'ci',
        '--until',
        '2020-01-01T00:00:00Z',
        '--config',
        configFile,
      );
      expect(past.status).toBe(2);
      expect(past.stderr).toContain('is past');
      expect(auditLines(unknown.stderr + past.stderr)).toEqual([]);
    });
  });
}

describe('operator revocation without the shared store', () => {
  it('says that sessions and tokens in memory cannot be reached from the command', async () => {
    const file = join(workDir, 'memory.yaml');
    await writeFile(file, 'sessions:\n  store: memory\n');
    for (const argv of [
      ['sessions', 'list', '--user', 'alice'],
      ['tokens', 'revoke', '--jti', 'x', '--issuer', 'ci'],
    ]) {
      const result = await gatehouse(...argv, '--config', file);
      expect(result.status).toBe(3);
      expect(result.stderr).toContain('needs the shared store: set sessions.store: redis');
      expect(result.stdout).toBe('');
    }
  });

  it('explains a bad command line with status 2', async () => {
    for (const [argv, message] of [
      [['sessions', 'list'], 'list needs --user NAME'],
      [['sessions', 'revoke', '--user', 'a', '--session', 'b'], 'exactly one of'],
      [['sessions', 'revoke', '--session', 'not-a-key'], '--session must be a session key'],
      [['sessions', 'revoke', '--all-of-source', 'partner'], 'must be provider/NAME'],
      [['sessions', 'list', '--user', 'a', '--output', 'yaml'], '--output must be table or json'],
      [['tokens', 'revoke', '--jti', 'x'], 'revoke needs --jti ID and --issuer NAME'],
    ] as const) {
      const result = await gatehouse(...argv);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });
});
