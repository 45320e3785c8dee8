// `make demo`: the whole picture on one machine. The development identity provider, gatehouse on
// its embedded defaults (examples/gatehouse.yaml), a demo app, and, when nginx is installed, nginx
// in front of the app the way ingress-nginx renders the auth annotations, at
// http://app.localhost:8088 (browsers resolve *.localhost to loopback, RFC 6761 §6.3).
//
//   make demo [DEMO_PORT=8088] [CONFIG=examples/gatehouse.yaml]
//   node dev/demo/run-demo.ts [--port 8088] [--config FILE]
//
// gatehouse's sign-in routes are served on the app host too (same-host topology,
// proxy-protocols.md §6), so the demo's public URL is the app's URL and its cookie is host-only.
// Every GATEHOUSE_* variable still overrides the configuration (ports, log level...).
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/load.ts';
import { formatProblems } from '../../src/config/problems.ts';
import { createLogger } from '../../src/logger.ts';
import { startGatehouse } from '../../src/main.ts';
import type { Gatehouse } from '../../src/main.ts';
import { DEMO_USERS } from '../demo-users.ts';
import { devClientFor } from '../gatehouse-dev-client.ts';
import { startDevIdentityProvider } from '../identity-provider.ts';
import type { DevIdentityProvider } from '../identity-provider.ts';
import { appOrigin, findNginx, startAppIngress } from './app-ingress.ts';
import type { RunningAppIngress } from './app-ingress.ts';
import { demoIdentityHeaders, startDemoApp } from './demo-app.ts';
import type { DemoApp } from './demo-app.ts';

const appHost = 'app.localhost';
/** Printed once everything listens; test/e2e/browser/demo.test.ts waits for it. */
const readyLine = 'gatehouse demo is ready';

const { values } = parseArgs({
  options: { config: { type: 'string' }, port: { type: 'string' } },
});
const file = values.config ?? process.env['GATEHOUSE_CONFIG'] ?? 'examples/gatehouse.yaml';
const port = Number(values.port ?? process.env['DEMO_PORT'] ?? '8088');
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`--port must be a TCP port (1-65535), not ${String(values.port)}\n`);
  process.exit(2);
}

const nginx = findNginx();
const origin = appOrigin({ host: appHost, port });
const loaded = loadConfig({
  file,
  env: {
    // A demo stops at once on Ctrl+C; the default delay is for Kubernetes endpoint removal.
    GATEHOUSE_SERVER__SHUTDOWN_DELAY: '0',
    ...process.env,
    // Sign-in, callback and sign-out live on the app's own host behind nginx.
    ...('path' in nginx ? { GATEHOUSE_PUBLIC_URL: origin } : {}),
  },
});
if (!loaded.ok) {
  process.stderr.write(`${file} has problems:\n${formatProblems(loaded.problems)}\n`);
  process.exit(2);
}
const config = loaded.config;
const logger = createLogger({ level: config.log.level });

const stops: (() => Promise<void>)[] = [];
async function stopAll(): Promise<void> {
  for (const stop of stops.reverse()) {
    await stop().catch((error: unknown) => {
      logger.warn({ err: String(error) }, 'demo: a component did not stop cleanly');
    });
  }
}

