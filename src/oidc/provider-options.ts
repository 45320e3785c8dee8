import type { ClaimNames } from '../authn/claim-mapping.ts';

/** One OpenID Provider users may sign in with; the composition root maps `providers[]` onto it. */
export interface ProviderOptions {
  /** Short name, used in URLs, logs, metrics and session records. */
  readonly name: string;
  /** Shown on the chooser page; empty means `name`. */
  readonly displayName: string;
  readonly issuer: string;
  readonly clientId: string;
  /** Empty: a public client (PKCE only, `token_endpoint_auth_method: none`). */
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  /** Extra authorization request parameters (`prompt`, `acr_values`…); never state/nonce/PKCE. */
  readonly authorizationParams: Readonly<Record<string, string>>;
  readonly claims: ClaimNames;
  /** Sign out at the provider too (OpenID Connect RP-Initiated Logout 1.0). */
  readonly endSession: boolean;
  /** Default true. Disabled providers are neither discovered nor offered. */
  readonly enabled?: boolean;
  /** How the client authenticates at the token endpoint; default `client_secret_basic`. */
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /**
   * Keep e-mail addresses the provider does not mark `email_verified: true` (OpenID Connect Core
   * §5.1). Default false. Only for providers that never send the claim and verify every address
   * themselves: with it, anyone who can register an address at the provider gets the roles mapped
   * to that address and its domain, and is announced upstream under it.
   */
  readonly allowUnverifiedEmail?: boolean | undefined;
}
