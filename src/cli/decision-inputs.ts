/**
 * The facts `gatehouse check` and `gatehouse test` decide on, built from the command line or a
 * test case: the AuthRequest a proxy would send for `METHOD URL`, and the identity of the caller
 * with its source. Shared by both commands, so a test case means what `check` means.
 */
import type { Identity } from '../authz/identity.ts';
import type { AuthRequest } from '../authz/auth-request.ts';
import type { Decision, MatchDescription, ValueMatchDescription } from '../authz/decision.ts';
import { normalisePath, splitTarget } from '../authz/path.ts';
import { isSubjectSource, unqualifiedSubjectSources } from '../authz/roles.ts';
import { normaliseHost } from '../dialects/host.ts';
import { canonicalAddress } from '../dialects/proxy-trust.ts';
import { definedFields } from '../defined-fields.ts';
import { tryParseDuration } from '../config/duration.ts';
import type { AuthenticationFacts } from '../authz/step-up.ts';

export type CliRequestResult =
  | { readonly ok: true; readonly request: AuthRequest }
  | { readonly ok: false; readonly problem: string };

const methodToken = /^[A-Za-z]+$/;
/** RFC 9110 §5.1 field name (token). */
const headerName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** What no header value can hold (RFC 9110 §5.5): controls but tab, DEL, and above latin1. */
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const headerValueRefused = /[\u0000-\u0008\u000a-\u001f\u007f]|[^\u0000-\u00ff]/;

/** What a request carries besides its method and URL: headers and the client address. */
export interface CliRequestExtras {
  /** `[name, value]` as given, in order; a name given twice (in any case) is refused. */
  readonly headers?: readonly (readonly [string, string])[];
  /** The client address a trusted proxy would report; omitted: unknown (issue #19). */
  readonly clientAddress?: string;
}

/**
 * `Name: value` from `--header`, or why it is not one. Spaces around the value are dropped as
 * an HTTP parser drops them (RFC 9110 §5.5).
 */
export function parseHeaderOption(text: string): [string, string] | string {
  const colon = text.indexOf(':');
  if (colon <= 0) return `--header "${text}" must be "Name: value"`;
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

/**
 * The lower-cased header record a dialect would hand to decide(), or a problem. A header given
 * twice is refused rather than joined or picked: upstreams read repeated headers differently,
 * and a test case that depends on one reading would prove nothing about the others.
 */
function headerRecord(
  headers: readonly (readonly [string, string])[],
): Record<string, string> | string {
  const record: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (!headerName.test(name)) return `"${name}" is not an HTTP header name (RFC 9110 §5.1)`;
    // Controls, DEL and anything a socket could not carry (Node decodes headers as latin1).
    if (headerValueRefused.test(value)) {
      return `the value of header "${name}" holds a control character or a character above U+00FF`;
    }
    const lower = name.toLowerCase();
    if (Object.hasOwn(record, lower)) {
      return `header "${name}" is given twice: give it once (a proxy passes repeated headers joined with ", ")`;
    }
    record[lower] = value;
  }
  return record;
}

/**
 * The AuthRequest a proxy would send for `METHOD URL`: host normalised as the dialects do
 * (dialects/host.ts), path as authz/path.ts does (an ambiguous path is kept as such: decide()
 * refuses it, and the output says why), the query raw as the proxy would pass it, the headers
 * lower-cased, and the client address canonical (an IPv4-mapped IPv6 address as IPv4).
 */
export function cliRequest(
  method: string,
  url: string,
  extras: CliRequestExtras = {},
): CliRequestResult {
  if (!methodToken.test(method)) return { ok: false, problem: `"${method}" is not an HTTP method` };
  const scheme = /^(https?):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') {
    return { ok: false, problem: `"${url}" is not an absolute http:// or https:// URL` };
  }
  const target = splitTarget(url);
  if (target.authority === null || target.authority.includes('@')) {
    return { ok: false, problem: `"${url}" has no host, or has user information before it` };
  }
  const host = normaliseHost(target.authority, scheme);
  if (host === null) return { ok: false, problem: `"${target.authority}" is not a valid host` };
  const headers = headerRecord(extras.headers ?? []);
  if (typeof headers === 'string') return { ok: false, problem: headers };
  let sourceAddress: string | undefined;
  if (extras.clientAddress !== undefined) {
    const canonical = canonicalAddress(extras.clientAddress);
    if (canonical === null || extras.clientAddress.trim() !== extras.clientAddress) {
      return {
        ok: false,
        problem: `"${extras.clientAddress}" is not an IP address (the client address a trusted proxy reports)`,
      };
    }
    sourceAddress = canonical.address;
  }
  return {
    ok: true,
    request: {
      ...definedFields({ sourceAddress, query: target.query ?? undefined }),
      // decide() never reads the dialect; the CLI speaks for no particular proxy.
      dialect: 'nginx',
      method: method.toUpperCase(),
      scheme,
      host,
      path: normalisePath(target.path),
      originalUrl: url,
      clientIp: sourceAddress ?? '127.0.0.1',
      requestId: 'cli',
      acceptsRedirect: false,
      credentials: { headers },
    },
  };
}

function describeValues(kind: string, values: readonly ValueMatchDescription[]): string[] {
  return values.map((value) =>
    value.type === 'Exact'
      ? `${kind} ${value.name} = ${JSON.stringify(value.value)}`
      : `${kind} ${value.name} ~ /${value.value}/`,
  );
}

