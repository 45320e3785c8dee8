import type { Identity } from '../authz/identity.ts';
import { encodeHeaderList, encodeHeaderValue } from './header-value.ts';
import { reservedIdentityHeaderNames } from './reserved-header-names.ts';

/** Identity fields a header can carry; `roles` are the decision's roles, not an identity field. */
export const headerFields = [
  'subject',
  'user',
  'email',
  'name',
  'preferredUsername',
  'givenName',
  'familyName',
  'organisation',
  'organisationName',
  'groups',
  'roles',
  'provider',
] as const;

export type HeaderField = (typeof headerFields)[number];

/**
 * Where a header's value comes from: an identity field, a raw token claim (`claim:<name>`), the
 * roles in geOrchestra's form (`roles:georchestra`), or a fixed text (`literal:<text>`).
 */
export type HeaderSource =
  HeaderField | `claim:${string}` | typeof georchestraRolesSource | `literal:${string}`;

/**
 * The roles as geOrchestra's consumers read `sec-roles`: each name `ROLE_`-prefixed and
 * upper-cased (`-` becoming `_`), joined with `;`. geOrchestra's security-proxy joins the
 * granted authorities with ";" (georchestra/georchestra security-proxy
 * SecurityRequestHeaderProvider.buildRolesList); its gateway splits `preauth-roles` on ";"
 * (georchestra-gateway PreauthAuthenticationManager.map); and its consumers split `sec-roles` on
 * ";" and compare full `ROLE_*` names (console HomeController: `roles.split(";")`,
 * `rolesList.contains("ROLE_MOD_LDAPADMIN")`; the header JSP; camptocamp/nextcloud_georchestra:
 * `explode(";", …)`, `in_array("ROLE_ADMINISTRATOR", …)`). A comma would make geOrchestra's
 * `SecurityHeaders.decode` read the value as several `{base64}` items, so it is never used here.
 */
export const georchestraRolesSource = 'roles:georchestra';

export interface HeaderProfileDefinition {
  readonly name: string;
  /** Header name → source (`HeaderSource`), in the order the headers are sent. */
  readonly headers: Readonly<Record<string, string>>;
}

export type Header = readonly [string, string];

export interface CompiledHeaderProfile {
  readonly name: string;
  readonly headerNames: readonly string[];
  /**
   * Every header of the profile, always, empty when unknown or when there is no identity, so
   * that the proxy overwrites any client copy (Caddy GHSA-7r4p-vjf4-gxv4 shows what happens
   * otherwise). The roles header lists all roles held, including the implicit `guest` and
   * `authenticated`, so an upstream can tell an anonymous request on a guest rule apart.
   * Never throws; allocates only its output.
   */
  render(identity: Identity | null, roles: readonly string[]): readonly Header[];
}

export class HeaderProfileError extends Error {
  override name = 'HeaderProfileError';
}

/** The built-in profiles of docs/architecture.md "Identity". */
export const builtInProfiles = {
  /** oauth2-proxy's `--set-xauthrequest` names. */
  'x-auth-request': {
    name: 'x-auth-request',
    headers: {
      'X-Auth-Request-User': 'user',
      'X-Auth-Request-Email': 'email',
      'X-Auth-Request-Groups': 'groups',
      'X-Auth-Request-Preferred-Username': 'preferredUsername',
      'X-Auth-Request-Roles': 'roles',
    },
  },
  /** Authelia's names, understood by many remote-user backends. */
  remote: {
    name: 'remote',
    headers: {
      'Remote-User': 'user',
      'Remote-Email': 'email',
      'Remote-Groups': 'groups',
      'Remote-Name': 'name',
      'Remote-Roles': 'roles',
    },
  },
  /**
   * geOrchestra's security-proxy names (commons SecurityHeaders: `sec-proxy`, `sec-username`,
   * `sec-email`, `sec-firstname`, `sec-lastname`, `sec-org`, `sec-orgname`, `sec-roles`).
   * `sec-proxy: true` rides on every allowed request, as the security-proxy and the gateway send
   * it (gateway docs "Headers": "Indicates the request comes from the proxy"); `sec-org` is the
   * organisation's id and `sec-orgname` its display name; `sec-roles` is in geOrchestra's form
   * (`georchestraRolesSource`) unless `createHeaderProfiles({ secRoles: 'list' })`.
   */
  sec: {
    name: 'sec',
    headers: {
      'sec-proxy': 'literal:true',
      'sec-username': 'user',
      'sec-email': 'email',
      'sec-firstname': 'givenName',
      'sec-lastname': 'familyName',
      'sec-org': 'organisation',
      'sec-orgname': 'organisationName',
      'sec-roles': georchestraRolesSource,
    },
  },
} as const satisfies Readonly<Record<string, HeaderProfileDefinition>>;

