/**
 * Every header gatehouse sets on the upstream request, and every header an upstream trusts as if
 * gatehouse had set it, is refused when the client sends its own copy, in any spelling (docs/architecture.md
 * security invariant 2). Beyond the profile headers (test/integration/authz/identity-headers.test.ts):
 * - the token pass-through headers of the serving policy snapshot (`spec.upstreamTokens`):
 *   `X_Id_Token` reaches CGI/WSGI upstreams as `HTTP_X_ID_TOKEN` (PEP 3333) next to the real one;
 * - geOrchestra's header families: its applications trust any `sec-*` (`sec-proxy: true`,
 *   `sec-orgname`, `sec-userid`) and `imp-*` header, not only the ones gatehouse sends;
 * - the pre-authentication headers (`preauth-*`, the flag, the shared secret), which only a
 *   configured SSO front may send and which Envoy is told to remove.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  extAuthzCheck,
  forwardAuthCheck,
  nginxCheck,
  type Headers,
} from '../../fixtures/gatehouse/checks.ts';
import type { RawResponse } from '../../fixtures/gatehouse/http-client.ts';
import { startTestGatehouse, type TestGatehouse } from '../../fixtures/gatehouse/start.ts';

const tokensHost = 'tokens.forgery.test';
const secHost = 'sec.forgery.test';
const plainHost = 'plain.forgery.test';

const policy = (name: string, host: string, extra: string): string => `
apiVersion: gatehouse.dev/v1alpha1
kind: ClusterAccessPolicy
metadata: { name: ${name} }
spec:
  hosts: [${host}]
${extra}  rules:
    - name: public
      match: [{ path: { type: PathPrefix, value: /public } }]
      roles: [guest]
    - name: app
      match: [{ path: { type: PathPrefix, value: / } }]
      roles: [authenticated]
`;

const tokensPolicy = policy(
  'tokens',
  tokensHost,
  `  upstreamTokens:
    accessToken: { header: Authorization }
    idToken: { header: X-Id-Token }
`,
);
const secPolicy = policy('sec', secHost, '  identityHeaders: sec\n');
const plainPolicy = policy('plain', plainHost, '');

const secret = 'preauth-secret-0123456789';
const front = '10.1.2.3';
const elsewhere = '192.0.2.9';

let tokens: TestGatehouse;
let preauth: TestGatehouse;
let withoutSec: TestGatehouse;

beforeAll(async () => {
  [tokens, preauth, withoutSec] = await Promise.all([
    startTestGatehouse({
      policies: [tokensPolicy, secPolicy].join('\n---\n'),
      trustedProxies: ['127.0.0.1/32'],
    }),
    startTestGatehouse({
      policies: [secPolicy, plainPolicy].join('\n---\n'),
      trustedProxies: ['127.0.0.1/32'],
      configYaml: `
preAuthentication:
  enabled: true
  trustedProxies: [10.1.2.0/24]
  sharedSecret: ${secret}
  remoteUserHeader: x-preauth-user
  groupsHeader: preauth-groups
`,
    }),
    startTestGatehouse({ policies: plainPolicy, trustedProxies: ['127.0.0.1/32'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([tokens.close(), preauth.close(), withoutSec.close()]);
});

function expectForged(response: RawResponse): void {
  expect(response.status).toBe(403);
  expect(response.body).toContain('forged-identity-header');
}

describe('token pass-through headers of the policy snapshot', () => {
  it.each(['X_Id_Token', 'x-id-token', 'X-ID-TOKEN', 'x.id.token'])(
    'refuses a client copy of the ID-token header spelled %s',
    async (name) => {
      expectForged(await nginxCheck(tokens, `https://${tokensHost}/public/`, [[name, 'forged']]));
    },
  );

  it('refuses it on every host, not only the one whose policy sends it', async () => {
    expectForged(await nginxCheck(tokens, `https://${secHost}/public/`, [['X_Id_Token', 'f']]));
  });

  it("keeps a client's own Authorization header: it is the client's credential", async () => {
    const response = await nginxCheck(tokens, `https://${tokensHost}/public/`, [
      ['Authorization', 'Basic Zm9vOmJhcg=='],
    ]);
    expect(response.status).toBe(200);
  });

  it('lists the token headers in every spelling in Envoy x-envoy-auth-headers-to-remove', async () => {
    const response = await extAuthzCheck(tokens, secHost, '/public/');
    expect(response.status).toBe(200);
    const remove = String(response.headers['x-envoy-auth-headers-to-remove']).split(',');
    expect(remove).toEqual(expect.arrayContaining(['x-id-token', 'x_id_token']));
    // Removing the client's Authorization would strip its credential from every upstream.
    expect(remove).not.toContain('authorization');
  });

  it('follows the snapshot: a header added by a policy reload is refused from then on', async () => {
    const before = await nginxCheck(tokens, `https://${tokensHost}/public/`, [
      ['X_Refresh_Id', 'forged'],
    ]);
    expect(before.status).toBe(200);
    await writeFile(
      join(tokens.policyDir, 'policies.yaml'),
      [tokensPolicy.replace('X-Id-Token', 'X-Refresh-Id'), secPolicy].join('\n---\n'),
    );
    await expect
      .poll(
        async () =>
          (await nginxCheck(tokens, `https://${tokensHost}/public/`, [['X_Refresh_Id', 'forged']]))
            .status,
        { timeout: 10_000, interval: 100 },
      )
      .toBe(403);
  });
});

describe('geOrchestra header families (the sec profile is in use)', () => {
  it.each([
    ['sec-proxy', 'true'],
    ['sec-orgname', 'Evil Corp'],
    ['sec-userid', 'admin'],
    ['SEC_PROXY', 'true'],
    ['imp-username', 'admin'],
    ['imp-roles', 'ROLE_SUPERUSER'],
    ['imp_username', 'admin'],
  ])('refuses a client copy of %s', async (name, value) => {
    expectForged(await nginxCheck(tokens, `https://${secHost}/public/`, [[name, value]]));
    expectForged(
      await forwardAuthCheck(tokens, { host: secHost, uri: '/public/' }, [[name, value]]),
    );
    expectForged(await extAuthzCheck(tokens, secHost, '/public/', [[name, value]]));
  });

  it("lets a browser's own Sec- headers through (Fetch Metadata, client hints, WebSocket)", async () => {
    const browser: Headers = [
      ['Sec-Fetch-Site', 'same-origin'],
      ['Sec-Fetch-Mode', 'navigate'],
      ['Sec-Fetch-Dest', 'document'],
      ['Sec-Fetch-User', '?1'],
      ['Sec-CH-UA', '"Chromium";v="130"'],
      ['Sec-CH-UA-Mobile', '?0'],
      ['Sec-CH-UA-Platform', '"Linux"'],
      ['Sec-GPC', '1'],
      ['Sec-Purpose', 'prefetch'],
      ['Sec-WebSocket-Version', '13'],
    ];
    expect((await nginxCheck(tokens, `https://${secHost}/public/`, browser)).status).toBe(200);
  });

  it('refuses imp-* even where no policy uses the sec profile', async () => {
    expectForged(
      await nginxCheck(withoutSec, `https://${plainHost}/public/`, [['imp-username', 'x']]),
    );
  });

  it('leaves other sec-* names alone where the sec profile is not in use', async () => {
    // `sec-userid` is of the family but not one of the profile's own headers (`sec-proxy` is:
    // the profile sends it on every allow, so a client copy is refused on every host).
    const response = await nginxCheck(withoutSec, `https://${plainHost}/public/`, [
      ['sec-userid', 'u-1'],
    ]);
    expect(response.status).toBe(200);
    const proxy = await nginxCheck(withoutSec, `https://${plainHost}/public/`, [
      ['sec-proxy', 'true'],
    ]);
    expect(proxy.status).toBe(403);
  });
});

describe('pre-authentication headers', () => {
  const zoe: Headers = [
    ['sec-georchestra-preauthenticated', 'true'],
    ['preauth-username', 'zmartin'],
    ['preauth-email', 'zoe.martin@example.org'],
    ['preauth-org', 'PSC'],
    ['preauth-groups', 'staff'],
  ];
  // The trusted ingress reports the client: nginx in X-Real-IP, Envoy in X-Forwarded-For.
  const from = (clientIp: string, headers: Headers): Headers => [
    ['X-Real-IP', clientIp],
    ['X-Forwarded-For', clientIp],
    ...headers,
  ];

  it('still accepts them from a configured front with the secret', async () => {
    const response = await nginxCheck(
      preauth,
      `https://${secHost}/maps`,
      from(front, [...zoe, ['X-Gatehouse-Preauth-Secret', secret]]),
    );
    expect(response.status).toBe(200);
    expect(response.headers['sec-username']).toBe('zmartin');
  });

  it.each([
    ['preauth-username', 'admin'],
    ['preauth-anything', 'x'],
    ['sec-georchestra-preauthenticated', 'true'],
    ['X-Preauth-User', 'admin'],
    ['X-Gatehouse-Preauth-Secret', secret],
  ])('refuses %s from a client that is not a configured front', async (name, value) => {
    expectForged(
      await nginxCheck(preauth, `https://${plainHost}/public/`, from(elsewhere, [[name, value]])),
    );
  });

  it('refuses the whole geOrchestra set from a client that is not a front (was: anonymous)', async () => {
    expectForged(
      await nginxCheck(
        preauth,
        `https://${secHost}/maps`,
        from(elsewhere, [...zoe, ['X-Gatehouse-Preauth-Secret', secret]]),
      ),
    );
  });

  it('refuses an underscore spelling even from a front: the front passed the client copy on', async () => {
    expectForged(
      await nginxCheck(
        preauth,
        `https://${secHost}/maps`,
        from(front, [...zoe, ['X-Gatehouse-Preauth-Secret', secret], ['preauth_username', 'x']]),
      ),
    );
  });

  it('tells Envoy to remove them, and the secret, from the upstream request', async () => {
    const response = await extAuthzCheck(
      preauth,
      secHost,
      '/maps',
      from(front, [...zoe, ['X-Gatehouse-Preauth-Secret', secret]]),
    );
    expect(response.status).toBe(200);
    const remove = String(response.headers['x-envoy-auth-headers-to-remove']).split(',');
    expect(remove).toEqual(
      expect.arrayContaining([
        'x-gatehouse-preauth-secret',
        'x_gatehouse_preauth_secret',
        'sec-georchestra-preauthenticated',
        'preauth-username',
        'preauth-email',
        'preauth-firstname',
        'preauth-lastname',
        'preauth-org',
        'preauth-groups',
        'preauth_groups',
        'x-preauth-user',
      ]),
    );
  });
});
