/**
 * Step-up sign-in (issue #19), the sign-in side: what a sign-in link may ask the provider for when
 * a rule's `authentication` was not met (authz/step-up.ts), and how it is asked.
 *
 * The link (`<prefix>/start?rd=…&max_age=900&acr_values=…&prompt=login`) carries a *request*,
 * never the requirement: the rule is judged again when the browser comes back (decide.ts), so a
 * link edited to ask for less only earns another refusal. The parameters are validated strictly
 * anyway, since they are sent on to the provider: `max_age` (OpenID Connect Core §3.1.2.1, whole
 * seconds), `acr_values` (space-separated, each a policy's `acr` value) and `prompt=login` (the
 * provider must ask for the credentials again, whatever session it holds).
 */
import type { StepUpRequirement } from '../authz/step-up.ts';
import { maxMaxAgeSeconds } from '../authz/step-up.ts';

export interface StepUpRequest {
  /** Seconds; sent as `max_age`. */
  readonly maxAge?: number;
  /** Sent as `acr_values`, in order of preference. */
  readonly acrValues?: readonly string[];
  /** Sends `prompt=login`. */
  readonly promptLogin?: boolean;
}

/**
 * What the sign-in may know of the destination's rule: the step-up its `authentication` asks
 * for, from the rule an anonymous request for `rd` would meet (as `allowedProviders` narrows the
 * chooser from `rd`). ingress-nginx's `auth-signin` link carries `rd` only, whatever the check's
 * `Location` said, so without this the sign-in could not ask the provider for `max_age`.
 * Undefined: no step-up for that destination. Set by the composition root.
 */
export interface StepUpSignInOptions {
  readonly stepUpFor?: ((rd: string) => StepUpRequirement | undefined) | undefined;
}

/** The raw query parameters of a start request. */
export interface StepUpParams {
  readonly maxAge?: string | undefined;
  readonly acrValues?: string | undefined;
  readonly prompt?: string | undefined;
}

export type ParsedStepUp =
  | { readonly ok: true; readonly request: StepUpRequest | undefined }
  | { readonly ok: false; readonly problem: string };

/** As policy/resources.ts `authenticationValuePattern`: safe in a query and a quoted-string. */
const acrValuePattern = /^[!#-[\]-~]{1,128}$/;
const maxAcrValues = 8;

/**
 * The step-up a start link asks for, or why the link is malformed. Absent parameters: no step-up.
 * `max_age=0` is refused (a sign-in could never come back young enough; `prompt=login` says what
 * was meant), as is any `prompt` but `login`: `none` or `consent` are not gatehouse's to ask here.
 */
export function parseStepUpParams(params: StepUpParams): ParsedStepUp {
  const { maxAge: rawMaxAge, acrValues: rawAcr, prompt } = params;
  let maxAge: number | undefined;
  if (rawMaxAge !== undefined) {
    if (!/^[1-9]\d{0,7}$/.test(rawMaxAge) || Number(rawMaxAge) > maxMaxAgeSeconds) {
      return { ok: false, problem: 'max_age must be a whole number of seconds, at most 366 days' };
    }
    maxAge = Number(rawMaxAge);
  }
  let acrValues: string[] | undefined;
  if (rawAcr !== undefined) {
    acrValues = rawAcr.split(' ');
    if (acrValues.length > maxAcrValues || !acrValues.every((v) => acrValuePattern.test(v))) {
      return {
        ok: false,
        problem: `acr_values must be at most ${String(maxAcrValues)} values separated by single spaces`,
      };
    }
  }
  if (prompt !== undefined && prompt !== 'login') {
    return { ok: false, problem: 'prompt may only be "login"' };
  }
  const request: StepUpRequest = {
    ...(maxAge === undefined ? {} : { maxAge }),
    ...(acrValues === undefined ? {} : { acrValues }),
    ...(prompt === 'login' ? { promptLogin: true } : {}),
  };
  return { ok: true, request: Object.keys(request).length === 0 ? undefined : request };
}

/**
 * What a sign-in link asks for to meet `requirement`: `max_age` and `acr_values` as the rule
 * says, and `prompt=login` when the age or the methods (`amr`, which no request parameter can
 * ask for) were not met — the provider's own session is likely as old or as weak as ours.
 */
export function stepUpRequestFor(requirement: StepUpRequirement): StepUpRequest {
  return {
    ...(requirement.maxAge === undefined ? {} : { maxAge: requirement.maxAge }),
    ...(requirement.acr === undefined ? {} : { acrValues: requirement.acr }),
    ...(requirement.maxAge !== undefined || requirement.amr !== undefined
      ? { promptLogin: true }
      : {}),
  };
}

/** The start-link query parameters of a request (the names the provider reads, too). */
export function stepUpQuery(request: StepUpRequest | undefined): [string, string][] {
  if (request === undefined) return [];
  const query: [string, string][] = [];
  if (request.maxAge !== undefined) query.push(['max_age', String(request.maxAge)]);
  if (request.acrValues !== undefined) query.push(['acr_values', request.acrValues.join(' ')]);
  if (request.promptLogin === true) query.push(['prompt', 'login']);
  return query;
}

/** `signInUrl` with the step-up parameters of `requirement` set (replacing any). */
export function withStepUp(signInUrl: string, requirement: StepUpRequirement | undefined): string {
  if (requirement === undefined || signInUrl === '') return signInUrl;
  const hash = signInUrl.indexOf('#');
  const base = hash === -1 ? signInUrl : signInUrl.slice(0, hash);
  const query = base.indexOf('?');
  const params = new URLSearchParams(query === -1 ? '' : base.slice(query + 1));
  for (const name of ['max_age', 'acr_values', 'prompt']) params.delete(name);
  for (const [name, value] of stepUpQuery(stepUpRequestFor(requirement))) params.set(name, value);
  return `${query === -1 ? base : base.slice(0, query)}?${params.toString()}`;
}
