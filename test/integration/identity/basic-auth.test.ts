/**
 * HTTP Basic authentication for machine clients through `/authz/nginx` (RFC 7617): an htpasswd
 * file of bcrypt entries, roles from RoleMappings, the challenge on a 401 of a policy that opts
 * in, brute-force regulation (a ban after N failures that lifts after the ban time), and the
 * refusal to start with a non-bcrypt entry.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import { metricValue, scrape } from '../../fixtures/gatehouse/metrics-text.ts';
import { startTestGatehouse, type TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { hosts, profilePolicies } from './identity-fixtures.ts';

const apiHost = 'api.identity.test';
const policies = `${profilePolicies}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: api }
spec:
  hosts: [${apiHost}]
  authentication: { basic: true }
  rules:
    - name: api
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [api-client]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterRoleMapping
metadata: { name: api-clients }
spec:
  roles: [api-client]
  # Bound to the htpasswd users: an OpenID user or a token named ci-bot gets nothing here.
  subjects: [{ kind: User, name: ci-bot, sources: [basic] }]
`;

const password = 'ci-bot-password-1';
let dir: string;
let htpasswd: string;
let gatehouse: TestGatehouse;
let offset = 0;
const now = (): number => Date.now() + offset;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-basic-'));
  htpasswd = join(dir, 'htpasswd');
  await writeFile(
    htpasswd,
    `# machine clients\nci-bot:${await bcrypt.hash(password, 4)}\nbackup:${await bcrypt.hash('backup-password', 4)}\n`,
  );
  gatehouse = await startTestGatehouse({
    policies,
    trustedProxies: ['127.0.0.1/32'],
    now,
    logLevel: 'info',
    configYaml: `
basicAuth:
  enabled: true
  htpasswdFile: ${htpasswd}
  realm: gatehouse-test
  throttle: { maxRetries: 3, findTime: 1m, banTime: 2m }
`,
  });
});
afterAll(async () => {
  await gatehouse.close();
  await rm(dir, { recursive: true, force: true });
});

function basic(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`, 'utf8').toString('base64')}`;
}

function check(clientIp: string, authorization?: string, host = apiHost) {
  return nginxCheck(gatehouse, `https://${host}/v1/builds`, [
    ['X-Real-IP', clientIp],
    ['Accept', 'application/json'],
    ...(authorization === undefined ? [] : ([['Authorization', authorization]] as const)),
  ]);
}

const challenge = 'Basic realm="gatehouse-test", charset="UTF-8"';

describe('credentials', () => {
  it('lets ci-bot in with the right password, with its roles from the RoleMapping', async () => {
    const response = await check('198.51.100.1', basic('ci-bot', password));
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-request-user']).toBe('ci-bot');
    expect(String(response.headers['x-auth-request-roles']).split(',')).toContain('api-client');
  });

  it('refuses a wrong password with 401 and the Basic challenge', async () => {
    const response = await check('198.51.100.2', basic('ci-bot', 'guess'));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(challenge);
  });

  it('refuses an unknown user the same way', async () => {
    const response = await check('198.51.100.3', basic('nobody', password));
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(challenge);
  });

  it('lets a user without the role authenticate but not in (403)', async () => {
    const response = await check('198.51.100.4', basic('backup', 'backup-password'));
    expect(response.status).toBe(403);
  });

  it('logs failures without the password', async () => {
    await check('198.51.100.5', basic('ci-bot', 'hunter2-secret'));
    const lines = gatehouse.logs.matching({ msg: 'basic auth: refused', client: '198.51.100.5' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ user: 'ci-bot', reason: 'wrong-password' });
    expect(gatehouse.logs.text()).not.toContain('hunter2-secret');
  });
});

describe('the challenge', () => {
  it('is sent on a 401 without credentials where the policy allows basic auth', async () => {
    const response = await check('198.51.100.10');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(challenge);
  });

  it('is not sent where the policy does not mention basic auth', async () => {
    const response = await check('198.51.100.11', undefined, hosts.xAuthRequest);
    expect(response.status).toBe(401);
    expect(response.headers).not.toHaveProperty('www-authenticate');
  });
});

describe('brute-force regulation', () => {
  it('bans after 3 failures, refusing even the right password, and lifts the ban after banTime', async () => {
    const attacker = '203.0.113.50';
    const metrics = async (): Promise<string> => scrape(gatehouse.opsUrl('/metrics'));
    const bansBefore = metricValue(await metrics(), 'gatehouse_basic_auth_bans_total', {
      scope: 'user',
    });
    for (const guess of ['a', 'b', 'c']) {
      expect((await check(attacker, basic('backup', guess))).status).toBe(401);
    }
    const banned = await check('203.0.113.51', basic('backup', 'backup-password'));
    expect(banned.status).toBe(401);
    expect(banned.headers['www-authenticate']).toBe(challenge);
    const text = await metrics();
    expect(metricValue(text, 'gatehouse_basic_auth_bans_total', { scope: 'user' })).toBe(
      bansBefore + 1,
    );
    expect(metricValue(text, 'gatehouse_basic_auth_total', { result: 'banned' })).toBeGreaterThan(
      0,
    );
    expect(
      gatehouse.logs.matching({ msg: 'basic auth: user banned after 3 failures', user: 'backup' }),
    ).toHaveLength(1);

    offset += 2 * 60_000 + 1000;
    const lifted = await check('203.0.113.52', basic('backup', 'backup-password'));
    expect(lifted.status).toBe(403); // authenticated again; backup simply lacks the role
  });
});

describe('regulation shared through Redis', () => {
  it('keeps the failure counts and the ban in Redis, so every replica sees them', async () => {
    const prefix = `gatehouse-it-basic-${process.pid}-${Date.now()}:`;
    const admin = new Redis('redis://127.0.0.1:6379');
    const replicas: TestGatehouse[] = [];
    try {
      for (let index = 0; index < 2; index += 1) {
        replicas.push(
          await startTestGatehouse({
            policies,
            trustedProxies: ['127.0.0.1/32'],
            configYaml: `
sessions: { store: redis, redis: { url: 'redis://127.0.0.1:6379', keyPrefix: '${prefix}' } }
basicAuth:
  enabled: true
  htpasswdFile: ${htpasswd}
  throttle: { maxRetries: 2, findTime: 1m, banTime: 1m }
`,
          }),
        );
      }
      const [first, second] = replicas as [TestGatehouse, TestGatehouse];
      const attempt = (replica: TestGatehouse, secret: string) =>
        nginxCheck(replica, `https://${apiHost}/`, [
          ['X-Real-IP', '203.0.113.80'],
          ['Authorization', basic('ci-bot', secret)],
        ]);
      expect((await attempt(first, 'wrong-1')).status).toBe(401);
      expect((await attempt(second, 'wrong-2')).status).toBe(401);
      // Two failures on two replicas reach maxRetries: the right password is refused on both.
      expect((await attempt(first, password)).status).toBe(401);
      expect((await attempt(second, password)).status).toBe(401);
      expect(await admin.keys(`${prefix}throttle:ban:*`)).toHaveLength(2);
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      admin.disconnect();
    }
  });
});

describe('start-up', () => {
  it('refuses to start with a non-bcrypt entry, naming the file and the line', async () => {
    const bad = join(dir, 'htpasswd-apr1');
    await writeFile(
      bad,
      `ci-bot:${await bcrypt.hash(password, 4)}\nlegacy:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n`,
    );
    await expect(
      startTestGatehouse({
        policies,
        configYaml: `basicAuth: { enabled: true, htpasswdFile: ${bad} }\n`,
      }),
    ).rejects.toThrow(`${bad}:2: user "legacy" has an Apache MD5 ($apr1$) hash`);
  });
});
