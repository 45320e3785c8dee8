// The README's run command: gatehouse on its embedded defaults (examples/gatehouse.yaml:
// in-memory sessions, the example policies, plain http on *.localhost) together with the
// development identity provider, in one process, so a newcomer needs nothing else.
//
//   make run        (or: node dev/run-local.ts [--config FILE])
//
// Every GATEHOUSE_* variable overrides the configuration. Moving a port moves the addresses built
// from it (dev/local-ports.ts), so a second run beside the first signs in too:
//   GATEHOUSE_LISTENERS__MAIN__PORT=8081 GATEHOUSE_LISTENERS__OPERATIONS__PORT=9091 \
//   GATEHOUSE_DEV_IDENTITY_PROVIDER__PORT=9401 make run
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.ts';
import { formatProblems } from '../src/config/problems.ts';
import { createLogger } from '../src/logger.ts';
import { startGatehouse } from '../src/main.ts';
import { DEMO_USERS } from './demo-users.ts';
import { devClientFor } from './gatehouse-dev-client.ts';
import { startDevIdentityProvider } from './identity-provider.ts';
import { followPorts, withoutPortOverrides } from './local-ports.ts';

const { values } = parseArgs({ options: { config: { type: 'string' } } });
const file = values.config ?? process.env['GATEHOUSE_CONFIG'] ?? 'examples/gatehouse.yaml';
function load(env: Readonly<Record<string, string | undefined>>) {
  const loaded = loadConfig({ file, env });
  if (!loaded.ok) {
    process.stderr.write(`${file} has problems:\n${formatProblems(loaded.problems)}\n`);
    process.exit(2);
  }
  return loaded.config;
}
const asRun = load(process.env);
const followed = followPorts(load(withoutPortOverrides(process.env)), asRun, process.env);
const config =
  Object.keys(followed.env).length === 0 ? asRun : load({ ...process.env, ...followed.env });
const logger = createLogger({ level: config.log.level });

const idp = config.devIdentityProvider.enabled
  ? await startDevIdentityProvider({
      port: config.devIdentityProvider.port,
      clients: [devClientFor(config)],
      logger: logger.child({ component: 'dev-identity-provider' }),
    })
  : null;
const gatehouse = await startGatehouse(config, { logger });

const main = new URL(gatehouse.mainUrl);
const ops = new URL(gatehouse.operationsUrl);
process.stdout.write(`
gatehouse is running on its embedded defaults.
${followed.notes.map((note) => `  (${note})\n`).join('')}
  auth endpoints   http://127.0.0.1:${main.port}/authz/nginx  (…/forward-auth, …/ext-authz/*)
  sign-in          ${config.publicUrl}${config.routes.prefix}/start
  operations       http://127.0.0.1:${ops.port}/readyz  /metrics
  policies         ${config.policy.files.directory}/ (edit a file: gatehouse reloads it)
${idp === null ? '' : `  identity prov.   ${idp.issuer}  users: ${DEMO_USERS.map((u) => `${u.username}/${u.password}`).join(', ')}\n`}
Try (as ingress-nginx asks: the routed host in ?host=, the method in X-Original-Method):
  curl -i -H 'X-Original-Method: GET' -H 'X-Original-URL: http://app.localhost/public/' 'http://127.0.0.1:${main.port}/authz/nginx?host=app.localhost'   # 200
  curl -i -H 'X-Original-Method: GET' -H 'X-Original-URL: http://app.localhost/'        'http://127.0.0.1:${main.port}/authz/nginx?host=app.localhost'   # 401
  curl -i -H 'X-Original-Method: GET' -H 'X-Original-URL: http://app.localhost/metrics' 'http://127.0.0.1:${main.port}/authz/nginx?host=app.localhost'   # 403

Press Ctrl+C to stop.
`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void gatehouse
      .shutdown(`received ${signal}`)
      .then(() => idp?.close())
      .then(() => process.exit(0));
  });
}
