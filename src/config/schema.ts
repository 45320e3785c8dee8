/**
 * The one configuration schema: every setting, its default and its description (the
 * configuration reference in docs/ is generated from it). Validation messages come from the
 * `errorMessage` option where the generic one would not help an operator; `secret: true`
 * marks values that may also be read from a file (`<name>File`, `…_FILE`) and must never be
 * logged or echoed in a message.
 *
 * Durations are written as text (`30s`) or whole seconds and decode to milliseconds, so the
 * loaded `Config` carries numbers and no consumer parses them again.
 */
import { Type } from '@sinclair/typebox';
import type {
  StaticDecode,
  StaticEncode,
  TLiteral,
  TProperties,
  TSchema,
  TString,
  TUnion,
} from '@sinclair/typebox';
import { DURATION_EXAMPLES, formatDuration, parseDuration } from './duration.ts';
import { bearerAlgorithms } from '../authn/bearer-token.ts';
import { headerFields } from '../identity/header-profiles.ts';
import { Formats } from './formats.ts';

function Section<T extends TProperties>(description: string, properties: T) {
  return Type.Object(properties, { description, default: {}, additionalProperties: false });
}

function Item<T extends TProperties>(description: string, properties: T) {
  return Type.Object(properties, { description, additionalProperties: false });
}

function Duration(defaultValue: string, description: string) {
  return Type.Transform(
    Type.Union([Type.String({ format: Formats.Duration }), Type.Integer({ minimum: 0 })], {
      default: defaultValue,
      description: `${description} A duration (${DURATION_EXAMPLES}) or whole seconds.`,
      errorMessage: `{value} is not a duration (${DURATION_EXAMPLES})`,
    }),
  )
    .Decode((value) => parseDuration(value))
    .Encode((ms) => formatDuration(ms));
}

function Port(defaultValue: number, description: string) {
  return Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: defaultValue,
    description,
    errorMessage: 'must be a port number (1-65535)',
  });
}

function Text(defaultValue: string, description: string) {
  return Type.String({ default: defaultValue, description });
}

/**
 * A setting that may be left unset. Written empty (YAML `""`, an empty environment variable) or
 * left out, it decodes to `undefined` here, once, so that no reader of the configuration has to
 * know that `''` means "not set" (issue #21: it was compared with `''` in a dozen places).
 */
function Unset(schema: TString) {
  return Type.Transform(schema)
    .Decode((value) => (value === '' ? undefined : value))
    .Encode((value) => value ?? '');
}

/** An optional text: unset when written empty; its default may be a value or empty. */
function OptionalText(description: string, defaultValue = '') {
  return Unset(Type.String({ default: defaultValue, description }));
}

/**
 * A file or folder path. Written in the configuration file, a relative path is read from the
 * file's own folder (load.ts), so a configuration and the files it names move together; from an
 * environment variable or the default, it is relative to the working directory.
 */
function PathText(defaultValue: string, description: string) {
  return Type.String({ default: defaultValue, description, pathSetting: true });
}

/** An optional file or folder path (see PathText), unset when empty. */
function OptionalPath(description: string) {
  return Unset(Type.String({ default: '', description, pathSetting: true }));
}

function Flag(defaultValue: boolean, description: string) {
  return Type.Boolean({ default: defaultValue, description });
}

function Secret(description: string) {
  return Unset(
    Type.String({
      default: '',
      description: `${description} Secret: may be given as a file instead (\`<name>File\` in YAML, \`…_FILE\` in the environment).`,
      secret: true,
    }),
  );
}

/** A tuple of literal schemas, so `Static` of the union is the literal union, not `never`. */
type LiteralTuple<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

function OneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  defaultValue: T[number],
  description: string,
): TUnion<LiteralTuple<T>> {
  const literals = values.map((value) => Type.Literal(value));
  return Type.Union(literals, { default: defaultValue, description }) as unknown as TUnion<
    LiteralTuple<T>
  >;
}

