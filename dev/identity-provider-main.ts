// Runs the development identity provider for local gatehouse runs:
//
//   node dev/identity-provider-main.ts
//
// Environment: DEV_IDP_HOST (default 127.0.0.1), DEV_IDP_PORT (default 9400),
// DEV_IDP_ISSUER (default http://<host>:<port>). See dev/README.md.
import { pino } from 'pino';
import { GATEHOUSE_DEV_CLIENT } from './gatehouse-dev-client.ts';
import { startDevIdentityProvider } from './identity-provider.ts';

const logger = pino({ level: process.env.DEV_IDP_LOG_LEVEL ?? 'info' });
const host = process.env.DEV_IDP_HOST ?? '127.0.0.1';
const port = Number(process.env.DEV_IDP_PORT ?? '9400');
const issuer = process.env.DEV_IDP_ISSUER;

const idp = await startDevIdentityProvider({
  host,
  port,
  ...(issuer === undefined ? {} : { issuer }),
  clients: [GATEHOUSE_DEV_CLIENT],
  logger,
});

process.stdout.write(
  [
    '',
    `gatehouse dev identity provider: ${idp.issuer}`,
    `  discovery: ${idp.issuer}/.well-known/openid-configuration`,
    `  client:    ${GATEHOUSE_DEV_CLIENT.clientId} / ${GATEHOUSE_DEV_CLIENT.clientSecret}`,
    '',
    usersTable(),
    '',
    'Press Ctrl+C to stop.',
    '',
  ].join('\n'),
);

function usersTable(): string {
  const rows = [
    ['username', 'password', 'email', 'name', 'groups'],
    ...idp.users.map((user) => [
      user.username,
      user.password,
      user.email,
      user.name,
      user.groups.map((group) => JSON.stringify(group)).join(' '),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      `  ${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd(),
    )
    .join('\n');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    idp.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'dev identity provider: close failed');
        process.exit(1);
      },
    );
  });
}
