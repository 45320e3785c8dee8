/**
 * The facts `gatehouse check` and `gatehouse test` decide on, built from the command line or a
 * test case: the AuthRequest a proxy would send for `METHOD URL`, and the identity of the caller
 * with its source. Shared by both commands, so a test case means what `check` means.
 */
import type { Identity } from '../authz/identity.ts';
import type { AuthRequest } from '../authz/auth-request.ts';
import type { Decision } from '../authz/decision.ts';
import { normalisePath, splitTarget } from '../authz/path.ts';
import { isSubjectSource, unqualifiedSubjectSources } from '../authz/roles.ts';
import { normaliseHost } from '../dialects/host.ts';
import { definedFields } from '../defined-fields.ts';

export type CliRequestResult =
  | { readonly ok: true; readonly request: AuthRequest }
  | { readonly ok: false; readonly problem: string };

const methodToken = /^[A-Za-z]+$/;

/**
 * The AuthRequest a proxy would send for `METHOD URL`: host normalised as the dialects do
 * (dialects/host.ts), path as authz/path.ts does (an ambiguous path is kept as such: decide()
 * refuses it, and the output says why).
 */
export function cliRequest(method: string, url: string): CliRequestResult {
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
  return {
    ok: true,
    request: {
      // decide() never reads the dialect; the CLI speaks for no particular proxy.
      dialect: 'nginx',
      method: method.toUpperCase(),
      scheme,
      host,
      path: normalisePath(target.path),
      originalUrl: url,
      clientIp: '127.0.0.1',
      requestId: 'cli',
      acceptsRedirect: false,
      credentials: { headers: {} },
    },
  };
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
 * address sets `email` too.
 */
export function cliIdentity(subject: CliSubject): Identity {
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
