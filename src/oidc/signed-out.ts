import * as client from 'openid-client';
import { destinationOf } from './destination.ts';
import { signInPaths, type SignInOptions } from './sign-in-options.ts';

/**
 * The signed-out landing page's facts (`<prefix>/signed-out`). Ending gatehouse's session does
 * not end the one at the provider unless RP-initiated logout ran (`providers[].endSession`,
 * oidc/sign-out.ts): until then anyone at this browser signs in again as the same person without
 * a password, and "switch account" comes back as the same user. The page says so, and offers the
 * provider's own sign-out (OpenID Connect RP-Initiated Logout 1.0 §2).
 */
export interface SignedOutInput {
  /** `rd`: the destination, when gatehouse sent the browser here directly. */
  readonly rd: string | undefined;
  /**
   * `state`: the destination as the provider's end_session_endpoint sent it back
   * (`post_logout_redirect_uri`), so the provider's session ended too.
   */
  readonly state: string | undefined;
  /** `provider`: the configured name of the provider the ended session came from. */
  readonly provider: string | undefined;
  readonly requestId: string;
}

export interface SignedOutView {
  /** The validated destination (or the default). */
  readonly continueHref: string;
  /** Whether the browser came back from the provider's own sign-out. */
  readonly signedOutAtProvider: boolean;
  /**
   * The provider whose session may live on, when known and not signed out: its name for people
   * and, when it advertises an end_session_endpoint, a link there that comes back here.
   */
  readonly provider?:
    { readonly displayName: string; readonly endSessionHref: string | undefined } | undefined;
}

export function signedOutView(
  options: SignInOptions<unknown>,
  input: SignedOutInput,
): SignedOutView {
  const signedOutAtProvider = input.rd === undefined && input.state !== undefined;
  const continueHref = destinationOf(options, input.rd ?? input.state, 'sign-out', input.requestId);
  // Anyone can write `provider=` into the link: only a configured provider's name counts, and it
  // only adds a warning and a link to that provider's own sign-out page.
  const configured =
    input.provider === undefined
      ? undefined
      : options.providers.enabled().find((provider) => provider.name === input.provider);
  if (signedOutAtProvider || configured === undefined) return { continueHref, signedOutAtProvider };
  const discovered = options.providers.get(configured.name);
  const endpoint = discovered?.config.serverMetadata().end_session_endpoint;
  const endSessionHref =
    discovered === null || endpoint === undefined
      ? undefined
      : // No id_token_hint (the session and its ID token are gone): the provider identifies the
        // client by client_id, which openid-client adds, and asks the user to confirm.
        client.buildEndSessionUrl(discovered.config, {
          post_logout_redirect_uri: signInPaths(options).signedOutUrl,
          state: continueHref,
        }).href;
  return {
    continueHref,
    signedOutAtProvider,
    provider: {
      displayName: configured.displayName ?? configured.name,
      endSessionHref,
    },
  };
}
