/**
 * `make demo` as a newcomer runs it: the script starts, says it is ready, serves the demo app
 * through nginx with gatehouse deciding, and Ctrl+C (SIGINT) leaves nothing listening. Ports come
 * from the environment so the test never collides with a developer's own `make run`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { findFreePort } from '../../fixtures/gatehouse/free-port.ts';
import { renderDemoPage } from '../../../dev/demo/demo-app.ts';
import { sendThrough } from '../harness/client.ts';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** What dev/demo/run-demo.ts prints once everything listens. */
const readyLine = 'gatehouse demo is ready';

let child: ChildProcess | undefined;
afterAll(() => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
  }
});

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** Resolves with everything printed so far once `line` appears; rejects if the demo exits first. */
function waitForOutput(process: ChildProcess, line: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      reject(new Error(`the demo did not print "${line}" in ${String(timeoutMs)} ms:\n${output}`));
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
      reject(new Error(`the demo exited (${String(code)}) before it was ready:\n${output}`));
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

it('starts the whole picture behind nginx, answers through it, and stops everything on Ctrl+C', async () => {
  const [nginxPort, mainPort, operationsPort, idpPort] = await Promise.all(
    Array.from({ length: 4 }, () => findFreePort()),
  );
  const ports = [nginxPort!, mainPort!, operationsPort!, idpPort!];
  child = spawn(process.execPath, ['dev/demo/run-demo.ts', '--port', String(nginxPort)], {
    cwd: repositoryRoot,
    env: {
      ...process.env,
      GATEHOUSE_LISTENERS__MAIN__PORT: String(mainPort),
      GATEHOUSE_LISTENERS__OPERATIONS__PORT: String(operationsPort),
      GATEHOUSE_DEV_IDENTITY_PROVIDER__PORT: String(idpPort),
      GATEHOUSE_PROVIDERS__0__ISSUER: `http://127.0.0.1:${String(idpPort)}`,
      GATEHOUSE_LOG__LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = await waitForOutput(child, readyLine, 30_000);
  const origin = `http://app.localhost:${String(nginxPort)}`;
  expect(output).toContain(`${readyLine}: open ${origin}/`);
  // What the README tells a newcomer to click, with who sees what.
  expect(output).toContain(`${origin}/admin`);
  expect(output).toContain('alice/alice, bob/bob, carol/carol, zoe/zoe');

  const nginx = `http://127.0.0.1:${String(nginxPort)}`;
  const open = await sendThrough(nginx, 'app.localhost', '/public/');
  expect(open.status).toBe(200);
  expect(open.body).toContain('You are not signed in');
  const signedInOnly = await sendThrough(nginx, 'app.localhost', '/', {
    headers: [['Accept', 'text/html']],
  });
  expect(signedInOnly.status).toBe(302);
  expect(signedInOnly.headers.location).toBe(
    `${origin}/oauth2/start?rd=http://app.localhost:${String(nginxPort)}%2F`,
  );

  // Closed to everyone: gatehouse's own 403 page, through nginx, even for an anonymous visitor.
  const closed = await sendThrough(nginx, 'app.localhost', '/metrics', {
    headers: [['Accept', 'text/html']],
  });
  expect(closed.status).toBe(403);
  expect(closed.body).toContain('<code id="reason">deny-rule</code>');

  child.kill('SIGINT');
  expect(await exited(child)).toBe(0);
  const stillListening = [];
  for (const port of ports) if (await isListening(port)) stillListening.push(port);
  expect(stillListening).toEqual([]);
}, 45_000);

it('shows the identity headers it received on the demo app page, escaped', () => {
  const page = renderDemoPage({
    path: '/admin',
    routesPrefix: '/oauth2',
    headers: {
      host: 'app.localhost:8088',
      'x-auth-request-user': '<script>alert(1)</script>',
      'x-auth-request-roles': 'authenticated,guest',
    },
  });
  expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(page).not.toContain('<script>');
  expect(page).toContain('<code>authenticated,guest</code>');
  // Sign-out comes back to the public page of the host the browser used.
  expect(page).toContain('/oauth2/sign_out?rd=http%3A%2F%2Fapp.localhost%3A8088%2Fpublic%2F');
});
