import { decide, type DecideOptions } from '../authz/decide.ts';
import type { Decision } from '../authz/decision.ts';
import type { StepUpRequirement } from '../authz/step-up.ts';
import { buildAuthRequest } from '../dialects/build-auth-request.ts';
import { normaliseHost } from '../dialects/host.ts';
import { parseRequestTarget } from '../dialects/request-target.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';

/**
 * The providers allowed to sign in for a destination (`spec.authentication.providers` of the
 * policy whose rule decides an anonymous GET of `url`), for `/oauth2/start?rd=`: the rule the
 * check will apply when the browser comes back. Undefined: every provider (no policy names any,
 * no snapshot yet, or a URL no check could ask about). Narrowing the sign-in is for people; the
 * check refuses sessions from other providers whatever the sign-in offered
 * (oidc/provider-restriction.ts). Pure.
 */
export function allowedProvidersForUrl(
  url: string,
  snapshot: PolicySnapshot | null,
  options: DecideOptions,
): readonly string[] | undefined {
  return anonymousDecisionFor(url, snapshot, options)?.rule?.providers;
}

/**
 * The step-up a destination asks for (`authentication` of the rule, or of the guardrail, that
 * decides an anonymous GET of `url`), for `/oauth2/start?rd=`: proxies whose sign-in link
 * carries only `rd` (ingress-nginx `auth-signin`) still get a sign-in that meets the rule, and a
 * link cannot ask for less than the rule needs (oidc/login.ts). Undefined: no step-up.
 */
export function stepUpForUrl(
  url: string,
  snapshot: PolicySnapshot | null,
  options: DecideOptions,
): StepUpRequirement | undefined {
  const decision = anonymousDecisionFor(url, snapshot, options);
  return decision?.rule?.stepUp ?? decision?.guardrail?.stepUp;
}

/** What decide() says of an anonymous GET of `url`; undefined when no check could ask it. */
function anonymousDecisionFor(
  url: string,
  snapshot: PolicySnapshot | null,
  options: DecideOptions,
): Decision | undefined {
  if (snapshot === null) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const scheme =
    parsed.protocol === 'https:' ? 'https' : parsed.protocol === 'http:' ? 'http' : null;
  if (scheme === null) return undefined;
  const host = normaliseHost(parsed.host, scheme);
  if (host === null) return undefined;
  let target;
  try {
    target = parseRequestTarget(`${parsed.pathname}${parsed.search}`, 'rd');
  } catch {
    return undefined;
  }
  const request = buildAuthRequest({
    dialect: 'nginx',
    method: 'GET',
    scheme,
    host,
    target,
    clientIp: '',
    requestId: '',
    headers: {},
  });
  return decide(request, null, snapshot, options);
}
