import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { Provider, type ClientMetadata, type Configuration, type Session } from 'oidc-provider';
import type { Logger } from 'pino';
import { claimsOf, DEMO_USERS, devPasswordAcr, devStrongAcr, type DevUser } from './demo-users.ts';
import { interactionPath, interactionRoutes } from './interaction-routes.ts';
import { renderErrorPage, renderLogoutPage, renderSignedOutPage } from './pages.ts';
import { SessionIndex } from './session-index.ts';

export interface DevClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Shown on the login page; defaults to the client id. */
  readonly clientName?: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  /** OpenID Connect Back-Channel Logout 1.0: where logout tokens are POSTed. */
  readonly backchannelLogoutUri?: string;
  /** Whether logout tokens carry `sid` (Back-Channel Logout 1.0 §2.2); default true. */
  readonly backchannelLogoutSessionRequired?: boolean;
  /** A client authenticates with exactly one method; default `client_secret_basic`. */
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Algorithm of the ID tokens (and logout tokens) this client receives; default RS256. */
  readonly idTokenSigningAlg?: 'RS256' | 'ES256';
}

export interface DevIdentityProviderOptions {
  /** Interface to listen on; default 127.0.0.1 (never all interfaces by default). */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Default `http://<host>:<port>`; must be an origin (no path). */
  readonly issuer?: string;
  readonly clients: readonly DevClient[];
  /** Replaces the demo users. */
  readonly users?: readonly DevUser[];
  /** Added to `users` (e.g. `userWithManyGroups(200)` for cookie-size tests). */
  readonly extraUsers?: readonly DevUser[];
  readonly idTokenTtlSeconds?: number;
  readonly accessTokenTtlSeconds?: number;
  readonly refreshTokenTtlSeconds?: number;
  readonly sessionTtlSeconds?: number;
  /** Issue a new refresh token on every refresh (the old one stops working); default true. */
  readonly rotateRefreshTokens?: boolean;
  readonly logger?: Logger;
  /** Used for outgoing requests (back-channel logout); default global fetch. */
  readonly fetch?: typeof globalThis.fetch;
}