function HttpUrl(description: string, defaultValue?: string) {
  return Type.String({
    format: Formats.HttpUrl,
    description,
    errorMessage: 'must be an absolute http(s) URL',
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

function HostPort(defaultPort: number, description: string) {
  return Item(description, {
    host: Type.String({ minLength: 1, description: 'Host name or IP address.' }),
    port: Port(defaultPort, 'TCP port.'),
  });
}

function Listener(defaultPort: number, description: string) {
  return Section(description, {
    host: Text('0.0.0.0', 'Address to listen on (`0.0.0.0` all IPv4, `::` all IPv6 and IPv4).'),
    port: Port(defaultPort, 'TCP port to listen on.'),
  });
}

/**
 * JOSE algorithms accepted for bearer tokens: the asymmetric ones the authenticator knows
 * (authn/bearer-token.ts, the one list). HS* would let anyone holding the shared secret mint
 * tokens, and `none` is unsigned (RFC 8725 §2.1, §3.1).
 */
export const BearerAlgorithms = bearerAlgorithms;

/** Identity fields a custom identity header may carry (identity/header-profiles.ts). */
export const CustomHeaderFields = headerFields;

const CustomHeaderValue = Type.Union(
  [
    ...CustomHeaderFields.map((field) => Type.Literal(field)),
    Type.String({ pattern: '^claim:\\S+$' }),
    Type.Literal('roles:georchestra'),
    Type.String({ pattern: '^literal:[\\x21-\\x7e]([\\x20-\\x7e]{0,254}[\\x21-\\x7e])?$' }),
  ],
  {
    description:
      'The identity field sent in this header, `claim:<name>` for a raw claim, `roles:georchestra` for geOrchestra-style roles, or `literal:<text>` for a fixed value.',
    errorMessage: `must be one of ${CustomHeaderFields.join(', ')}, claim:<name>, roles:georchestra or literal:<text>`,
  },
);

export const ConfigSchema = Type.Object(
  {
    publicUrl: HttpUrl(
      "gatehouse's external base URL: sign-in links, OIDC redirect URIs and the issuer of the signed identity assertion are built from it.",
      'http://auth.localhost:8080',
    ),

    listeners: Section('Where gatehouse listens.', {
      main: Listener(8080, 'The auth and sign-in endpoints, reached by the ingress and browsers.'),
      operations: Listener(
        9090,
        '`/metrics`, `/healthz` and `/readyz`; never expose it through the ingress.',
      ),
    }),

    server: Section('HTTP server limits of both listeners.', {
      requestTimeout: Duration(
        '10s',
        'Time allowed to receive a whole request (Node `server.requestTimeout`; 0 disables).',
      ),
      headersTimeout: Duration(
        '5s',
        'Time allowed to receive the request headers (Node `server.headersTimeout`).',
      ),
      keepAliveTimeout: Duration(
        '65s',
        'Idle keep-alive time; keep it above the proxy upstream keep-alive (nginx 60s) so the proxy closes first.',
      ),
      maxHeaderSize: Type.Integer({
        minimum: 1024,
        default: 16384,
        description: 'Largest accepted request header block in bytes (Node `maxHeaderSize`).',
      }),
      shutdownDelay: Duration(
        '5s',
        'On SIGTERM, how long `/readyz` fails before the listeners close, so endpoints drop the pod first.',
      ),
      shutdownTimeout: Duration(
        '20s',
        'On SIGTERM, how long in-flight requests may take to finish before connections are cut.',
      ),
    }),

    trustedProxies: Type.Array(
      Type.String({
        format: Formats.IpOrCidr,
        errorMessage: '{value} is not an IP address or CIDR',
      }),
      {
        default: [],
        description:
          'Addresses (IPs or CIDRs) whose `X-Forwarded-*` and `X-Real-IP` headers are believed. Empty: none.',
      },
    ),

    dialects: Section('How the check endpoints read what each proxy sends.', {
      nginx: Section('`/authz/nginx` (ingress-nginx `auth-url`, any nginx `auth_request`).', {
        requireRoutedHost: Flag(
          true,
          "Refuse a check whose `auth-url` does not carry the host nginx routed (`?host=$host`). nginx builds `X-Original-URL` from the client's `Host` header, which differs from the routed host when the request line is absolute (`GET http://a/ HTTP/1.1` + `Host: b`); without `?host=$host` gatehouse cannot tell. Turn off only when your own nginx configuration builds `X-Original-URL` from `$host`.",
        ),
      }),
    }),

    log: Section(
      'Logging: one JSON object per line on stdout (pipe it through `pino-pretty` to read it by eye).',
      {
        level: OneOf(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          'info',
          'Lowest level written.',
        ),
      },
    ),

    policy: Section('Where access policies come from.', {
      source: OneOf(
        ['files', 'kubernetes'],
        'files',
        '`files` reads CRD manifests from a directory (local runs); `kubernetes` watches the custom resources.',
      ),
      files: Section('Policy manifests on disk.', {
        directory: PathText(
          'examples/policies',
          'Directory of YAML manifests (`*.yaml`, `*.yml`); in a configuration file, relative to its folder.',
        ),
        watch: Flag(true, 'Reload when a file changes.'),
      }),
      kubernetes: Section('Policy custom resources in the cluster.', {
        hostOwnership: Flag(
          true,
          'A namespaced AccessPolicy governs a host only if its namespace owns it (the earliest Ingress or HTTPRoute that gatehouse protects declaring the host is in that namespace) or a HostDelegation names the namespace. Turn off only for single-tenant clusters.',
        ),
        namespaces: Type.Array(Type.String({ format: Formats.DnsLabel }), {
          default: [],
          description: 'Namespaces to watch. Empty: all namespaces.',
        }),
        ingressClassNames: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
          default: [],
          description:
            'IngressClasses whose Ingresses gatehouse protects: only an Ingress of one of these classes (or, without a class, of the default IngressClass) makes its namespace own its hosts. Empty: any IngressClass that exists in the cluster. Set it to the classes of the controllers that call gatehouse.',
        }),
        gateways: Type.Array(Type.String({ pattern: '^[a-z0-9-]{1,63}/[a-z0-9.-]{1,253}$' }), {
          default: [],
          description:
            'Gateways (`namespace/name`) whose routes gatehouse protects: only an HTTPRoute that one of them has `Accepted` (route status) makes its namespace own its hostnames. Empty: any Gateway.',
        }),
        leaseName: Text(
          'gatehouse-status-writer',
          'Lease that elects the one replica writing resource status.',
        ),
        leaseNamespace: OptionalText("Namespace of the lease. Empty: gatehouse's own namespace."),
        kubeconfig: OptionalPath(
          'Path of a kubeconfig file, for runs outside a cluster. Empty: the in-cluster service account (token and CA mounted in the pod).',
        ),
        resyncPeriod: Duration(
          '5m',
          'How often to look again for the Gateway API (so installing it later works) and to re-check every status, in case a write was lost.',
        ),
        watchdogTimeout: Duration(
          '5m',
          'Restart a watch that delivered no event and no bookmark for this long (watches can stop silently: kubernetes-client/javascript issues 364, 596, 958). Keep it above the API server bookmark interval (about 1m).',
        ),
        statusWriter: Flag(
          true,
          'Write `status` (Ready condition, counts) and Warning Events on the policy objects, from the one replica holding the Lease. Off: read-only (no Lease, no writes).',
        ),
        podNamespace: OptionalText(
          "gatehouse's own namespace, for the Lease and for Events about cluster-scoped objects; set it from the downward API (`metadata.namespace`). Empty: the service account's namespace file, else `default`.",
        ),
        identity: OptionalText(
          "This replica's name in the Lease; set it from the downward API (`metadata.name`). Empty: the host name plus a random suffix.",
        ),
        leaseDuration: Duration(
          '15s',
          'How long a Lease holder that stopped renewing keeps it before another replica may take over.',
        ),
        leaseRenewInterval: Duration(
          '5s',
          'How often the holder renews the Lease (and others try to acquire it); well below leaseDuration.',
        ),
      }),
    }),

    authz: Section('Decision defaults.', {
      noMatch: OneOf(
        ['deny', 'authenticate', 'allow'],
        'deny',
        'Outcome when no rule matches: `deny` (403), `authenticate` (any signed-in user) or `allow`.',
      ),
      superRole: OptionalText('Role that satisfies every rule. Empty: no super role.', 'admin'),
      unqualifiedSubjectSources: Type.Array(
        Type.String({
          pattern: '^((provider|issuer)/[a-z0-9]([a-z0-9-]*[a-z0-9])?|preauth|basic)$',
          errorMessage: 'must be provider/<name>, issuer/<name>, preauth or basic',
        }),
        {
          default: [],
          description:
            'Identity sources that RoleMapping subjects without `sources` match: `provider/<name>`, `issuer/<name>`, `preauth`, `basic`. Empty: the first OpenID provider only (none without providers), so adding a provider, an issuer or a pre-authentication front never hands out existing roles. Listing more sources makes their users namesakes of each other: a `bob` from any of them gets the roles mapped to `User bob`.',
        },
      ),
    }),

    identityHeaders: Section('Identity headers sent to the upstream.', {
      profile: OneOf(
        ['x-auth-request', 'remote', 'sec', 'custom'],
        'x-auth-request',
        'Header set used unless a policy names another.',
      ),
      custom: Type.Record(Type.String(), CustomHeaderValue, {
        default: {},
        description:
          'Headers of the `custom` profile: header name → identity field or `claim:<name>`.',
        envKeyStyle: 'header',
      }),
      secRoles: OneOf(
        ['georchestra', 'list'],
        'georchestra',
        "How the `sec` profile sends `sec-roles`: `georchestra` (`ROLE_`-prefixed, upper-cased, `-` as `_`, joined with `;`, as geOrchestra's applications parse it) or `list` (the role names, comma-separated).",
      ),
      rejectClientCopies: Flag(
        true,
        'Deny requests that carry their own copy of an identity header in a spelling a proxy may not strip.',
      ),
      assertion: Section('The signed identity assertion (`X-Gatehouse-Assertion`, ES256 JWT).', {
        enabled: Flag(false, 'Send the assertion.'),
        ttl: Duration('60s', 'Lifetime of each assertion.'),
        signingKeyFile: OptionalPath('PEM file of the current ES256 private key.'),
        generateKey: Flag(
          false,
          'Without a key file, sign with a key generated at start (local runs and single replicas only: upstreams must refetch the JWKS after every restart).',
        ),
        previousKeyFiles: Type.Array(Type.String({ minLength: 1, pathSetting: true }), {
          default: [],
          description:
            'PEM files of earlier keys, still published at `/.well-known/jwks.json` during a rotation.',
        }),
      }),
    }),

    routes: Section('Paths of the sign-in endpoints.', {
      prefix: Type.String({
        pattern: '^(/[^/\\s?#]+)+$',
        default: '/oauth2',
        description: 'Prefix of `start`, `callback`, `sign_out`, `userinfo`…',
        errorMessage: 'must start with "/" and not end with "/" (e.g. /oauth2)',
      }),
    }),

    pages: Section('Pages shown to people.', {
      forbiddenContact: Text(
        'If you think you should have access, ask the owner of this application or your platform team, and quote the request id below.',
        'Text on the 403 page telling a denied person whom to ask.',
      ),
      // Branding (issue #18): plain values only. The colour is a hex colour so nothing can be
      // injected into the stylesheet; texts are escaped; the logo is an https URL (allowed by
      // the pages' Content-Security-Policy for its origin only) or a small file embedded as a
      // data: URI (read at start, http/sign-in/page-branding.ts).
      title: Unset(
        Type.String({
          default: '',
          maxLength: 80,
          description:
            'Name shown at the top of every page (chooser, 403, portal, signed out) and in the browser tab, e.g. your organisation. Empty: none.',
          errorMessage: 'must be at most 80 characters',
        }),
      ),
      colour: Unset(
        Type.String({
          default: '',
          pattern: '^(#[0-9A-Fa-f]{3}|#[0-9A-Fa-f]{6})?$',
          description:
            'Colour of buttons and of the header rule, as a CSS hex colour (`#1d4ed8` or `#14b`); the button text is white or black, whichever contrasts more. Empty: gatehouse blue.',
          errorMessage: 'must be a CSS hex colour such as #1d4ed8 or #14b',
        }),
      ),
      footer: Unset(
        Type.String({
          default: '',
          maxLength: 500,
          description:
            'Plain text at the bottom of every page (support contact, legal notice). Shown as text, never as HTML. Empty: none.',
          errorMessage: 'must be at most 500 characters of plain text',
        }),
      ),
      logo: Unset(
        Type.String({
          default: '',
          // A pattern rather than the http-url format: https only (an http logo on an https page
          // is mixed content, which browsers block), and no user name or password in it.
          pattern: '^(https://[^\\s/?#@]+(/\\S*)?)?$',
          description:
            "https URL of a logo shown at the top of every page; the pages' Content-Security-Policy allows images from that origin. Empty: no logo, unless `logoFile` is set.",
          errorMessage: 'must be an https:// URL of an image (or empty)',
        }),
      ),
      logoFile: OptionalPath(
        'A logo file (PNG, JPEG, GIF, WebP or SVG, at most 64 KiB) read at start and embedded in every page as a `data:` URI, so no other origin is needed. Set `logo` or `logoFile`, not both.',
      ),
    }),

    redirects: Section('Where sign-in and sign-out may send the browser afterwards.', {
      allowedDomains: Type.Array(
        Type.String({
          format: Formats.Domain,
          errorMessage: '{value} is not a domain (app.example.com, or .example.com for subdomains)',
        }),
        {
          default: [],
          description:
            '`app.example.com` allows that host; `.example.com` allows the domain and its subdomains. Empty: the cookie domains (`sessions.cookie.domain` or `domains`) with their subdomains, or, with neither, the public URL host only. The sign-in hosts (`publicUrl`, `sessions.cookie.signInUrls`) are always allowed.',
        },
      ),
      defaultUrl: Unset(
        Type.String({
          format: Formats.HttpUrlOrEmpty,
          default: '',
          description: 'Destination when none is given. Empty: the public URL.',
          errorMessage: 'must be empty or an absolute http(s) URL',
        }),
      ),
      allowHttp: Flag(
        false,
        'Allow plain `http://` destinations although the public URL is https. Off: such a destination is refused (the browser goes to `defaultUrl`), so sign-in never ends on an unencrypted page an SSL-stripping attacker could hold. Over an http public URL (local runs) http destinations are always allowed.',
      ),
    }),

    signIn: Section(
      'Limits on starting sign-ins: each `<prefix>/start` stores a login state for `sessions.loginStateTtl`, so a flood must be refused (HTTP 429 with `Retry-After`, counted in `gatehouse_sign_in_refusals_total`) before it fills the store.',
      {
        clientRateLimit: Type.Integer({
          minimum: 0,
          default: 20,
          description:
            'Sign-ins one client may start per `clientRateWindow` (0: no limit). The client is the address the `trustedProxies` report (an IPv6 client counts by its /64); put your ingress in `trustedProxies`, or every user shares the ingress address and this budget.',
        }),
        clientRateWindow: Duration('1m', 'The window of `clientRateLimit`.'),
        maxPending: Type.Integer({
          minimum: 0,
          default: 10000,
          description:
            'Most sign-ins pending at once across all replicas (started, neither completed nor expired; about 500 bytes of store each); further starts are refused until one completes or expires (0: no limit).',
        }),
      },
    ),

    bearer: Section('Bearer JWTs (RFC 6750) accepted from API clients.', {
      issuers: Type.Array(
        Item('A trusted token issuer.', {
          name: Type.String({
            format: Formats.DnsLabel,
            description: 'Short name shown in logs and metrics.',
            errorMessage: 'must be a DNS label (lower-case letters, digits, inner hyphens)',
          }),
          issuer: HttpUrl('Expected `iss` claim.'),
          audiences: Type.Array(Type.String({ minLength: 1 }), {
            minItems: 1,
            description: 'Accepted `aud` values; a token must name at least one.',
          }),
          jwksUri: Type.Optional(
            HttpUrl(
              'JWKS URL. Omitted: the `jwks_uri` of the OpenID discovery document of the issuer (`<issuer>/.well-known/openid-configuration`); set it only for an issuer without one.',
            ),
          ),
          algorithms: Type.Array(
            Type.Union(
              BearerAlgorithms.map((alg) => Type.Literal(alg)),
              { errorMessage: `must be one of ${BearerAlgorithms.join(', ')} (never HS* or none)` },
            ),
            {
              minItems: 1,
              default: ['RS256', 'ES256'],
              description: 'Accepted signature algorithms (asymmetric only).',
            },
          ),
          clockSkew: Duration('30s', 'Tolerance for `exp`/`nbf`/`iat`, at most 5m.'),
          claims: Section('Claims that fill the identity.', {
            username: Text('sub', 'Claim of the user name.'),
            email: Text('email', 'Claim of the e-mail address.'),
            groups: Text('groups', 'Claim of the group list.'),
            groupsSeparator: OptionalText(
              'Split a groups claim that is ONE string on exactly this text (e.g. `;`). Empty: such a string is one group. Arrays are never split.',
            ),
            name: Text('name', 'Claim of the display name.'),
            organisation: OptionalText(
              'Claim of the organisation (`Organisation` subjects). Empty: none.',
            ),
          }),
          allowUnverifiedEmail: Flag(
            false,
            "Keep e-mail addresses without `email_verified: true` (OpenID Connect Core §5.1). A risk: whoever can put an address into this issuer's tokens holds every role mapped to it and to its domain.",
          ),
        }),
        { default: [], description: 'Trusted issuers. Empty: bearer tokens are not accepted.' },
      ),
      cache: Section('Cache of verified tokens.', {
        enabled: Flag(true, 'Cache verification results until the token expires.'),
        maxEntries: Type.Integer({ minimum: 1, default: 10000, description: 'Cache size.' }),
      }),
    }),

    sessions: Section('Browser sessions.', {
      store: OneOf(
        ['memory', 'redis'],
        'memory',
        '`redis` for any real deployment; `memory` only for one replica and tests.',
      ),
      cookie: Section('The session cookie.', {
        name: Type.String({
          pattern: "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$",
          default: '_gatehouse',
          description: 'Cookie name (an RFC 6265 token; `__Host-` and `__Secure-` prefixes work).',
          errorMessage: "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
        }),
        domain: Unset(
          Type.String({
            format: Formats.DomainOrEmpty,
            default: '',
            description:
              'Cookie domain, for one sign-in across subdomains. Empty: the public URL host only. For applications under several domains, use `domains` instead (not both).',
            errorMessage: 'must be empty or a domain (example.com)',
          }),
        ),
        domains: Type.Array(
          Type.String({
            format: Formats.Domain,
            errorMessage: '{value} is not a domain (example.com)',
          }),
          {
            default: [],
            description:
              "Several cookie domains (`[example.com, example.org]`), for applications under domains that share no parent; instead of `domain`. A browser takes a cookie for a domain only from a host inside it (RFC 6265 §5.3), so every domain has its own sign-in host: the one of `publicUrl` for the domain holding it, an entry of `signInUrls` for each other. The session cookie set on a sign-in host gets the domain containing that host. A person signs in once per domain (the provider's single sign-on makes the second one a redirect), and signs out per domain. No domain may be a public suffix, repeat, or contain another.",
          },
        ),
        signInUrls: Type.Array(
          Type.String({
            format: Formats.HttpUrl,
            errorMessage: '{value} is not an absolute http(s) URL',
          }),
          {
            default: [],
            description:
              "With `domains`: gatehouse's base URL in each cookie domain that does not hold `publicUrl`'s host (`https://auth.example.org`), same scheme as `publicUrl`, one per domain. Route `routes.prefix` on each host to gatehouse with the `Host` header unchanged, and register `<url><routes.prefix>/callback` (and `<url><routes.prefix>/signed-out` for RP-initiated logout) at every provider, as for `publicUrl`. A sign-in for an application under a domain runs on that domain's host (`<prefix>/start` elsewhere sends the browser there); sign-in routes reached on any other host answer 421.",
          },
        ),
        secure: Flag(true, 'Send the cookie over HTTPS only.'),
        sameSite: OneOf(['lax', 'strict', 'none'], 'lax', 'The `SameSite` attribute.'),
      }),
      idleTimeout: Duration('8h', 'A session unused this long ends.'),
      absoluteLifetime: Duration('7d', 'A session ends this long after sign-in, used or not.'),
      cache: Section('Per-replica cache of sessions read from the store.', {
        ttl: Duration('5s', 'How long a replica trusts its cached copy (0 disables).'),
        maxEntries: Type.Integer({
          minimum: 0,
          default: 10000,
          description: 'Cache size (0 disables).',
        }),
      }),
      redis: Section('Redis connection (when `store: redis`).', {
        url: Type.String({
          format: Formats.RedisUrlOrEmpty,
          default: 'redis://127.0.0.1:6379',
          description: 'Standalone server URL (`redis://` or `rediss://` for TLS).',
          errorMessage: 'must be a redis:// or rediss:// URL',
        }),
        mode: OneOf(['standalone', 'sentinel', 'cluster'], 'standalone', 'Deployment topology.'),
        sentinels: Type.Array(HostPort(26379, 'A Sentinel.'), {
          default: [],
          description: 'Sentinels (`mode: sentinel`).',
        }),
        sentinelName: Text('mymaster', 'Name of the monitored master (`mode: sentinel`).'),
        sentinelUsername: OptionalText(
          "ACL user name for the Sentinels themselves (`mode: sentinel`). Empty: the Sentinels' default user.",
        ),
        sentinelPassword: Secret(
          "Password of the Sentinels themselves (`mode: sentinel`; Sentinel's `requirepass`, which Bitnami's chart sets to the Redis password by default), not of the Redis servers (`password`). Empty: the Sentinels accept connections without one.",
        ),
        clusterNodes: Type.Array(HostPort(6379, 'A cluster node.'), {
          default: [],
          description: 'Seed nodes (`mode: cluster`).',
        }),
        username: OptionalText('ACL user name. Empty: the default user.'),
        password: Secret('Password (ACL or `requirepass`).'),
        tls: Flag(false, 'Connect with TLS.'),
        keyPrefix: Text('gatehouse:', 'Prefix of every key, so several instances share a Redis.'),
      }),
      loginStateTtl: Duration('10m', 'How long a started sign-in may take.'),
      refreshMargin: Duration(
        '0s',
        "Renew a session's access token with its refresh token when it expires within this margin, one request per session at a time (0 disables; token pass-through needs it).",
      ),
      revalidateInterval: Duration(
        '5m',
        'Re-validate a session with its provider this long after it was last validated (refresh token grant, or userinfo without a refresh token), under the refresh lock: groups and claims are replaced, and a refusal ends the session, so a group removed or an account disabled at the provider takes effect (0 disables).',
      ),
    }),

    providers: Type.Array(
      Item('An OpenID Provider users sign in with.', {
        name: Type.String({
          format: Formats.DnsLabel,
          description: 'Short name, used in URLs and logs.',
          errorMessage: 'must be a DNS label (lower-case letters, digits, inner hyphens)',
        }),
        displayName: OptionalText('Name shown on the sign-in page. Empty: `name`.'),
        issuer: HttpUrl('Issuer URL (OpenID discovery runs against it).'),
        clientId: Type.String({ minLength: 1, description: 'OAuth client id.' }),
        clientSecret: Secret('OAuth client secret. Empty: a public client (PKCE only).'),
        tokenEndpointAuthMethod: OneOf(
          ['client_secret_basic', 'client_secret_post'],
          'client_secret_basic',
          'How the client secret reaches the token endpoint (OAuth 2.0 client authentication, RFC 6749 §2.3.1; OpenID Connect Core §9): HTTP Basic (the default every provider must support), or in the request body for providers that only accept that. Ignored for a public client.',
        ),
        scopes: Type.Array(Type.String({ minLength: 1 }), {
          default: ['openid', 'email', 'profile'],
          description: 'Requested scopes; must include `openid`.',
        }),
        authorizationParams: Type.Record(Type.String(), Type.String(), {
          default: {},
          description: 'Extra authorization request parameters (`prompt`, `acr_values`…).',
        }),
        claims: Section('Claims that fill the identity.', {
          username: Text('preferred_username', 'Claim of the user name.'),
          email: Text('email', 'Claim of the e-mail address.'),
          name: Text('name', 'Claim of the display name.'),
          groups: Text('groups', 'Claim of the group list.'),
          groupsSeparator: OptionalText(
            'Split a groups claim that is ONE string on exactly this text (e.g. `;`). Empty: such a string is one group. Arrays are never split.',
          ),
          organisation: OptionalText(
            "Claim of the user's organisation (dotted paths allowed): the identity's `organisation`, matched by `Organisation` subjects and sent as `sec-org`. Empty: none.",
          ),
          organisationName: OptionalText(
            "Claim of the organisation's display name, sent as geOrchestra's `sec-orgname`. Empty: none.",
          ),
        }),
        domains: Type.Array(
          Type.String({
            maxLength: 253,
            pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$',
            errorMessage: '{value} is not a lower-case domain name (partner.com)',
          }),
          {
            default: [],
            maxItems: 64,
            description:
              'Home-realm discovery: e-mail domains (exact, no subdomains) whose people sign in with this provider; the chooser then takes an e-mail address and sends them straight here with `login_hint`.',
          },
        ),
        endSession: Flag(false, 'Sign out at the provider too (RP-initiated logout).'),
        enabled: Flag(true, 'Offer this provider.'),
        allowUnverifiedEmail: Flag(
          false,
          "Keep e-mail addresses the provider does not mark `email_verified: true` (OpenID Connect Core §5.1), for providers that never send the claim. A risk: whoever can put an address into this provider's tokens is announced upstream under it and holds every role mapped to it and to its domain.",
        ),
      }),
      { default: [], description: 'OpenID Providers for browser sign-in.' },
    ),

    preAuthentication: Section(
      'Trusted pre-authentication: a site behind another SSO front (geOrchestra security proxy, an Apache doing Kerberos or client certificates) names the user in request headers.',
      {
        enabled: Flag(false, 'Accept pre-authentication headers.'),
        trustedProxies: Type.Array(
          Type.String({
            format: Formats.IpOrCidr,
            errorMessage: '{value} is not an IP address or CIDR',
          }),
          {
            default: [],
            description:
              'Addresses (IPs or CIDRs) of the SSO fronts, matched against the CLIENT address as the ingress reports it (so the ingress must be in `trustedProxies`). Headers from any other client are ignored and counted.',
          },
        ),
        sharedSecretHeader: Text(
          'x-gatehouse-preauth-secret',
          'Header carrying the shared secret; the front sets it, and the ingress must strip it from client requests.',
        ),
        sharedSecret: Secret(
          'The shared secret the front sends (at least 16 characters), compared in constant time.',
        ),
        remoteUserHeader: OptionalText(
          'A plain remote-user header (e.g. `remote-user`) accepted besides the geOrchestra `sec-georchestra-preauthenticated` / `preauth-*` set. Empty: only the geOrchestra set.',
        ),
        groupsHeader: OptionalText(
          'Comma-separated groups of the pre-authenticated user (elements may be `{base64}`). Empty: no groups.',
          'preauth-groups',
        ),
      },
    ),

    basicAuth: Section(
      'HTTP Basic authentication (RFC 7617) for machine clients, against an htpasswd file of bcrypt entries; roles come from RoleMappings with `User` subjects.',
      {
        enabled: Flag(false, 'Accept `Authorization: Basic` credentials.'),
        htpasswdFile: OptionalPath(
          'The htpasswd file (a mounted Secret). Only bcrypt entries (`htpasswd -B`); any other entry stops the start with its line number.',
        ),
        realm: Text('gatehouse', 'Realm of the `WWW-Authenticate: Basic` challenge.'),
        throttle: Section(
          'Brute-force regulation (like Authelia): failures counted per user and per client address in Redis (or memory with `sessions.store: memory`).',
          {
            maxRetries: Type.Integer({
              minimum: 1,
              default: 3,
              description: 'Failures within `findTime` that ban the user or address.',
            }),
            findTime: Duration('2m', 'Window in which failures are counted.'),
            banTime: Duration('5m', 'How long a ban lasts.'),
          },
        ),
      },
    ),

    impersonation: Section(
      'Impersonation ("switch user"): a user holding `role` may act as another user through `<prefix>/impersonate`.',
      {
        enabled: Flag(false, 'Offer impersonation.'),
        role: Type.String({
          pattern: '^[A-Za-z0-9:._@-]{1,128}$',
          default: 'impersonator',
          description:
            'Cluster-scope role (from ClusterRoleMappings) allowed to impersonate. Holders of `authz.superRole` can only be impersonated by holders of it.',
          errorMessage: 'must be a role name (letters, digits and ":._@-")',
        }),
      },
    ),

    devIdentityProvider: Section(
      'An embedded OpenID Provider with test users, started by `make run` (dev/run-local.ts) only: `gatehouse serve` never starts it and warns when it is enabled.',
      {
        enabled: Flag(false, 'Start it.'),
        port: Port(9400, 'Port it listens on (127.0.0.1).'),
      },
    ),

    tracing: Section(
      'OpenTelemetry traces of the checks (issue #20), exported over OTLP/HTTP: one span per check with child spans for authentication, the session store, provider calls and the decision. Off: the SDK is not even loaded. docs/monitoring.md "Tracing" lists the spans and their attributes.',
      {
        enabled: Flag(false, 'Record and export traces.'),
        endpoint: Unset(
          Type.String({
            format: Formats.HttpUrlOrEmpty,
            default: '',
            description:
              'OTLP/HTTP traces URL of the collector, used as written (`http://otel-collector:4318/v1/traces`). Empty: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces` (the OpenTelemetry exporter specification).',
            errorMessage: 'must be empty or an absolute http(s) URL',
          }),
        ),
        serviceName: Type.String({
          minLength: 1,
          default: 'gatehouse',
          description: 'The `service.name` resource attribute of every span.',
        }),
        sampleRatio: Type.Number({
          minimum: 0,
          maximum: 1,
          default: 1,
          description:
            "Share of the checks that arrive without a trace context to record (0 to 1). A check whose proxy sent `traceparent` follows the proxy's sampling decision instead (parent-based sampling).",
          errorMessage: 'must be a number from 0 to 1',
        }),
        headers: Secret(
          "HTTP headers of every export request, for the collector's authentication: `name=value` pairs separated by commas, values percent-encoded (the `OTEL_EXPORTER_OTLP_HEADERS` format), e.g. `authorization=Bearer%20abc`. Added to those of `OTEL_EXPORTER_OTLP_HEADERS`.",
        ),
      },
    ),
  },
  { additionalProperties: false, description: 'gatehouse configuration.' },
);

/** The configuration as written (YAML, environment): durations are text. */
export type ConfigInput = StaticEncode<typeof ConfigSchema>;

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The loaded, validated and frozen configuration: durations are milliseconds. */
export type Config = DeepReadonly<StaticDecode<typeof ConfigSchema>>;

/** Whether a schema node holds a secret (never logged; may be read from a file). */
export function isSecret(schema: TSchema): boolean {
  return (schema as { secret?: unknown }).secret === true;
}
