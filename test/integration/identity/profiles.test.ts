/**
 * Each header profile end to end through `/authz/nginx` (docs/architecture.md "Identity"): the
 * exact header names and values an upstream receives, for an ASCII user, for a user whose name
 * is not ASCII (`{base64}` + base64 of the UTF-8 bytes) and who is in a group with a comma, and
 * for an identity without an e-mail address (the header is present and empty).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxCheck } from '../../fixtures/gatehouse/checks.ts';
import type { RawResponse } from '../../fixtures/gatehouse/http-client.ts';
import { startTestGatehouse, type TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer, type TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import {
  alice,
  bearerIssuerYaml,
  customProfileYaml,
  hosts,
  profilePolicies,
  robot,
  zoe,
} from './identity-fixtures.ts';

let idp: TokenIssuer;
let gatehouse: TestGatehouse;

beforeAll(async () => {
  idp = await startTokenIssuer({ audience: 'shop-api' });
  gatehouse = await startTestGatehouse({
    policies: profilePolicies,
    configYaml: bearerIssuerYaml(idp.issuer) + customProfileYaml,
  });
});
afterAll(async () => {
  await gatehouse.close();
  await idp.close();
});

async function headersFor(host: string, claims: Record<string, unknown>): Promise<RawResponse> {
  const token = await idp.sign(claims);
  const response = await nginxCheck(gatehouse, `https://${host}/`, [
    ['Authorization', `Bearer ${token}`],
  ]);
  expect(response.status).toBe(200);
  return response;
}

/** The named headers of a response, as the upstream would read them. */
function pick(response: RawResponse, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((name) => [name, response.headers[name.toLowerCase()]]));
}

const roles = 'authenticated,guest';
const georchestraRoles = 'ROLE_AUTHENTICATED;ROLE_GUEST';

describe('x-auth-request (oauth2-proxy names)', () => {
  const names = [
    'X-Auth-Request-User',
    'X-Auth-Request-Email',
    'X-Auth-Request-Groups',
    'X-Auth-Request-Preferred-Username',
    'X-Auth-Request-Roles',
  ];

  it('sends alice as she is', async () => {
    expect(pick(await headersFor(hosts.xAuthRequest, alice), names)).toEqual({
      'X-Auth-Request-User': 'alice',
      'X-Auth-Request-Email': 'alice@example.com',
      'X-Auth-Request-Groups': 'admins,staff',
      'X-Auth-Request-Preferred-Username': 'alice',
      'X-Auth-Request-Roles': roles,
    });
  });

  it('keeps the comma inside "sales,emea" by encoding that group on its own', async () => {
    expect(pick(await headersFor(hosts.xAuthRequest, zoe), names)).toEqual({
      'X-Auth-Request-User': 'zoe',
      'X-Auth-Request-Email': 'zoe@example.com',
      'X-Auth-Request-Groups': 'staff,{base64}c2FsZXMsZW1lYQ==',
      'X-Auth-Request-Preferred-Username': 'zoe',
      'X-Auth-Request-Roles': roles,
    });
  });

  it('sends an empty e-mail header for an identity without one', async () => {
    const response = await headersFor(hosts.xAuthRequest, robot);
    expect(pick(response, names)).toEqual({
      'X-Auth-Request-User': 'robot',
      'X-Auth-Request-Email': '',
      'X-Auth-Request-Groups': '',
      'X-Auth-Request-Preferred-Username': 'robot',
      'X-Auth-Request-Roles': roles,
    });
  });
});

