/**
 * Trusted pre-authentication through `/authz/nginx`: a site behind another SSO front names the
 * user in headers. They are believed only when the client address that the (trusted) ingress
 * forwards is one of the fronts AND the shared secret matches. From any other client they are a
 * forgery: refused with 403 `forged-identity-header` and counted. From a front with a wrong secret
 * or without it, they are ignored (the request is anonymous) and counted.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck, type Headers } from '../../fixtures/gatehouse/checks.ts';
import { metricValue, scrape } from '../../fixtures/gatehouse/metrics-text.ts';
import { startTestGatehouse, type TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { hosts, profilePolicies } from './identity-fixtures.ts';

const secret = 'preauth-secret-0123456789';
const front = '10.1.2.3';
const elsewhere = '192.0.2.9';

let gatehouse: TestGatehouse;

beforeAll(async () => {
  gatehouse = await startTestGatehouse({
    policies: profilePolicies,
    trustedProxies: ['127.0.0.1/32'],
    configYaml: `
preAuthentication:
  enabled: true
  trustedProxies: [10.1.2.0/24]
  sharedSecret: ${secret}
  remoteUserHeader: x-preauth-user
`,
  });
});
afterAll(async () => {
  await gatehouse.close();
});

const zoeFromGeorchestra: Headers = [
  ['sec-georchestra-preauthenticated', 'true'],
  ['preauth-username', 'zmartin'],
  ['preauth-email', 'zoe.martin@example.org'],
  ['preauth-firstname', '{base64}Wm/Dqw=='],
  ['preauth-lastname', '{base64}w5FhbmTDug=='],
  ['preauth-org', 'PSC'],
  ['preauth-groups', 'staff,{base64}c2FsZXMsZW1lYQ=='],
];

function check(host: string, clientIp: string, headers: Headers) {
  return nginxCheck(gatehouse, `https://${host}/maps`, [['X-Real-IP', clientIp], ...headers]);
}

async function forgedCount(instance: TestGatehouse): Promise<number> {
  return metricValue(
    await scrape(instance.opsUrl('/metrics')),
    'gatehouse_forged_identity_headers_total',
    { dialect: 'nginx' },
  );
}

async function ignoredCount(reason: string): Promise<number> {
  return metricValue(
    await scrape(gatehouse.opsUrl('/metrics')),
    'gatehouse_preauth_ignored_total',
    {
      reason,
    },
  );
}

describe('from a trusted front with the secret', () => {
  it('accepts the geOrchestra headers, decoding {base64}, and sends them on as the sec profile', async () => {
    const response = await check(hosts.sec, front, [
      ...zoeFromGeorchestra,
      ['X-Gatehouse-Preauth-Secret', secret],
    ]);
    expect(response.status).toBe(200);
    expect(response.headers['sec-username']).toBe('zmartin');
    expect(response.headers['sec-email']).toBe('zoe.martin@example.org');
    expect(response.headers['sec-firstname']).toBe('{base64}Wm/Dqw==');
    expect(response.headers['sec-lastname']).toBe('{base64}w5FhbmTDug==');
    expect(response.headers['sec-org']).toBe('PSC');
  });

  it('sends the sec profile as geOrchestra consumers read it: sec-proxy, ROLE_ roles joined with ;', async () => {
    const response = await check(hosts.sec, front, [
      ...zoeFromGeorchestra,
      ['X-Gatehouse-Preauth-Secret', secret],
    ]);
    expect(response.status).toBe(200);
    expect(response.headers['sec-proxy']).toBe('true');
    expect(response.headers['sec-roles']).toBe('ROLE_AUTHENTICATED;ROLE_GUEST');
    expect(response.headers['sec-orgname']).toBe('');
  });

  it('keeps the groups, the comma inside one of them included', async () => {
    const response = await check(hosts.xAuthRequest, front, [
      ...zoeFromGeorchestra,
      ['X-Gatehouse-Preauth-Secret', secret],
    ]);
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-request-groups']).toBe('staff,{base64}c2FsZXMsZW1lYQ==');
  });

  it('accepts the plain remote-user header', async () => {
    const response = await check(hosts.remote, front, [
      ['X-Preauth-User', 'kerberos-user'],
      ['X-Gatehouse-Preauth-Secret', secret],
    ]);
    expect(response.status).toBe(200);
    expect(response.headers['remote-user']).toBe('kerberos-user');
    expect(response.headers['remote-email']).toBe('');
  });
});

describe('refused and counted as forged', () => {
  it('from an untrusted client address, even with the secret: 403 forged-identity-header', async () => {
    const before = await forgedCount(gatehouse);
    const response = await check(hosts.sec, elsewhere, [
      ...zoeFromGeorchestra,
      ['X-Gatehouse-Preauth-Secret', secret],
    ]);
    expect(response.status).toBe(403);
    expect(response.body).toBe('forged-identity-header\n');
    expect(response.headers).not.toHaveProperty('sec-username');
    expect(await forgedCount(gatehouse)).toBe(before + 1);
  });

  it('does not believe X-Real-IP from an address that is not a trusted ingress', async () => {
    const untrustedIngress = await startTestGatehouse({
      policies: profilePolicies,
      configYaml: `
trustedProxies: [192.0.2.0/24]
preAuthentication:
  enabled: true
  trustedProxies: [10.1.2.0/24]
  sharedSecret: ${secret}
`,
    });
    try {
      const before = await forgedCount(untrustedIngress);
      // The peer (127.0.0.1) is no trusted ingress, so the client is the peer, not the front.
      const response = await nginxCheck(untrustedIngress, `https://${hosts.sec}/`, [
        ['X-Real-IP', front],
        ...zoeFromGeorchestra,
        ['X-Gatehouse-Preauth-Secret', secret],
      ]);
      expect(response.status).toBe(403);
      expect(response.body).toBe('forged-identity-header\n');
      expect(response.headers).not.toHaveProperty('sec-username');
      expect(await forgedCount(untrustedIngress)).toBe(before + 1);
    } finally {
      await untrustedIngress.close();
    }
  });
});

describe('from a trusted front: ignored and counted', () => {
  it.each([
    ['with a wrong secret', front, 'preauth-secret-0123456780', 'bad-secret'],
    ['without the secret', front, undefined, 'missing-secret'],
  ] as const)('%s: the request stays anonymous (401)', async (_case, clientIp, sent, reason) => {
    const before = await ignoredCount(reason);
    const headers: Headers = [
      ...zoeFromGeorchestra,
      ...(sent === undefined ? [] : ([['X-Gatehouse-Preauth-Secret', sent]] as const)),
    ];
    const response = await check(hosts.sec, clientIp, headers);
    expect(response.status).toBe(401);
    expect(response.headers).not.toHaveProperty('sec-username');
    expect(await ignoredCount(reason)).toBe(before + 1);
  });
});

describe('configuration', () => {
  it('refuses pre-authentication without fronts, secret or trusted ingress', () => {
    const loaded = loadConfig({ env: { GATEHOUSE_PRE_AUTHENTICATION__ENABLED: 'true' } });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const paths = loaded.problems.map((problem) => problem.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'preAuthentication.trustedProxies',
        'preAuthentication.sharedSecret',
        'trustedProxies',
      ]),
    );
  });

  it('refuses a remote-user header that gatehouse itself sends upstream', () => {
    const loaded = loadConfig({
      env: {
        GATEHOUSE_TRUSTED_PROXIES: '["127.0.0.1/32"]',
        GATEHOUSE_PRE_AUTHENTICATION__ENABLED: 'true',
        GATEHOUSE_PRE_AUTHENTICATION__TRUSTED_PROXIES: '["10.0.0.0/8"]',
        GATEHOUSE_PRE_AUTHENTICATION__SHARED_SECRET: secret,
        GATEHOUSE_PRE_AUTHENTICATION__REMOTE_USER_HEADER: 'Remote-User',
      },
    });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.problems.map((problem) => problem.path)).toEqual([
      'preAuthentication.remoteUserHeader',
    ]);
  });
});

describe('geOrchestra pre-authentication, complete: preauth-provider and preauth-provider-id', () => {
  let instance: TestGatehouse;
  let keyDir: string;

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'gatehouse-preauth-'));
    const keyFile = join(keyDir, 'key.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    instance = await startTestGatehouse({
      policies: profilePolicies,
      trustedProxies: ['127.0.0.1/32'],
      configYaml: `
preAuthentication:
  enabled: true
  trustedProxies: [10.1.2.0/24]
  sharedSecret: ${secret}
identityHeaders:
  custom:
    X-Org: organisation
    X-Preauth-Provider: claim:preauth-provider
    X-Preauth-Provider-Id: claim:preauth-provider-id
  assertion:
    enabled: true
    signingKeyFile: ${keyFile}
`,
    });
  });
  afterAll(async () => {
    await instance.close();
    await rm(keyDir, { recursive: true, force: true });
  });

  it('carries them into the identity (claims for custom headers) and into the signed assertion', async () => {
    const response = await nginxCheck(instance, `https://${hosts.custom}/maps`, [
      ['X-Real-IP', front],
      ...zoeFromGeorchestra,
      ['preauth-provider', 'proconnect'],
      ['preauth-provider-id', 'pc-4711'],
      ['X-Gatehouse-Preauth-Secret', secret],
    ]);
    expect(response.status).toBe(200);
    expect(response.headers['x-org']).toBe('PSC');
    expect(response.headers['x-preauth-provider']).toBe('proconnect');
    expect(response.headers['x-preauth-provider-id']).toBe('pc-4711');
    const claims = decodeJwt(String(response.headers['x-gatehouse-assertion']));
    expect(claims).toMatchObject({
      preferred_username: 'zmartin',
      gatehouse_source: 'preauth',
      org: 'PSC',
      gatehouse_preauth_provider: 'proconnect',
      gatehouse_preauth_provider_id: 'pc-4711',
    });
  });
});