/** A signing key generated at start; tests may use it to mint tokens "from the provider". */
export interface DevSigningKey {
  readonly alg: 'RS256' | 'ES256';
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface DevSigningKeys {
  readonly rs256: DevSigningKey;
  readonly es256: DevSigningKey;
  /** What the provider serves at its `jwks_uri`. */
  readonly publicJwks: { readonly keys: readonly JWK[] };
}

/** The outcome of one back-channel logout request sent by `signOutUser`. */
export interface BackchannelLogoutDelivery {
  readonly clientId: string;
  readonly sid?: string | undefined;
  readonly ok: boolean;
  readonly error?: string;
}

export interface DevIdentityProvider {
  /** The issuer identifier (`iss`), also the discovery base. */
  readonly issuer: string;
  /** Where the server actually listens, `http://<host>:<port>`. */
  readonly url: string;
  readonly provider: Provider;
  readonly users: readonly DevUser[];
  readonly keys: DevSigningKeys;
  /**
   * Ends every provider session of the user (as an administrator would),
   * revokes their grants (refresh tokens stop working) and sends a
   * Back-Channel Logout token to every client of those sessions that
   * registered a `backchannelLogoutUri`.
   */
  signOutUser(subject: string): Promise<BackchannelLogoutDelivery[]>;
  close(): Promise<void>;
}

const DEFAULT_TTL_SECONDS = {
  idToken: 10 * 60,
  accessToken: 10 * 60,
  refreshToken: 24 * 60 * 60,
  session: 24 * 60 * 60,
  // RFC 6749 §4.1.2 recommends at most 10 minutes; 60 s is plenty for a redirect.
  authorizationCode: 60,
  interaction: 10 * 60,
} as const;

/**
 * Starts a real OpenID Provider (oidc-provider) for local runs and
 * integration tests: authorization code flow with PKCE (S256 only), refresh
 * tokens, RP-Initiated Logout 1.0, Back-Channel Logout 1.0, a plain HTML
 * login form and automatic consent. Keys and cookie secrets are generated at
 * every start, so nothing secret is ever committed.
 */
export async function startDevIdentityProvider(
  options: DevIdentityProviderOptions,
): Promise<DevIdentityProvider> {
  const host = options.host ?? '127.0.0.1';
  const users = [...(options.users ?? DEMO_USERS), ...(options.extraUsers ?? [])];
  assertUnique(users);
  const { keys, privateJwks } = await generateSigningKeys();

  let handle: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const server = createServer((req, res) => {
    if (handle === undefined) {
      res.statusCode = 503;
      res.end();
      return;
    }
    // Koa's handler answers errors itself; the promise never rejects.
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  try {
    const issuer = issuerOf(options.issuer ?? url);
    const sessions = new SessionIndex();
    const provider = new Provider(issuer, configuration(options, users, privateJwks));
    provider.use(interactionRoutes({ provider, users, logger: options.logger }));
    observe(provider, sessions, options.logger);
    handle = provider.callback();
    options.logger?.info({ issuer, url }, 'dev identity provider: listening');

    return {
      issuer,
      url,
      provider,
      users,
      keys,
      signOutUser: (subject) => signOutUser(provider, sessions, subject),
      close: once(() => closeServer(server)),
    };
  } catch (error) {
    await closeServer(server);
    throw error;
  }
}

function configuration(
  options: DevIdentityProviderOptions,
  users: readonly DevUser[],
  privateJwks: JWK[],
): Configuration {
  const usersBySubject = new Map(users.map((user) => [user.subject, user]));
  const extraClaimNames = [
    ...new Set(users.flatMap((user) => Object.keys(user.extraClaims ?? {}))),
  ];
  const outgoingFetch = options.fetch ?? globalThis.fetch;

  const configuration: Configuration = {
    clients: options.clients.map(clientMetadata),
    jwks: { keys: privateJwks },
    cookies: {
      // Random per start: restarting the provider signs everybody out, which
      // is what a developer expects from a throw-away identity provider.
      keys: [randomBytes(32).toString('base64url')],
      // Cookies ignore ports (RFC 6265 §8.5): on 127.0.0.1 the provider's and
      // gatehouse's cookies share a jar, so the names say whose they are.
      names: {
        session: '_devidp_session',
        interaction: '_devidp_interaction',
        resume: '_devidp_interaction_resume',
      },
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      // `groups` is released both with `profile` and with its own `groups`
      // scope (the Dex/Keycloak convention), so relying parties get groups
      // whichever of the two they ask for.
      profile: [
        'name',
        'preferred_username',
        'given_name',
        'family_name',
        'groups',
        ...extraClaimNames,
      ],
      groups: ['groups'],
    },
    // Put the scope-granted claims in the ID token even when an access token
    // is issued too (OIDC Core 1.0 §5.4 would move them to userinfo only), so
    // gatehouse gets groups without a userinfo round trip, like most IdPs do.
    conformIdTokenClaims: false,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    // Authorization code flow only: no implicit or hybrid responses (RFC 9700 §2.1.2).
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.type = 'html';
          ctx.body = renderLogoutPage(form, ctx.host);
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.type = 'html';
          ctx.body = renderSignedOutPage(ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId);
        },
      },
    },
    // PKCE for every client, confidential ones included (RFC 9700 §2.1.1);
    // oidc-provider 9 only implements S256, so `plain` is refused.
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => interactionPath(interaction.uid) },
    findAccount: (_ctx, sub) => {
      const user = usersBySubject.get(sub);
      return Promise.resolve(
        user === undefined ? undefined : { accountId: sub, claims: () => claimsOf(user) },
      );
    },
    // Refresh tokens for the dev clients even without `offline_access`, so
    // gatehouse's refresh path is exercised by every login. Without
    // offline_access they still end with the provider session.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: options.rotateRefreshTokens ?? true,
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = renderErrorPage(out);
    },
    ttl: {
      IdToken: options.idTokenTtlSeconds ?? DEFAULT_TTL_SECONDS.idToken,
      AccessToken: options.accessTokenTtlSeconds ?? DEFAULT_TTL_SECONDS.accessToken,
      RefreshToken: options.refreshTokenTtlSeconds ?? DEFAULT_TTL_SECONDS.refreshToken,
      Session: options.sessionTtlSeconds ?? DEFAULT_TTL_SECONDS.session,
      Grant: options.sessionTtlSeconds ?? DEFAULT_TTL_SECONDS.session,
      AuthorizationCode: DEFAULT_TTL_SECONDS.authorizationCode,
      Interaction: DEFAULT_TTL_SECONDS.interaction,
    },
    // oidc-provider guards outgoing requests against special-use addresses
    // (SSRF) through its own dispatcher; the dev provider's relying parties
    // live on 127.0.0.1, so back-channel logout must reach loopback.
    fetch: (url, { dispatcher: _ssrfGuard, ...init }) => outgoingFetch(url, init),
  };
  // The `acr` values sign-ins get (demo-users.ts signInMethodsOf), advertised as
  // `acr_values_supported` so relying parties may ask for one (OpenID Connect Discovery §3).
  // Added apart: dev/oidc-provider.d.ts does not declare oidc-provider's `acrValues` option.
  return Object.assign(configuration, { acrValues: [devPasswordAcr, devStrongAcr] });
}