describe('remote (Authelia names)', () => {
  const names = ['Remote-User', 'Remote-Email', 'Remote-Groups', 'Remote-Name', 'Remote-Roles'];

  it('sends alice as she is', async () => {
    expect(pick(await headersFor(hosts.remote, alice), names)).toEqual({
      'Remote-User': 'alice',
      'Remote-Email': 'alice@example.com',
      'Remote-Groups': 'admins,staff',
      'Remote-Name': 'Alice Admin',
      'Remote-Roles': roles,
    });
  });

  it('sends Zoë Ñandú as {base64} of her UTF-8 name', async () => {
    const response = await headersFor(hosts.remote, zoe);
    expect(pick(response, names)).toEqual({
      'Remote-User': 'zoe',
      'Remote-Email': 'zoe@example.com',
      'Remote-Groups': 'staff,{base64}c2FsZXMsZW1lYQ==',
      'Remote-Name': '{base64}Wm/DqyDDkWFuZMO6',
      'Remote-Roles': roles,
    });
    const name = String(response.headers['remote-name']).slice('{base64}'.length);
    expect(Buffer.from(name, 'base64').toString('utf8')).toBe('Zoë Ñandú');
  });

  it('sends empty headers for what a machine identity lacks', async () => {
    expect(pick(await headersFor(hosts.remote, robot), names)).toEqual({
      'Remote-User': 'robot',
      'Remote-Email': '',
      'Remote-Groups': '',
      'Remote-Name': '',
      'Remote-Roles': roles,
    });
  });
});

describe('sec (geOrchestra names)', () => {
  const names = [
    'sec-username',
    'sec-email',
    'sec-firstname',
    'sec-lastname',
    'sec-proxy',
    'sec-org',
    'sec-orgname',
    'sec-roles',
  ];

  it('sends alice, with an empty organisation', async () => {
    expect(pick(await headersFor(hosts.sec, alice), names)).toEqual({
      'sec-username': 'alice',
      'sec-email': 'alice@example.com',
      'sec-firstname': 'Alice',
      'sec-lastname': 'Admin',
      'sec-proxy': 'true',
      'sec-org': '',
      'sec-orgname': '',
      // geOrchestra's form: ROLE_-prefixed, upper-cased, joined with `;` (header-profiles.ts).
      'sec-roles': georchestraRoles,
    });
  });

  it('sends Zoë and Ñandú in their {base64} form', async () => {
    expect(pick(await headersFor(hosts.sec, zoe), names)).toEqual({
      'sec-username': 'zoe',
      'sec-email': 'zoe@example.com',
      'sec-firstname': '{base64}Wm/Dqw==',
      'sec-lastname': '{base64}w5FhbmTDug==',
      'sec-proxy': 'true',
      'sec-org': '',
      'sec-orgname': '',
      // geOrchestra's form: ROLE_-prefixed, upper-cased, joined with `;` (header-profiles.ts).
      'sec-roles': georchestraRoles,
    });
  });

  it('sends an empty sec-email for an identity without one', async () => {
    const response = await headersFor(hosts.sec, robot);
    expect(response.headers['sec-email']).toBe('');
    expect(response.headers['sec-username']).toBe('robot');
  });
});

describe('custom (configured names and a raw claim)', () => {
  const names = ['X-Webauth-User', 'X-Webauth-Email', 'X-Webauth-Name', 'X-Webauth-Department'];

  it('sends alice, including the department claim', async () => {
    expect(pick(await headersFor(hosts.custom, alice), names)).toEqual({
      'X-Webauth-User': 'alice',
      'X-Webauth-Email': 'alice@example.com',
      'X-Webauth-Name': 'Alice Admin',
      'X-Webauth-Department': 'engineering',
    });
  });

  it('encodes every non-ASCII value, the claim included', async () => {
    expect(pick(await headersFor(hosts.custom, zoe), names)).toEqual({
      'X-Webauth-User': 'zoe',
      'X-Webauth-Email': 'zoe@example.com',
      'X-Webauth-Name': '{base64}Wm/DqyDDkWFuZMO6',
      'X-Webauth-Department': `{base64}${Buffer.from('Ventas Ñ').toString('base64')}`,
    });
  });

  it('sends the headers empty when the identity has no such field or claim', async () => {
    expect(pick(await headersFor(hosts.custom, robot), names)).toEqual({
      'X-Webauth-User': 'robot',
      'X-Webauth-Email': '',
      'X-Webauth-Name': '',
      'X-Webauth-Department': '',
    });
  });

  it('sends no header of another profile', async () => {
    const response = await headersFor(hosts.custom, alice);
    expect(response.headers).not.toHaveProperty('x-auth-request-user');
    expect(response.headers).not.toHaveProperty('remote-user');
  });
});
