// Minimal type declarations for `oidc-provider` 9 (it ships none; the
// DefinitelyTyped package is not a dependency). Only the surface that the
// development identity provider and its test fixtures use is described; grow
// it when a new part of the API is needed rather than reaching for `any`.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type Koa from 'koa';

  export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    redirect_uris?: string[];
    post_logout_redirect_uris?: string[];
    backchannel_logout_uri?: string;
    backchannel_logout_session_required?: boolean;
    grant_types?: string[];
    response_types?: string[];
    token_endpoint_auth_method?: ClientAuthMethod;
    id_token_signed_response_alg?: string;
  }

  export interface AccountClaims {
    sub: string;
    [claim: string]: unknown;
  }

  export interface Account {
    accountId: string;
    claims(
      use: string,
      scope: string,
      claims: unknown,
      rejected: string[],
    ): AccountClaims | Promise<AccountClaims>;
  }

  /** The `ctx.oidc` context of a request inside the provider. */
  export interface OIDCContext {
    readonly route?: string;
    readonly client?: Client;
  }

  export type ProviderContext = Koa.Context & { oidc: OIDCContext };

  export interface Configuration {
    clients?: ClientMetadata[];
    jwks?: { keys: object[] };
    cookies?: {
      keys?: string[];
      names?: { session?: string; interaction?: string; resume?: string };
    };
    claims?: Record<string, string[] | null>;
    scopes?: string[];
    conformIdTokenClaims?: boolean;
    clientAuthMethods?: ClientAuthMethod[];
    responseTypes?: string[];
    features?: {
      devInteractions?: { enabled: boolean };
      backchannelLogout?: { enabled: boolean };
      revocation?: { enabled: boolean };
      introspection?: { enabled: boolean };
      userinfo?: { enabled: boolean };
      rpInitiatedLogout?: {
        enabled: boolean;
        logoutSource?: (ctx: ProviderContext, form: string) => Promise<void> | void;
        postLogoutSuccessSource?: (ctx: ProviderContext) => Promise<void> | void;
      };
    };
    pkce?: { required?: (ctx: ProviderContext, client: Client) => boolean };
    interactions?: {
      url?: (ctx: ProviderContext, interaction: Interaction) => string | Promise<string>;
    };
    findAccount?: (
      ctx: ProviderContext,
      sub: string,
      token?: unknown,
    ) => Promise<Account | undefined>;
    issueRefreshToken?: (
      ctx: ProviderContext,
      client: Client,
      code: unknown,
    ) => boolean | Promise<boolean>;
    rotateRefreshToken?: boolean | ((ctx: ProviderContext) => boolean);
    renderError?: (
      ctx: ProviderContext,
      out: Record<string, string>,
      error: Error,
    ) => Promise<void> | void;
    ttl?: Record<string, number>;
    fetch?: (
      url: string | URL,
      options: RequestInit & { dispatcher?: unknown },
    ) => Promise<Response>;
  }

  export interface InteractionPrompt {
    name: 'login' | 'consent' | (string & {});
    reasons: string[];
    details: {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
  }

  export interface Interaction {
    readonly uid: string;
    readonly prompt: InteractionPrompt;
    readonly params: Record<string, unknown>;
    readonly session?: { accountId: string; uid?: string };
    readonly grantId?: string;
    readonly returnTo: string;
  }

  export interface InteractionResult {
    login?: { accountId: string; amr?: string[]; remember?: boolean };
    consent?: { grantId: string };
    error?: string;
    error_description?: string;
  }

  export interface Client {
    readonly clientId: string;
    readonly clientName?: string;
    readonly backchannelLogoutUri?: string;
    grantTypeAllowed(grantType: string): boolean;
    backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
  }

  export interface Grant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface Session {
    readonly jti: string;
    readonly uid: string;
    readonly accountId?: string;
    readonly authorizations?: Record<string, { sid?: string; grantId?: string }>;
  }

  export interface GrantBoundModel {
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface Adapter {
    destroy(id: string): Promise<void>;
  }

  export class Provider extends Koa {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    urlFor(name: string, options?: Record<string, string>): string;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResult,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
    readonly Client: { find(clientId: string): Promise<Client | undefined> };
    readonly Grant: {
      new (init: { accountId: string; clientId: string }): Grant;
      find(grantId: string): Promise<Grant | undefined>;
      readonly adapter: Adapter;
    };
    readonly Session: { readonly adapter: Adapter };
    readonly AccessToken: GrantBoundModel;
    readonly RefreshToken: GrantBoundModel;
    readonly AuthorizationCode: GrantBoundModel;
  }

  export default Provider;
}
