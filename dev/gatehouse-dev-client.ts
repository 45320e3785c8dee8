import type { DevClient } from './identity-provider.ts';

/** The client gatehouse's development configuration uses. Not a secret: dev only. */
export const GATEHOUSE_DEV_CLIENT: DevClient = {
  clientId: 'gatehouse-dev',
  clientSecret: 'dev-secret-not-for-production',
  clientName: 'gatehouse (development)',
  // auth.localhost is the documented name; auth.demo.localhost is the sign-in host when
  // applications on *.demo.localhost share the cookie (sessions.cookie.domain: demo.localhost,
  // docs/troubleshooting.md); localhost and 127.0.0.1 work too,
  // for a gatehouse started without any DNS or /etc/hosts set-up.
  redirectUris: [
    'auth.localhost:8080',
    'auth.demo.localhost:8080',
    'localhost:8080',
    '127.0.0.1:8080',
  ].map((authority) => `http://${authority}/oauth2/callback`),
  postLogoutRedirectUris: [
    'auth.localhost:8080',
    'auth.demo.localhost:8080',
    'localhost:8080',
    '127.0.0.1:8080',
  ].map((authority) => `http://${authority}/oauth2/signed-out`),
  // 127.0.0.1 rather than auth.localhost: the provider resolves this name
  // itself, and not every resolver maps *.localhost to loopback.
  backchannelLogoutUri: 'http://127.0.0.1:8080/oauth2/backchannel_logout',
};

/**
 * The dev client with the addresses of this run registered too: the callback and signed-out
 * pages under the configured `publicUrl` and `routes.prefix`, and back-channel logout on the
 * main listener's port. The development identity provider accepts only registered redirect URIs
 * (OpenID Connect Core §3.1.2.1, exact match), so a run on other ports (`make run` with
 * GATEHOUSE_LISTENERS__MAIN__PORT, `make demo` with DEMO_PORT) signs in only with these.
 */
export function devClientFor(config: {
  readonly publicUrl: string;
  readonly routes: { readonly prefix: string };
  readonly listeners: { readonly main: { readonly port: number } };
}): DevClient {
  const base = `${config.publicUrl.replace(/\/+$/, '')}${config.routes.prefix}`;
  const mainPort = String(config.listeners.main.port);
  return {
    ...GATEHOUSE_DEV_CLIENT,
    redirectUris: [...new Set([...GATEHOUSE_DEV_CLIENT.redirectUris, `${base}/callback`])],
    postLogoutRedirectUris: [
      ...new Set([...(GATEHOUSE_DEV_CLIENT.postLogoutRedirectUris ?? []), `${base}/signed-out`]),
    ],
    backchannelLogoutUri: `http://127.0.0.1:${mainPort}${config.routes.prefix}/backchannel_logout`,
  };
}
