/**
 * `providers[].tokenEndpointAuthMethod` (issue #21 item 8: the method existed in the code but no
 * setting reached it). Some providers accept the client secret only in the token request's body
 * (`client_secret_post`), others only in the Authorization header (`client_secret_basic`,
 * RFC 6749 §2.3.1), so the setting decides whether people can sign in there at all. Through the
 * configuration loader, the real sign-in flow and a real OpenID Provider (oidc-provider,
 * dev/identity-provider.ts), watching the token request on the wire; oidc-provider itself takes
 * either method for a secret client, so the wire is what tells them apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import { loadConfig } from '../../../src/config/load.ts';
import type { ProviderOptions } from '../../../src/oidc/provider-options.ts';
import { CookieJar } from '../../fixtures/oidc/cookie-jar.ts';
import {
  APP_URL,
  devClient,
  memoryStore,
  reserveServer,
  signIn,
  startGatehouse,
  startProvider,
  type Gatehouse,
  type ReservedServer,
} from '../sign-in/harness.ts';

/** The provider entry as `gatehouse serve` would read it from this YAML. */
function configuredProvider(issuer: string, method: string | undefined): ProviderOptions {
  const yaml = [
    'providers:',
    '  - name: dev',
    `    issuer: ${issuer}`,
    '    clientId: gatehouse',
    '    clientSecret: gatehouse-secret',
    ...(method === undefined ? [] : [`    tokenEndpointAuthMethod: ${method}`]),
  ].join('\n');
  const loaded = loadConfig({ file: 'gatehouse.yaml', env: {}, readFile: () => yaml, cwd: '/' });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const [provider] = loaded.config.providers;
  if (provider === undefined) throw new Error('no provider loaded');
  return provider;
}

describe('providers[].tokenEndpointAuthMethod', () => {
  let idp: DevIdentityProvider;
  let post: ReservedServer;
  let basic: ReservedServer;
  const started: Gatehouse[] = [];

  beforeAll(async () => {
    post = await reserveServer();
    basic = await reserveServer();
    idp = await startProvider([
      devClient([post, basic], { tokenEndpointAuthMethod: 'client_secret_post' }),
    ]);
  });

  afterAll(async () => {
    for (const gatehouse of started) await gatehouse.close();
    await idp.close();
  });

  /** Signs alice in; returns where she lands and how the token request authenticated. */
  async function signInWith(server: ReservedServer, method: string | undefined) {
    const tokenRequests: { authorization: string | null; body: URLSearchParams }[] = [];
    const watching: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.endsWith('/token')) {
        tokenRequests.push({
          authorization: new Headers(init?.headers).get('authorization'),
          // openid-client sends the token request's form as URLSearchParams.
          body: new URLSearchParams(init?.body instanceof URLSearchParams ? init.body : undefined),
        });
      }
      return fetch(input, init);
    };
    const gatehouse = await startGatehouse({
      reserved: server,
      providers: [configuredProvider(idp.issuer, method)],
      store: memoryStore(),
      fetch: watching,
    });
    started.push(gatehouse);
    const { location } = await signIn(gatehouse, new CookieJar(), 'alice', { rd: APP_URL });
    return { location, tokenRequests };
  }

  it('sends the secret in the body, never in a header, when the setting says client_secret_post', async () => {
    const { location, tokenRequests } = await signInWith(post, 'client_secret_post');
    expect(location).toBe(APP_URL);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]?.authorization).toBeNull();
    expect(tokenRequests[0]?.body.get('client_secret')).toBe('gatehouse-secret');
  });

  it('uses HTTP Basic by default, never the body', async () => {
    const { location, tokenRequests } = await signInWith(basic, undefined);
    expect(location).toBe(APP_URL);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]?.authorization).toMatch(/^Basic /);
    expect(tokenRequests[0]?.body.has('client_secret')).toBe(false);
  });

  it('refuses an unknown method at start, naming the setting', () => {
    expect(() => configuredProvider('https://idp.example', 'private_key_jwt')).toThrow(
      /tokenEndpointAuthMethod/,
    );
  });
});
