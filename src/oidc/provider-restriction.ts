import type { Identity } from '../authz/identity.ts';
import type { Decision } from '../authz/decision.ts';
import { Reasons } from '../authz/reasons.ts';
import { definedFields } from '../defined-fields.ts';

/**
 * Sign-in per organisation (`spec.authentication.providers` of an AccessPolicy): the OpenID
 * Providers whose sessions count on a policy's hosts. The sign-in for such a host offers only
 * them (login.ts), and a session from any other provider is no identity there: the request is
 * decided as anonymous, and refused with a 403 that offers an allowed provider when anonymous is
 * not enough. Pure functions over the decision, so the check edge only calls them.
 *
 * Only sessions are restricted: bearer tokens, pre-authenticated users and Basic users are
 * governed by their own sources (qualified subjects, `spec.authentication.bearer`).
 */

/**
 * The reason of that 403. Until `authz/reasons.ts` lists it as `Reasons.ProviderNotAllowed`, it
 * is declared here (the code is public and stable: metrics, logs, the 403 page).
 */
export const providerNotAllowed = Reasons.ProviderNotAllowed;

/** Whether `provider` may sign in where `allowed` (a policy's list; undefined: any) applies. */
export function isProviderAllowed(
  allowed: readonly string[] | undefined,
  provider: string,
): boolean {
  return allowed === undefined || allowed.includes(provider);
}

/**
 * The provider of a browser session that the decision's rule does not allow, or null. An
 * impersonated identity is judged by its own provider: it is who acts on the host.
 */
export function disallowedSessionProvider(decision: Decision): string | null {
  const allowed = decision.rule?.providers;
  const identity: Identity | null = decision.identity;
  if (allowed === undefined || identity === null || identity.method !== 'session') return null;
  return isProviderAllowed(allowed, identity.provider) ? null : identity.provider;
}

/**
 * The decision once the rule's providers are applied. A session from another provider counts as
 * no identity: when the request would be allowed anonymously (`decideAnonymously`, the same
 * decide() without the identity — a guest path) that answer stands, with no identity headers;
 * otherwise it is refused (403 `provider-not-allowed`), never a 401, since signing in again with
 * the same provider would only come back here. Any other decision is returned as it is.
 */
export function applyProviderRestriction(
  decision: Decision,
  decideAnonymously: () => Decision,
): Decision {
  if (disallowedSessionProvider(decision) === null) return decision;
  const anonymous = decideAnonymously();
  if (anonymous.outcome === 'allow') return anonymous;
  return {
    outcome: 'forbidden',
    reason: providerNotAllowed,
    rule: decision.rule,
    roles: decision.roles,
    identity: decision.identity,
    ...definedFields({ guardrail: decision.guardrail }),
  };
}

/**
 * The sign-in URL for a rule that allows exactly one provider: it names it (`&provider=`), so
 * `/oauth2/start` goes straight there with no chooser. With several, `/oauth2/start` narrows the
 * chooser itself from `rd` (SignInOptions.allowedProviders).
 */
export function signInUrlWithProvider(
  signInUrl: string,
  allowed: readonly string[] | undefined,
): string {
  if (allowed?.length !== 1 || signInUrl === '') return signInUrl;
  return withProvider(signInUrl, allowed[0] ?? '');
}

/** `signInUrl` with `provider=<name>` (replacing any), for the 403 page's offers. */
export function withProvider(signInUrl: string, provider: string): string {
  const hash = signInUrl.indexOf('#');
  const base = hash === -1 ? signInUrl : signInUrl.slice(0, hash);
  const query = base.indexOf('?');
  const params = new URLSearchParams(query === -1 ? '' : base.slice(query + 1));
  params.set('provider', provider);
  return `${query === -1 ? base : base.slice(0, query)}?${params.toString()}`;
}
