/**
 * `make run` (dev/run-local.ts) on ports other than the defaults, as a developer runs a second
 * copy beside the first: moving the main listener and the development identity provider with
 * GATEHOUSE_* variables alone must still let a user sign in. Before the addresses followed the
 * ports, publicUrl kept sending browsers back to :8080 and the identity provider refused the
 * redirect URI it had not registered.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { followPorts, withoutPortOverrides } from '../../dev/local-ports.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { findFreePort } from '../fixtures/gatehouse/free-port.ts';
import { send } from '../fixtures/gatehouse/http-client.ts';
import { browserlessLogin } from '../fixtures/oidc/browserless-login.ts';
import { CookieJar } from '../fixtures/oidc/cookie-jar.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const exampleConfig = 'examples/gatehouse.yaml';
/** The last line dev/run-local.ts prints once both servers listen. */
const readyLine = 'Press Ctrl+C to stop.';

let child: ChildProcess | undefined;
afterAll(() => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
  }
});

function waitForOutput(process: ChildProcess, line: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      reject(new Error(`make run did not print "${line}" in ${String(timeoutMs)} ms:\n${output}`));
    }, timeoutMs);
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(line)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    process.stdout?.on('data', collect);
    process.stderr?.on('data', collect);
    process.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`make run exited (${String(code)}) before it was ready:\n${output}`));
    });
  });
}

function exited(process: ChildProcess): Promise<number | null> {
  if (process.exitCode !== null) return Promise.resolve(process.exitCode);
  return new Promise((resolve) => {
    process.once('exit', (code) => {
      resolve(code);
    });
  });
}

/** `name=value` of every Set-Cookie, as a browser sends them back in one Cookie header. */
function cookiesFrom(headers: IncomingHttpHeaders): string {
  return (headers['set-cookie'] ?? []).map((cookie) => cookie.split(';')[0] ?? '').join('; ');
}

function configWith(env: Record<string, string>): Config {
  const loaded = loadConfig({ file: exampleConfig, env, cwd: repositoryRoot });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}

describe('make run on other ports', () => {
  it('signs alice in through the moved listener and identity provider, and stops on Ctrl+C', async () => {
    const [mainPort, operationsPort, idpPort] = await Promise.all(
      Array.from({ length: 3 }, () => findFreePort()),
    );
    const main = String(mainPort);
    const signInHost = `auth.localhost:${main}`;
    const callbackUrl = `http://${signInHost}/oauth2/callback`;
    child = spawn(process.execPath, ['dev/run-local.ts', '--config', exampleConfig], {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        // Exactly what a developer sets: the ports, not the addresses built from them.
        GATEHOUSE_LISTENERS__MAIN__PORT: main,
        GATEHOUSE_LISTENERS__OPERATIONS__PORT: String(operationsPort),
        GATEHOUSE_DEV_IDENTITY_PROVIDER__PORT: String(idpPort),
        GATEHOUSE_SERVER__SHUTDOWN_DELAY: '0',
        GATEHOUSE_LOG__LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = await waitForOutput(child, readyLine, 30_000);
    expect(output).toContain(`sign-in          http://${signInHost}/oauth2/start`);
    expect(output).toContain(`publicUrl follows the main listener to port ${main}`);
    expect(output).toContain(
      `follows the development identity provider to http://127.0.0.1:${String(idpPort)}`,
    );

    const gatehouse = `http://127.0.0.1:${main}`;
    const browser = [
      ['Host', signInHost],
      ['Accept', 'text/html'],
    ] as const;
    // The provider is discovered in the background right after start: /oauth2/start answers 503
    // until then.
    let start = await send(gatehouse, {
      path: '/oauth2/start?rd=http://app.localhost/',
      headers: browser,
    });
    for (let attempt = 0; attempt < 50 && start.status !== 302; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      start = await send(gatehouse, {
        path: '/oauth2/start?rd=http://app.localhost/',
        headers: browser,
      });
    }
    expect(start.status).toBe(302);
    const authorization = new URL(start.headers.location ?? '');
    expect(authorization.origin).toBe(`http://127.0.0.1:${String(idpPort)}`);
    expect(authorization.searchParams.get('redirect_uri')).toBe(callbackUrl);

    // The identity provider redirects back only to a registered redirect URI: this throws
    // (invalid_redirect_uri page) if the moved callback was not registered.
    const callback = await browserlessLogin({
      authorizationUrl: authorization,
      username: 'alice',
      password: 'alice',
      jar: new CookieJar(),
      redirectUri: callbackUrl,
    });
    expect(callback.searchParams.get('error')).toBeNull();

    const done = await send(gatehouse, {
      path: `/oauth2/callback${callback.search}`,
      headers: [...browser, ['Cookie', cookiesFrom(start.headers)]],
    });
    expect(done.status).toBe(302);
    expect(done.headers.location).toBe('http://app.localhost/');
    const session = cookiesFrom(done.headers);
    expect(session).toMatch(/_gatehouse=/);

    // The session works where it matters: ingress-nginx's check for the app lets alice in.
    const check = await send(gatehouse, {
      path: '/authz/nginx?host=app.localhost',
      headers: [
        ['X-Original-Method', 'GET'],
        ['X-Original-URL', 'http://app.localhost/admin'],
        ['Cookie', session],
      ],
    });
    expect(check.status).toBe(200);
    expect(check.headers['x-auth-request-email']).toBe('alice@example.com');

    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
  }, 60_000);

  it('keeps an address the developer set, and one that is not on this machine', () => {
    const moved = {
      GATEHOUSE_LISTENERS__MAIN__PORT: '8081',
      GATEHOUSE_DEV_IDENTITY_PROVIDER__PORT: '9401',
    };
    const explicit = {
      ...moved,
      GATEHOUSE_PUBLIC_URL: 'http://app.localhost:8088',
      GATEHOUSE_PROVIDERS__0__ISSUER: 'http://127.0.0.1:9999',
    };
    expect(
      followPorts(
        configWith(withoutPortOverrides(explicit) as Record<string, string>),
        configWith(explicit),
        explicit,
      ),
    ).toEqual({
      env: {},
      notes: [],
    });

    const remote = { ...moved };
    const filed = {
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.com',
      GATEHOUSE_PROVIDERS__0__ISSUER: 'https://login.example.com',
    };
    // The file's own publicUrl and issuer name other machines: nothing to follow.
    expect(followPorts(configWith(filed), configWith({ ...filed, ...remote }), remote)).toEqual({
      env: {},
      notes: [],
    });

    // Unmoved ports: nothing changes.
    expect(followPorts(configWith({}), configWith({}), {})).toEqual({ env: {}, notes: [] });
    // Moved: both addresses follow.
    expect(followPorts(configWith({}), configWith(moved), moved).env).toEqual({
      GATEHOUSE_PUBLIC_URL: 'http://auth.localhost:8081',
      GATEHOUSE_PROVIDERS__0__ISSUER: 'http://127.0.0.1:9401',
    });
  });
});
