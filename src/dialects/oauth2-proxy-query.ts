/**
 * The query of oauth2-proxy's `/oauth2/auth` as gatehouse's drop-in reads it (issue #19), and the
 * `allowed_*` lists it carries. Pure: no I/O, no HTTP; the dialect (oauth2-proxy.ts) calls it.
 *
 * oauth2-proxy v7.15.6 (`oauthproxy.go`, `authOnlyAuthorize`, `extractAllowedEntities`) reads
 * `allowed_groups`, `allowed_emails` and `allowed_email_domains` with Go's `URL.Query()`: each
 * value is percent-decoded (`+` is a space), split on `,`, empty entries dropped, repeated
 * parameters merged; a user passes when every parameter present has an entry that matches
 * (groups and e-mails compared exactly, case included; domains exactly or, written `.d` or
 * `*.d`, with their subdomains). gatehouse keeps those semantics for every query oauth2-proxy
 * reads unambiguously, and refuses (400) the rest instead of guessing, because each of them opens
 * the application under oauth2-proxy where the author meant to restrict it:
 *
 * - a `;` or a bad escape: Go drops the whole pair (`net/url` since Go 1.17), so the restriction
 *   silently disappears;
 * - a parameter given twice: oauth2-proxy merges the lists, so anything that can add a pair
 *   (nginx interpolates `$host` unescaped, and a `Host` header may carry `&`) widens the list;
 * - a parameter with no entry (`allowed_groups=`): oauth2-proxy reads it as no restriction at all;
 * - an entry with surrounding spaces (`allowed_groups=a, b`): compared exactly, it matches nobody;
 * - a parameter oauth2-proxy does not know, such as the misspelt `allowed_group`: ignored there.
 */
import { malformedRequest } from './dialect.ts';

/** The restrictions an `auth-url` adds on top of being signed in; absent: that check is off. */
export interface AllowedLists {
  readonly groups?: ReadonlySet<string>;
  readonly emails?: ReadonlySet<string>;
  /** `example.com` (that domain), `.example.com` or `*.example.com` (it and its subdomains). */
  readonly emailDomains?: readonly string[];
}

export interface Oauth2ProxyQuery {
  readonly allowed: AllowedLists;
  /**
   * The query names the routed host (`host=`, as `/authz/nginx?host=$host`): gatehouse's
   * policies then apply as well. Its value is read and checked by the nginx dialect.
   */
  readonly routedHost: boolean;
}

/** Query parameter names, as oauth2-proxy spells them, and gatehouse's own `host`. */
const parameters = {
  allowed_groups: 'groups',
  allowed_emails: 'emails',
  allowed_email_domains: 'emailDomains',
  host: 'host',
} as const;
type ParameterName = keyof typeof parameters;

function isParameterName(name: string): name is ParameterName {
  return Object.hasOwn(parameters, name);
}

/** Longer than any real list of groups; bounds the work a hostile query can cause. */
const maxQueryLength = 4096;

/** `example.com`, `.example.com`, `*.example.com`: labels of letters, digits and hyphens. */
const emailDomainEntry =
  /^(?:\.|\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** C0 and C1 controls and DEL (Unicode category Cc): no group or address holds one. */
const controlCharacter = /\p{Cc}/u;

/** Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; here a bad escape or UTF-8 is refused. */
function decodeValue(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    throw malformedRequest(
      `${name} holds a malformed %-escape: oauth2-proxy would drop the whole parameter, ` +
        'and with it the restriction; escape the value correctly',
    );
  }
}

function entriesOf(name: ParameterName, raw: string): string[] {
  const decoded = decodeValue(name, raw);
  if (controlCharacter.test(decoded)) {
    throw malformedRequest(`${name} holds a control character`);
  }
  const entries = decoded.split(',').filter((entry) => entry !== '');
  if (entries.length === 0) {
    throw malformedRequest(
      `${name} is empty: oauth2-proxy reads an empty list as no restriction at all. ` +
        `Name at least one entry (${name}=a,b), or remove the parameter to let every signed-in user in`,
    );
  }
  for (const entry of entries) {
    if (entry.trim() !== entry) {
      throw malformedRequest(
        `${name} entry "${entry}" starts or ends with a space: entries are compared exactly, ` +
          `so it would match nobody; write the list without spaces (${name}=a,b)`,
      );
    }
  }
  return entries;
}