let idp: DevIdentityProvider | null = null;
let gatehouse: Gatehouse;
let app: DemoApp | null = null;
let ingress: RunningAppIngress | null = null;
try {
  if (config.devIdentityProvider.enabled) {
    const started = await startDevIdentityProvider({
      port: config.devIdentityProvider.port,
      clients: [devClientFor(config)],
      logger: logger.child({ component: 'dev-identity-provider' }),
    });
    idp = started;
    stops.push(() => started.close());
  }
  const startedGatehouse = await startGatehouse(config, { logger });
  gatehouse = startedGatehouse;
  stops.push(() => startedGatehouse.shutdown('demo stopped'));
  if ('path' in nginx) {
    const startedApp = await startDemoApp({ routesPrefix: config.routes.prefix });
    app = startedApp;
    stops.push(() => startedApp.close());
    const startedIngress = await startAppIngress({
      host: appHost,
      port,
      gatehouseUrl: gatehouse.mainUrl,
      upstreamUrl: startedApp.url,
      routesPrefix: config.routes.prefix,
      responseHeaders: demoIdentityHeaders,
    });
    ingress = startedIngress;
    stops.push(() => startedIngress.stop());
  }
} catch (error) {
  process.stderr.write(
    `The demo did not start: ${error instanceof Error ? error.message : String(error)}\n` +
      `(Is another \`make run\` or \`make demo\` holding a port? DEMO_PORT=${String(port + 1)} make demo picks another for nginx.)\n`,
  );
  await stopAll();
  process.exit(1);
}

const main = new URL(gatehouse.mainUrl);
const ops = new URL(gatehouse.operationsUrl);
const users = DEMO_USERS.map((user) => `${user.username}/${user.password}`).join(', ');
const idpLine = idp === null ? '' : `  identity provider  ${idp.issuer}   users: ${users}\n`;
const authz = `http://127.0.0.1:${main.port}/authz/nginx`;
/** The check URL as ingress-nginx sends it for the demo host (`auth-url: …?host=$host`). */
const authzForApp = `${authz}?host=${appHost}`;

const withNginx = (running: RunningAppIngress, demoApp: DemoApp) => `
The gatehouse demo: nginx (ingress-nginx style) -> gatehouse -> demo app.

  open               ${running.origin}/
  demo app           ${demoApp.url}  (behind nginx; nginx adds the identity headers)
  gatehouse          http://127.0.0.1:${main.port}  (auth-url: /authz/nginx?host=$host; sign-in: ${running.origin}${config.routes.prefix}/start)
  operations         http://127.0.0.1:${ops.port}/readyz  /metrics
${idpLine}  policies           ${config.policy.files.directory}/ (edit a file: gatehouse reloads it)

Click through it (password = user name):
  ${running.origin}/public/   anyone, signed in or not
  ${running.origin}/          sign in first; any user gets in
  ${running.origin}/admin     alice only (group admins -> app-admin); bob, carol, zoe get gatehouse's 403 page
  ${running.origin}/metrics   nobody, not even alice (an action: Deny rule)
  Sign out from the app page. zoe's group "sales,emea" holds a comma: see how its header sends it.
`;

const withoutNginx = (missing: string) => `
gatehouse is running on its embedded defaults, without nginx:
  ${missing.split('\n')[0] ?? missing}
For the full picture (nginx in front of a demo app at ${origin}), install nginx with
\`make prerequisites\` (as root; it installs nginx and libnginx-mod-http-set-misc) and run \`make demo\` again.

  auth endpoint      ${authz}  (…/forward-auth, …/ext-authz/*)
  sign-in            ${config.publicUrl}${config.routes.prefix}/start
  operations         http://127.0.0.1:${ops.port}/readyz  /metrics
${idpLine}
Ask it what ingress-nginx would ask (the routed host in ?host=, the method in X-Original-Method):
  curl -i -H 'X-Original-Method: GET' -H 'X-Original-URL: http://${appHost}/public/' '${authzForApp}'   # 200
  curl -i -H 'X-Original-Method: GET' -H 'X-Original-URL: http://${appHost}/'        '${authzForApp}'   # 401 + Location: sign-in
  curl -i -H 'X-Original-Method: GET' -H 'X-Original-URL: http://${appHost}/metrics' '${authzForApp}'   # 403
`;

process.stdout.write(
  ingress !== null && app !== null
    ? withNginx(ingress, app)
    : withoutNginx('missing' in nginx ? nginx.missing : ''),
);
process.stdout.write(
  `\n${readyLine}: open ${ingress === null ? authz : `${ingress.origin}/`}  (Ctrl+C stops everything)\n`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().then(() => process.exit(0));
  });
}
