/**
 * Step-up sign-in per rule (issue #19): a rule's `authentication: { maxAge, acr, amr }` asks that
 * the caller signed in recently enough or strongly enough, on top of holding a role. The facts
 * come from the ID token of the sign-in (`auth_time`, `acr`, `amr`: OpenID Connect Core §2) kept
 * in the session, or from a bearer token's claims (RFC 9470 §1). Pure: the clock is a parameter.
 */
import type { Identity } from './identity.ts';

/** A rule's step-up requirement, compiled (policy/snapshot.ts). Any field unmet refuses. */
export interface StepUpRequirement {
  /** Seconds: the sign-in (`auth_time`) must be at most this old. */
  readonly maxAge?: number;
  /** The sign-in's `acr` must be one of these. */
  readonly acr?: readonly string[];
  /** The sign-in's `amr` must include one of these (RFC 8176 values such as `hwk`, `otp`). */
  readonly amr?: readonly string[];
}

/** How the caller signed in, as the ID token (or bearer token) said. */
export interface AuthenticationFacts {
  /** Epoch seconds of the sign-in (`auth_time`). */
  readonly authTime?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
}

/** Bounds of `maxAge`: below a minute a sign-in expires on its way back from the provider. */
export const minMaxAgeSeconds = 60;
export const maxMaxAgeSeconds = 366 * 86_400;

const unitSeconds = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;

/**
 * `maxAge` as written in a policy (`15m`, `1h30m`, `900`) in seconds, or a message saying why
 * it is not one (policy/resources.ts `maxAgePattern`, checked again here for files).
 */
export function parseMaxAge(text: string): number | string {
  const whole = /^\d{1,8}$/.test(text) ? Number(text) : undefined;
  let seconds = whole;
  if (seconds === undefined) {
    const parts = /^(?:(\d{1,4})d)?(?:(\d{1,4})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$/.exec(text);
    if (parts === null || text === '') {
      return `"${text}" is not a duration in whole seconds (e.g. 900, 15m, 1h30m, 1d)`;
    }
    const [, d, h, m, s] = parts;
    seconds =
      Number(d ?? 0) * unitSeconds.d +
      Number(h ?? 0) * unitSeconds.h +
      Number(m ?? 0) * unitSeconds.m +
      Number(s ?? 0) * unitSeconds.s;
  }
  if (seconds < minMaxAgeSeconds) {
    return `"${text}" is under a minute: no sign-in could come back from the provider in time`;
  }
  if (seconds > maxMaxAgeSeconds) return `"${text}" is more than 366 days`;
  return seconds;
}

/** Which parts of a requirement the facts miss, in policy words; empty when they meet it. */
export type StepUpShortfall = 'maxAge' | 'acr' | 'amr';

/**
 * The parts of `requirement` that `identity` does not meet at `nowSeconds`. An identity without
 * the facts (a session from before step-up existed, a token without `auth_time`, a
 * pre-authenticated or Basic user) meets nothing: unknown never satisfies a requirement. An
 * `auth_time` in the future is not trusted either.
 */
export function stepUpShortfalls(
  requirement: StepUpRequirement,
  identity: Identity,
  nowSeconds: number,
): StepUpShortfall[] {
  const missing: StepUpShortfall[] = [];
  const facts = identity.authentication;
  if (requirement.maxAge !== undefined) {
    const authTime = facts?.authTime;
    const age = authTime === undefined ? undefined : nowSeconds - authTime;
    // 60 s of clock skew tolerated for an auth_time ahead of our clock, as for `iat`.
    if (age === undefined || age > requirement.maxAge || age < -60) missing.push('maxAge');
  }
  if (requirement.acr !== undefined) {
    const acr = facts?.acr;
    if (acr === undefined || !requirement.acr.includes(acr)) missing.push('acr');
  }
  if (requirement.amr !== undefined) {
    const amr = facts?.amr ?? [];
    if (!requirement.amr.some((method) => amr.includes(method))) missing.push('amr');
  }
  return missing;
}

/**
 * The authentication facts of a token's or ID token's claims, each kept only when well formed
 * (`auth_time` a JSON number, `acr` a string, `amr` an array of strings: OpenID Connect Core §2).
 */
export function authenticationFactsOf(
  claims: Readonly<Record<string, unknown>>,
): AuthenticationFacts | undefined {
  const { auth_time: authTime, acr, amr } = claims;
  const facts: { authTime?: number; acr?: string; amr?: readonly string[] } = {};
  if (typeof authTime === 'number' && Number.isFinite(authTime))
    facts.authTime = Math.floor(authTime);
  if (typeof acr === 'string' && acr !== '' && acr.length <= 256) facts.acr = acr;
  if (Array.isArray(amr)) {
    const methods = amr.filter(
      (method): method is string => typeof method === 'string' && method.length <= 256,
    );
    if (methods.length > 0) facts.amr = Object.freeze(methods.slice(0, 16));
  }
  return Object.keys(facts).length === 0 ? undefined : Object.freeze(facts);
}
