import { redirectOrDefault, type RedirectPolicy } from './redirect-target.ts';
import type { SignInOptions } from './sign-in-options.ts';

/**
 * Where the browser goes after sign-in or sign-out: the validated `rd` or the default, with every
 * refusal logged and counted (`gatehouse_redirect_refusals_total{flow,reason}`), so an operator
 * sees why a user landed on the default page (a downgrade to http, a domain not allowed…).
 */
export type DestinationFlow = 'sign-in' | 'sign-out';

export function redirectPolicyOf(
  options: Pick<
    SignInOptions,
    'allowedRedirectDomains' | 'publicUrl' | 'defaultRedirectUrl' | 'allowHttpRedirects'
  >,
): RedirectPolicy & { readonly defaultUrl?: string | undefined } {
  return {
    allowedDomains: options.allowedRedirectDomains,
    publicUrl: options.publicUrl,
    defaultUrl: options.defaultRedirectUrl,
    allowHttp: options.allowHttpRedirects === true,
  };
}

export function destinationOf(
  options: SignInOptions<unknown>,
  raw: unknown,
  flow: DestinationFlow,
  requestId: string,
): string {
  const target = redirectOrDefault(raw, redirectPolicyOf(options));
  if (target.refused !== undefined) {
    options.metrics.redirectRefusals.inc({ flow, reason: target.refused });
    options.logger.info(
      { requestId, flow, reason: target.refused },
      target.refused === 'insecure-scheme'
        ? 'refused an http destination behind an https public URL (set redirects.allowHttp to allow it); using the default'
        : 'refused a redirect target; using the default',
    );
  }
  return target.url;
}