function clientMetadata(client: DevClient): ClientMetadata {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    client_name: client.clientName ?? client.clientId,
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...(client.postLogoutRedirectUris ?? [])],
    ...(client.backchannelLogoutUri === undefined
      ? {}
      : {
          backchannel_logout_uri: client.backchannelLogoutUri,
          backchannel_logout_session_required: client.backchannelLogoutSessionRequired ?? true,
        }),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod ?? 'client_secret_basic',
    id_token_signed_response_alg: client.idTokenSigningAlg ?? 'RS256',
  };
}

interface GeneratedKeys {
  readonly keys: DevSigningKeys;
  /** Only for the provider's keystore; tests sign with `DevSigningKey.privateKey`. */
  readonly privateJwks: JWK[];
}

async function generateSigningKeys(): Promise<GeneratedKeys> {
  const [rs256, es256] = await Promise.all([
    generateSigningKey('RS256'),
    generateSigningKey('ES256'),
  ]);
  return {
    keys: {
      rs256: rs256.key,
      es256: es256.key,
      publicJwks: { keys: [rs256.key.publicJwk, es256.key.publicJwk] },
    },
    privateJwks: [rs256.privateJwk, es256.privateJwk],
  };
}

async function generateSigningKey(
  alg: 'RS256' | 'ES256',
): Promise<{ key: DevSigningKey; privateJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const labels = { kid, alg, use: 'sig' };
  return {
    key: { alg, kid, privateKey, publicJwk: { ...publicJwk, ...labels } },
    privateJwk: { ...(await exportJWK(privateKey)), ...labels },
  };
}

function issuerOf(value: string): string {
  const issuer = new URL(value);
  // The provider is mounted at the server root; an issuer with a path would
  // advertise endpoints that do not exist.
  if (issuer.pathname !== '/' || issuer.search !== '' || issuer.hash !== '') {
    throw new Error(`dev identity provider issuer must be an origin without a path: ${value}`);
  }
  return issuer.origin;
}

function assertUnique(users: readonly DevUser[]): void {
  for (const field of ['username', 'subject'] as const) {
    const seen = new Set<string>();
    for (const user of users) {
      if (seen.has(user[field]))
        throw new Error(`dev identity provider: duplicate user ${field} ${user[field]}`);
      seen.add(user[field]);
    }
  }
}

function observe(provider: Provider, sessions: SessionIndex, logger: Logger | undefined): void {
  provider.on('session.saved', (session: Session) => {
    sessions.saved(session);
  });
  provider.on('session.destroyed', (session: Session) => {
    sessions.destroyed(session);
  });
  if (logger === undefined) return;
  // Only error messages and ids are logged: never tokens, codes or cookies.
  provider.on('server_error', (_ctx: unknown, error: Error) => {
    logger.error({ err: error.message }, 'dev identity provider: server error');
  });
  for (const event of [
    'authorization.error',
    'grant.error',
    'end_session.error',
    'userinfo.error',
  ]) {
    provider.on(event, (_ctx: unknown, error: Error) => {
      logger.info({ event, err: error.message }, 'dev identity provider: request rejected');
    });
  }
  provider.on('backchannel.error', (_ctx: unknown, error: Error, client: { clientId: string }) => {
    logger.warn(
      { clientId: client.clientId, err: error.message },
      'dev identity provider: back-channel logout failed',
    );
  });
  provider.on('end_session.success', () => {
    logger.info('dev identity provider: signed out');
  });
}

async function signOutUser(
  provider: Provider,
  sessions: SessionIndex,
  subject: string,
): Promise<BackchannelLogoutDelivery[]> {
  const deliveries: Promise<BackchannelLogoutDelivery>[] = [];
  for (const session of sessions.takeSessionsOf(subject)) {
    await provider.Session.adapter.destroy(session.id);
    for (const [clientId, { sid, grantId }] of session.clients) {
      if (grantId !== undefined) await revokeGrant(provider, grantId);
      const client = await provider.Client.find(clientId);
      if (client?.backchannelLogoutUri === undefined) continue;
      deliveries.push(
        client.backchannelLogout(subject, sid).then(
          () => ({ clientId, sid, ok: true }),
          (error: unknown) => ({
            clientId,
            sid,
            ok: false,
            error: error instanceof Error ? error.message : String(error),
          }),
        ),
      );
    }
  }
  return Promise.all(deliveries);
}

async function revokeGrant(provider: Provider, grantId: string): Promise<void> {
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
    provider.Grant.adapter.destroy(grantId),
  ]);
}

function once(action: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= action());
}

function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => {
      if (error === undefined) resolve();
      else reject(error);
    });
    // Keep-alive sockets (fetch pools them) would hold close() open.
    server.closeAllConnections();
  });
}