export type BuiltInProfileName = keyof typeof builtInProfiles;

/** RFC 9110 §5.1: a field name is a token. */
const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Names a profile must not set: message framing, routing, credentials and the proxies' own
 * protocol headers. Setting one would break the request, or (through Envoy's remove list and
 * forged-header detection) strip or reject the client's real `Cookie` or `Authorization`.
 */
const reservedNames = new Set([
  'authorization',
  'connection',
  'content-length',
  'content-type',
  'cookie',
  'forwarded',
  'host',
  'keep-alive',
  'location',
  'proxy-authenticate',
  'proxy-authorization',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'www-authenticate',
  'x-real-ip',
  'x-request-id',
  ...reservedIdentityHeaderNames,
]);
const reservedPrefixes = ['x-forwarded-', 'x-original-', 'x-envoy-', ':'];

type Renderer = (identity: Identity | null, roles: readonly string[]) => string;

function claimText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return null;
}

function claimRenderer(claim: string): Renderer {
  return (identity) => {
    if (identity === null || !Object.hasOwn(identity.claims, claim)) return '';
    const value = identity.claims[claim];
    if (Array.isArray(value)) {
      const items: string[] = [];
      for (const item of value as unknown[]) {
        const text = claimText(item);
        if (text !== null) items.push(text);
      }
      return encodeHeaderList(items);
    }
    const text = claimText(value);
    return text === null ? '' : encodeHeaderValue(text);
  };
}

/** Role names the policy schema allows (`rolePattern`); anything else is never sent in a list. */
const roleNameText = /^[A-Za-z0-9:._@-]{1,128}$/;

/** `admin` → `ROLE_ADMIN`, `gn-editor` → `ROLE_GN_EDITOR`; `ROLE_USER` stays as it is. */
export function georchestraRoleName(role: string): string {
  const upper = role.toUpperCase().replaceAll('-', '_');
  return upper.startsWith('ROLE_') ? upper : `ROLE_${upper}`;
}

/** See `georchestraRolesSource`. Renders once per distinct role list (lists are shared). */
export function georchestraRoles(roles: readonly string[]): string {
  const names: string[] = [];
  for (const role of roles) {
    if (!roleNameText.test(role)) continue;
    const name = georchestraRoleName(role);
    if (!names.includes(name)) names.push(name);
  }
  return names.join(';');
}

/** A fixed header value: visible ASCII, inner spaces allowed, at most 256 characters. */
const literalText = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;

function fieldRenderer(field: HeaderField): Renderer {
  switch (field) {
    case 'roles':
      return (_identity, roles) => encodeHeaderList(roles);
    case 'groups':
      return (identity) => (identity === null ? '' : encodeHeaderList(identity.groups));
    default:
      return (identity) => {
        const value = identity?.[field];
        return value === undefined ? '' : encodeHeaderValue(value);
      };
  }
}

function isHeaderField(value: string): value is HeaderField {
  return (headerFields as readonly string[]).includes(value);
}

function compileSource(profile: string, header: string, source: string): Renderer {
  if (source === georchestraRolesSource) {
    return (_identity, roles) => georchestraRoles(roles);
  }
  if (source.startsWith('literal:')) {
    const text = source.slice('literal:'.length);
    if (!literalText.test(text)) {
      throw new HeaderProfileError(
        `identity header profile "${profile}": header "${header}" has a literal that is not 1-256 visible ASCII characters`,
      );
    }
    return () => text;
  }
  if (source.startsWith('claim:')) {
    const claim = source.slice('claim:'.length);
    if (claim === '') {
      throw new HeaderProfileError(
        `identity header profile "${profile}": header "${header}" names an empty claim`,
      );
    }
    return claimRenderer(claim);
  }
  if (!isHeaderField(source)) {
    throw new HeaderProfileError(
      `identity header profile "${profile}": header "${header}" has unknown source "${source}"; ` +
        `use one of ${headerFields.join(', ')}, claim:<name>, ${georchestraRolesSource} or literal:<text>`,
    );
  }
  return fieldRenderer(source);
}