function emailDomainsOf(raw: string): string[] {
  const entries = entriesOf('allowed_email_domains', raw);
  for (const entry of entries) {
    if (!emailDomainEntry.test(entry)) {
      throw malformedRequest(
        `allowed_email_domains entry "${entry}" is not a domain: write example.com for that ` +
          'domain, .example.com for it and its subdomains (ports are not supported)',
      );
    }
  }
  return entries;
}

/**
 * Reads the check's own query (`/oauth2/auth?allowed_groups=admins`); throws the 400 error for
 * anything oauth2-proxy would read as a weaker restriction than the one written.
 */
export function parseOauth2ProxyQuery(target: string): Oauth2ProxyQuery {
  const start = target.indexOf('?');
  if (start === -1) return { allowed: {}, routedHost: false };
  const query = target.slice(start + 1);
  if (query.length > maxQueryLength) {
    throw malformedRequest(`the auth URL's query is longer than ${maxQueryLength} characters`);
  }
  if (query.includes(';') || query.includes('#')) {
    throw malformedRequest(
      `the auth URL's query holds a "${query.includes(';') ? ';' : '#'}": oauth2-proxy would ` +
        'drop the parameter around it, and with it the restriction; separate parameters with "&" only',
    );
  }
  const seen = new Set<ParameterName>();
  const allowed: { groups?: Set<string>; emails?: Set<string>; emailDomains?: string[] } = {};
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = equals === -1 ? pair : pair.slice(0, equals);
    const value = equals === -1 ? '' : pair.slice(equals + 1);
    if (!isParameterName(name)) {
      throw malformedRequest(
        `the auth URL has an unknown parameter "${name.slice(0, 64)}": /oauth2/auth reads ` +
          'allowed_groups, allowed_emails and allowed_email_domains (as oauth2-proxy does) and ' +
          "host (gatehouse's policies, docs/proxy-protocols.md); oauth2-proxy ignores any other " +
          'parameter, so a misspelt restriction would open the application there',
      );
    }
    if (seen.has(name)) {
      throw malformedRequest(
        `the auth URL gives ${name} more than once: oauth2-proxy merges the lists, so whoever ` +
          `can add a parameter widens them; give one list (${name}=a,b)`,
      );
    }
    seen.add(name);
    switch (parameters[name]) {
      case 'groups':
        allowed.groups = new Set(entriesOf(name, value));
        break;
      case 'emails':
        allowed.emails = new Set(entriesOf(name, value));
        break;
      case 'emailDomains':
        allowed.emailDomains = emailDomainsOf(value);
        break;
      case 'host':
        break;
    }
  }
  return { allowed, routedHost: seen.has('host') };
}

/** Whether any of the lists is set: an `auth-url` that restricts more than "signed in". */
export function restricts(allowed: AllowedLists): boolean {
  return (
    allowed.groups !== undefined ||
    allowed.emails !== undefined ||
    allowed.emailDomains !== undefined
  );
}

/**
 * oauth2-proxy's `isHostnameAllowed` for an e-mail domain: equal to the entry without its `.` or
 * `*.`, or, for those two forms, a subdomain of it. Case-sensitive, as there.
 */
function domainAllowed(domain: string, entry: string): boolean {
  if (entry.startsWith('*.')) {
    return domain === entry.slice(2) || domain.endsWith(entry.slice(1));
  }
  if (entry.startsWith('.')) return domain === entry.slice(1) || domain.endsWith(entry);
  return domain === entry;
}

/**
 * Whether a signed-in user meets every list that is set (oauth2-proxy's `authOnlyAuthorize`:
 * `checkAllowedGroups`, `checkAllowedEmailDomains`, `checkAllowedEmails`). The e-mail address is
 * the one gatehouse keeps: only a verified one (OpenID Connect Core §5.1), as it is; without one,
 * an e-mail list is never met.
 */
export function meetsAllowedLists(
  user: { readonly groups: readonly string[]; readonly email?: string | undefined },
  allowed: AllowedLists,
): boolean {
  const { groups, emails, emailDomains } = allowed;
  if (groups !== undefined && !user.groups.some((group) => groups.has(group))) return false;
  const email = user.email;
  if (emailDomains !== undefined) {
    const parts = email?.split('@') ?? [];
    // Exactly one "@" (oauth2-proxy: `len(strings.Split(email, "@")) != 2` fails), and a
    // domain without a port: oauth2-proxy's entries without a port match only port-less domains.
    const domain = parts.length === 2 ? (parts[1] ?? '') : '';
    if (domain === '' || domain.includes(':')) return false;
    if (!emailDomains.some((entry) => domainAllowed(domain, entry))) return false;
  }
  if (emails !== undefined && (email === undefined || !emails.has(email))) return false;
  return true;
}
