/**
 * Scenario (h): oauth2-proxy (built by scripts/bench/ensure-tools.sh) as the reference point,
 * with its Redis session store, answering `/oauth2/auth` (its ingress-nginx `auth-url`
 * endpoint: 202 when signed in) for a real signed-in session.
 *
 * The session is made by signing in once through oauth2-proxy against the project's development
 * OpenID Provider (dev/identity-provider.ts) with the scripted browser-less login
 * (test/fixtures/oidc/browserless-login.ts): oauth2-proxy then stores the session in Redis and
 * sets its ticket cookie itself, so nothing about its session format is guessed.
 *
 * Same core budget as gatehouse: one process pinned to the server core with GOMAXPROCS=1 (Go
 * would otherwise size its scheduler to every core of the machine).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startDevIdentityProvider } from '../dev/identity-provider.ts';
import type { DevIdentityProvider } from '../dev/identity-provider.ts';
import { findFreePort } from '../test/fixtures/gatehouse/free-port.ts';
import { browserlessLogin } from '../test/fixtures/oidc/browserless-login.ts';
import { CookieJar } from '../test/fixtures/oidc/cookie-jar.ts';
import { startPinnedProcess } from './server-process.ts';
import type { PinnedProcess } from './server-process.ts';

export interface OAuth2ProxyOptions {
  readonly binary: string;
  readonly cpu: string | undefined;
  readonly redisUrl: string;
  readonly scratchDirectory: string;
}

export interface RunningOAuth2Proxy {
  readonly process: PinnedProcess;
  /** `Cookie` header value of the signed-in session. */
  readonly cookie: string;
  /** oauth2-proxy keeps sessions under `<cookie name>-…`; this run's cookie name is unique. */
  readonly redisKeyPrefix: string;
  stop(): Promise<void>;
}

/** oauth2-proxy's ingress-nginx endpoint and its answer for a signed-in session. */
export const oauth2ProxyAuthPath = '/oauth2/auth';
export const oauth2ProxyAllowedStatus = 202;

/** The command line: OIDC against the dev provider, Redis sessions, plain-http cookies, quiet. */
export function oauth2ProxyArgs(options: {
  readonly port: number;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly cookieName: string;
  readonly cookieSecret: string;
  readonly redisUrl: string;
}): string[] {
  const base = `http://127.0.0.1:${String(options.port)}`;
  return [
    `--http-address=127.0.0.1:${String(options.port)}`,
    '--provider=oidc',
    `--oidc-issuer-url=${options.issuer}`,
    `--client-id=${options.clientId}`,
    `--client-secret=${options.clientSecret}`,
    `--redirect-url=${base}/oauth2/callback`,
    '--code-challenge-method=S256',
    '--skip-provider-button=true',
    '--email-domain=*',
    '--upstream=static://200',
    `--cookie-name=${options.cookieName}`,
    `--cookie-secret=${options.cookieSecret}`,
    '--cookie-secure=false',
    '--session-store-type=redis',
    `--redis-connection-url=${options.redisUrl}`,
    // gatehouse logs nothing for an allowed check at its default level; oauth2-proxy's request
    // log would write a line per check, which is not what is being compared.
    '--request-logging=false',
  ];
}

export async function startOAuth2Proxy(options: OAuth2ProxyOptions): Promise<RunningOAuth2Proxy> {
  const port = await findFreePort();
  const clientId = 'oauth2-proxy-bench';
  const clientSecret = randomBytes(24).toString('base64url');
  const cookieName = `_oauth2_proxy_bench_${randomBytes(4).toString('hex')}`;
  const callback = `http://127.0.0.1:${String(port)}/oauth2/callback`;
  let provider: DevIdentityProvider | undefined;
  let proxy: PinnedProcess | undefined;
  try {
    provider = await startDevIdentityProvider({
      clients: [{ clientId, clientSecret, redirectUris: [callback] }],
    });
    proxy = await startPinnedProcess({
      name: 'oauth2-proxy',
      command: options.binary,
      args: oauth2ProxyArgs({
        port,
        issuer: provider.issuer,
        clientId,
        clientSecret,
        cookieName,
        // 32 bytes for AES-256 (oauth2-proxy takes a 16/24/32-byte secret as is).
        cookieSecret: randomBytes(16).toString('hex'),
        redisUrl: options.redisUrl,
      }),
      env: { ...process.env, GOMAXPROCS: '1' },
      cpu: options.cpu,
      logPath: join(options.scratchDirectory, 'oauth2-proxy.log'),
      ready: { kind: 'port', port },
    });
    const cookie = await signIn(proxy.url, callback, cookieName);
    const running = proxy;
    const idp = provider;
    return {
      process: proxy,
      cookie,
      redisKeyPrefix: cookieName,
      stop: async () => {
        await running.stop();
        await idp.close();
      },
    };
  } catch (error) {
    await proxy?.stop();
    await provider?.close();
    throw error;
  }
}

/** Signs in as the demo user alice, the way a browser would; returns the session cookie. */
async function signIn(proxyUrl: string, callback: string, cookieName: string): Promise<string> {
  const jar = new CookieJar();
  const start = await jar.fetch(`${proxyUrl}/oauth2/start?rd=%2F`);
  const authorization = start.headers.get('location');
  await start.body?.cancel();
  if (start.status !== 302 || authorization === null) {
    throw new Error(
      `oauth2-proxy /oauth2/start answered ${String(start.status)}, expected a redirect to the provider`,
    );
  }
  const back = await browserlessLogin({
    authorizationUrl: authorization,
    username: 'alice',
    password: 'alice',
    jar,
    redirectUri: callback,
  });
  const finished = await jar.fetch(back);
  const body = await finished.text();
  const value = jar.get(proxyUrl, cookieName);
  if (value === undefined) {
    throw new Error(
      `oauth2-proxy set no ${cookieName} cookie after the callback (${String(finished.status)}): ${body.slice(0, 300)}`,
    );
  }
  return `${cookieName}=${value}`;
}