function checkHeaderName(profile: string, header: string): void {
  const problem = (why: string): HeaderProfileError =>
    new HeaderProfileError(`identity header profile "${profile}": header "${header}" ${why}`);
  if (!token.test(header)) throw problem('is not a valid HTTP header name (RFC 9110 §5.1)');
  // nginx drops header names with `_` unless `underscores_in_headers on`, and WSGI/CGI
  // upstreams cannot tell `_` from `-`, which is how forged copies slip through.
  if (header.includes('_')) throw problem('contains "_"; use "-"');
  const lower = header.toLowerCase();
  if (reservedNames.has(lower) || reservedPrefixes.some((prefix) => lower.startsWith(prefix))) {
    throw problem('is reserved for the HTTP or proxy protocol and cannot carry identity');
  }
}

/**
 * Validates a profile once, at configuration time, and returns its renderer. Throws
 * `HeaderProfileError` with a message naming the profile and header at fault.
 */
export function compileHeaderProfile(definition: HeaderProfileDefinition): CompiledHeaderProfile {
  const { name } = definition;
  const entries = Object.entries(definition.headers);
  if (entries.length === 0) {
    throw new HeaderProfileError(`identity header profile "${name}" has no headers`);
  }
  const seen = new Set<string>();
  const renderers: (readonly [string, Renderer])[] = [];
  for (const [header, source] of entries) {
    checkHeaderName(name, header);
    const lower = header.toLowerCase();
    if (seen.has(lower)) {
      throw new HeaderProfileError(
        `identity header profile "${name}": header "${header}" is listed twice`,
      );
    }
    seen.add(lower);
    renderers.push([header, compileSource(name, header, source)]);
  }
  const headerNames = Object.freeze(renderers.map(([header]) => header));
  return Object.freeze({
    name,
    headerNames,
    render(identity: Identity | null, roles: readonly string[]): readonly Header[] {
      return renderers.map(([header, render]): Header => [header, render(identity, roles)]);
    },
  });
}

export interface HeaderProfilesOptions {
  /** Profile used when a policy names none. */
  readonly defaultProfile: string;
  /** Operator-defined profiles: profile name → (header name → source). */
  readonly custom?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * How the `sec` profile sends `sec-roles`: `georchestra` (default: `ROLE_`-prefixed,
   * upper-cased, `;`-joined, as geOrchestra's consumers parse it) or `list` (the role names as
   * they are, comma-separated like every other profile's list).
   */
  readonly secRoles?: 'georchestra' | 'list' | undefined;
}

export interface HeaderProfiles {
  readonly defaultProfile: CompiledHeaderProfile;
  /** The named profile, or the default when the name is absent or unknown. */
  get(name?: string): CompiledHeaderProfile;
  /** For policy validation: whether `spec.identityHeaders` names a profile. */
  has(name: string): boolean;
  readonly names: readonly string[];
  /**
   * Lower-case names of every header of every profile plus the reserved identity headers:
   * the names a client must never send (forged-header detection) and Envoy must remove.
   */
  readonly allHeaderNames: readonly string[];
}

/** Compiles the built-in and custom profiles once; throws `HeaderProfileError` on any mistake. */
export function createHeaderProfiles(options: HeaderProfilesOptions): HeaderProfiles {
  const profiles = new Map<string, CompiledHeaderProfile>();
  for (const definition of Object.values(builtInProfiles)) {
    profiles.set(
      definition.name,
      compileHeaderProfile(
        definition.name === 'sec' && options.secRoles === 'list'
          ? { name: 'sec', headers: { ...definition.headers, 'sec-roles': 'roles' } }
          : definition,
      ),
    );
  }
  for (const [name, headers] of Object.entries(options.custom ?? {})) {
    if (profiles.has(name)) {
      throw new HeaderProfileError(
        `identity header profile "${name}" is built in; give the custom profile another name`,
      );
    }
    profiles.set(name, compileHeaderProfile({ name, headers }));
  }
  const defaultProfile = profiles.get(options.defaultProfile);
  if (defaultProfile === undefined) {
    throw new HeaderProfileError(
      `default identity header profile "${options.defaultProfile}" does not exist; ` +
        `known profiles: ${[...profiles.keys()].join(', ')}`,
    );
  }
  const allHeaderNames = new Set<string>();
  for (const profile of profiles.values()) {
    for (const header of profile.headerNames) allHeaderNames.add(header.toLowerCase());
  }
  for (const header of reservedIdentityHeaderNames) allHeaderNames.add(header);

  return Object.freeze({
    defaultProfile,
    get: (name?: string) =>
      name === undefined ? defaultProfile : (profiles.get(name) ?? defaultProfile),
    has: (name: string) => profiles.has(name),
    names: Object.freeze([...profiles.keys()]),
    allHeaderNames: Object.freeze([...allHeaderNames]),
  });
}
