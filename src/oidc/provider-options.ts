import type { ClaimNames } from '../authn/claim-mapping.ts';

/** A provider's claim names: the shared ones plus the organisation of its users. */
export interface ProviderClaimNames extends ClaimNames {
  /**
   * Claim of the user's organisation (`providers[].claims.organisation`, dotted paths allowed):
   * the identity's `organisation`, matched by `Organisation` subjects and sent upstream as
   * `sec-org`. Unset: the provider's users have no organisation.
   */
  readonly organisation?: string | undefined;
  /**
   * Claim of the organisation's display name (`providers[].claims.organisationName`), sent as
   * geOrchestra's `sec-orgname`. Unset: not known.
   */
  readonly organisationName?: string | undefined;
}

/** One OpenID Provider users may sign in with; the composition root maps `providers[]` onto it. */
export interface ProviderOptions {
  /** Short name, used in URLs, logs, metrics and session records. */
  readonly name: string;
  /** Shown on the chooser page; unset: `name`. */
  readonly displayName?: string | undefined;
  readonly issuer: string;
  readonly clientId: string;
  /** Unset: a public client (PKCE only, `token_endpoint_auth_method: none`). */
  readonly clientSecret?: string | undefined;
  readonly scopes: readonly string[];
  /** Extra authorization request parameters (`prompt`, `acr_values`…); never state/nonce/PKCE. */
  readonly authorizationParams: Readonly<Record<string, string>>;
  readonly claims: ProviderClaimNames;
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
  /**
   * Home-realm discovery (`providers[].domains`): e-mail domains whose people sign in here. The
   * chooser then takes an e-mail address and sends a person of `partner.com` straight to this
   * provider, with the address as `login_hint` (OpenID Connect Core §3.1.2.1). Exact, lower-case
   * domain names; no subdomains. Empty or undefined: the provider is only chosen by its button.
   */
  readonly domains?: readonly string[] | undefined;
}