/**
 * The match that selected a rule, in one line: `path PathPrefix /api, methods GET, header
 * X-Env = "prod", query debug ~ /1|true/, client in 10.0.0.0/8`. Every condition named held.
 */
export function describeMatch(match: MatchDescription): string {
  return [
    `path ${match.path.type} ${match.path.value}`,
    ...(match.methods === undefined ? [] : [`methods ${match.methods.join(', ')}`]),
    ...describeValues('header', match.headers ?? []),
    ...describeValues('query', match.queryParams ?? []),
    ...(match.sourceCIDRs === undefined ? [] : [`client in ${match.sourceCIDRs.join(', ')}`]),
  ].join(', ');
}

/** Who is asking, as given on the command line or in a test case. */
export interface CliSubject {
  readonly user?: string;
  readonly email?: string;
  readonly groups?: readonly string[];
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly organisation?: string;
  /** `provider/<name>`, `issuer/<name>`, `preauth` or `basic`; default `defaultCliSource`. */
  readonly source?: string;
  /** A bearer token's `aud` (`issuer/<name>` sources only). */
  readonly audiences?: readonly string[];
  /** How the caller signed in, for rules asking for a step-up (authz/step-up.ts). */
  readonly authentication?: CliAuthentication;
}

/**
 * A sign-in's `auth_time`, `acr` and `amr` as the command line gives them: the age rather than
 * a timestamp, so a test case means the same whenever it runs.
 */
export interface CliAuthentication {
  /** Seconds since the sign-in (`auth_time` = now − this). */
  readonly signedInAgo?: number;
  readonly acr?: string;
  readonly amr?: readonly string[];
}

/**
 * `--signed-in-ago` / `signedInAgo`: a duration (`90s`, `20m`, `1h`; a bare number is seconds),
 * in whole seconds, or why it is not one.
 */
export function parseSignedInAgo(text: string): number | string {
  const ms = tryParseDuration(text);
  if (ms === undefined || ms % 1000 !== 0) {
    return `"${text}" is not a duration in whole seconds (e.g. 90s, 20m, 1h)`;
  }
  return ms / 1000;
}

/** The identity facts of `authentication` at `nowMs`. */
function authenticationOf(
  authentication: CliAuthentication | undefined,
  nowMs: number,
): AuthenticationFacts | undefined {
  if (authentication === undefined) return undefined;
  const { signedInAgo, acr, amr } = authentication;
  const facts: AuthenticationFacts = {
    ...(signedInAgo === undefined ? {} : { authTime: Math.floor(nowMs / 1000) - signedInAgo }),
    ...definedFields({ acr }),
    ...(amr === undefined || amr.length === 0 ? {} : { amr: [...amr] }),
  };
  return Object.keys(facts).length === 0 ? undefined : facts;
}

/**
 * The source of a command-line identity when none is named and no configuration says which
 * sources unqualified subjects match: a stand-in for "the first OpenID provider".
 */
export const defaultCliSource = 'provider/default';

/**
 * The sources unqualified subjects match for `check` and `test`: the configuration's (as the
 * service computes them), or without a configuration `defaultCliSource` only.
 */
export function cliUnqualifiedSources(
  config: { readonly configured: readonly string[]; readonly providers: readonly string[] } | null,
): readonly string[] {
  if (config === null) return [defaultCliSource];
  return unqualifiedSubjectSources(config.configured, config.providers);
}

/**
 * The identity the command line describes, from the source it names (`provider/<name>`: a
 * session; `issuer/<name>`: a bearer token; `preauth`; `basic`); a user that is an e-mail
 * address sets `email` too. `nowMs` is the time the decision is made at (DecideOptions.now), from
 * which `authentication.signedInAgo` is counted back.
 */
export function cliIdentity(subject: CliSubject, nowMs: number = Date.now()): Identity {
  const user = subject.user ?? subject.email ?? '';
  const email = subject.email ?? (user.includes('@') ? user : undefined);
  const source = subject.source ?? defaultCliSource;
  const slash = source.indexOf('/');
  const kind = slash < 0 ? source : source.slice(0, slash);
  const name = slash < 0 ? source : source.slice(slash + 1);
  const method =
    kind === 'provider'
      ? ('session' as const)
      : kind === 'issuer'
        ? ('bearer' as const)
        : kind === 'basic'
          ? ('basic' as const)
          : ('header' as const);
  return {
    subject: user,
    user,
    ...definedFields({ email, organisation: subject.organisation }),
    groups: [...(subject.groups ?? [])],
    claims: { ...subject.claims },
    provider: name,
    method,
    ...(method === 'bearer' ? { audiences: [...(subject.audiences ?? [])] } : {}),
    ...definedFields({ authentication: authenticationOf(subject.authentication, nowMs) }),
  };
}

/** A usage problem with `--source`, or null. */
export function sourceProblem(source: string): string | null {
  return isSubjectSource(source)
    ? null
    : `"${source}" is not a source: provider/NAME, issuer/NAME, preauth or basic`;
}

/** `namespace/policy/rule`, or `policy/rule` for a ClusterAccessPolicy. */
export function ruleKey(decision: Decision): string | null {
  const { rule } = decision;
  if (rule === null) return null;
  return rule.namespace === ''
    ? `${rule.policy}/${rule.rule}`
    : `${rule.namespace}/${rule.policy}/${rule.rule}`;
}
