/**
 * The four custom resources of `gatehouse.dev/v1alpha1`, defined once.
 *
 * These TypeBox schemas are the single source for the TypeScript types (`Static`), for the
 * validation of files (policy/validate.ts) and, later, for the generated CRD manifests. They
 * therefore only use constructs that map to Kubernetes *structural* OpenAPI v3 schemas
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * objects with explicit properties, bounded arrays and strings, and string enums written as a
 * union of string literals (the CRD generator turns such a union into `type: string` + `enum`).
 * Every list and string has a bound so the API server can estimate the cost of the CEL rules
 * (KEP-2876). Cross-field rules are attached as `x-kubernetes-validations` and are re-checked in
 * TypeScript by validate.ts, because files never pass through an API server.
 */
import { Type } from '@sinclair/typebox';
import type { Static, TLiteral, TSchema, TUnion } from '@sinclair/typebox';

export const group = 'gatehouse.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}` as const;

/** Union of string literals: `enum` in OpenAPI, a literal union in TypeScript. */
function stringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((value: T[number]) => Type.Literal(value)),
    options,
  );
}

// ---------------------------------------------------------------------------------------------
// Patterns. Each has a human explanation used in validation messages (patternMessages below).
// ---------------------------------------------------------------------------------------------

/** DNS-1123 label (RFC 1123 §2.1 as restricted by Kubernetes): rule names, namespaces. */
export const dnsLabelPattern = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
/** DNS-1123 subdomain: object names. */
export const dnsSubdomainPattern =
  '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$';
/** Lower-case DNS host name, optionally with one leading `*.` wildcard label. No port. */
export const hostPattern =
  '^(\\*\\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$';
export const rolePattern = '^[A-Za-z0-9:._@-]{1,128}$';
export const profilePattern = '^[a-z0-9-]{1,63}$';
export const pathValuePattern = '^/';
/**
 * A header name to match (RFC 9110 §5.1 token) without `_`: nginx drops such headers by default
 * and CGI/WSGI upstreams read `_` and `-` alike, so a rule on `X_Debug` would judge a header the
 * upstream may never see, or see under another name.
 */
export const matchHeaderNamePattern = "^[A-Za-z0-9!#$%&'*+.^`|~-]+$";
/**
 * A query parameter name as the upstream reads it (percent-decoded): no space, control
 * character, `&`, `=`, `;` or `#`, which separate or end parameters (and `;` separates them for
 * some readers only, so gatehouse refuses to guess: query.ts).
 */
export const queryParamNamePattern = '^[^\\x00-\\x20\\x7f&=;#]+$';
/**
 * `maxAge`: how long ago the sign-in may have happened. The configuration's duration syntax
 * (config/duration.ts) restricted to whole seconds, the unit of `max_age` (OpenID Connect Core
 * §3.1.2.1) and `auth_time`; at most 366 days.
 */
export const maxAgePattern =
  '^([0-9]{1,8}|([0-9]{1,4}d)?([0-9]{1,4}h)?([0-9]{1,5}m)?([0-9]{1,6}s)?)$';

/**
 * An `acr` or `amr` value as it travels in `acr_values` (OpenID Connect Core §3.1.2.1: a
 * space-separated list) and in RFC 9470's challenge (a quoted string): printable ASCII without
 * space, double quote or backslash.
 */
export const authenticationValuePattern = '^[!#-\\[\\]-~]{1,128}$';
/**
 * Gateway API's pattern for header values (HTTPHeaderMatch.value): printable US-ASCII, single
 * spaces or tabs inside; proxies trim the spaces around a field value (RFC 9110 §5.5), so a value
 * with them could never match.
 */
export const headerValuePattern = '^[!-~]+([\\t ]?[!-~]+)*$';

/** RE2 patterns are limited like Gateway API path values, so a policy cannot ship a huge program. */
export const maxPatternLength = 1024;
/** An HTTP header name (RFC 9110 token) without `_`, which nginx drops and CGI confuses with `-`. */
export const upstreamHeaderPattern = '^[A-Za-z0-9][A-Za-z0-9-]{0,62}$';

/**
 * Headers a policy may not carry tokens in: the request's own routing and credentials (`Host`,
 * `Cookie`, forwarded headers, hop-by-hop fields) and gatehouse's identity headers, which a
 * tenant must not be able to overwrite with a token. The CEL rule and validate.ts share it.
 */
export const forbiddenTokenHeaders = [
  'host',
  'cookie',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'upgrade',
  'content-length',
  'proxy-authorization',
  'x-real-ip',
] as const;
export const forbiddenTokenHeaderPrefixes = [
  'x-forwarded-',
  'x-auth-request-',
  'remote-',
  'sec-',
  'x-gatehouse-',
  'x-envoy-',
] as const;

const tokenHeaderValidations = [
  {
    rule: `!(self.header.lowerAscii() in [${forbiddenTokenHeaders.map((h) => `'${h}'`).join(', ')}]) && ![${forbiddenTokenHeaderPrefixes.map((p) => `'${p}'`).join(', ')}].exists(p, self.header.lowerAscii().startsWith(p))`,
    message:
      'header must not be a routing, hop-by-hop or credential header, nor an identity header (x-auth-request-*, remote-*, sec-*, x-gatehouse-*)',
  },
] as const;

export const patternMessages: Readonly<Record<string, string>> = {
  [dnsLabelPattern]:
    'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters',
  [dnsSubdomainPattern]:
    'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", at most 253 characters',
  [hostPattern]:
    'must be a lower-case host name such as "shop.example.com" or a wildcard such as "*.example.com" (no port, no scheme, no upper case)',
  [rolePattern]: 'must be 1-128 characters among letters, digits and ":._@-"',
  [profilePattern]: 'must be a header profile name: lower-case letters, digits and "-"',
  [pathValuePattern]: 'must start with "/"',
  [maxAgePattern]:
    'must be a duration in whole seconds: a number of seconds (900) or d/h/m/s parts such as "15m", "1h30m", "1d"',
  [authenticationValuePattern]:
    'must be 1-128 printable ASCII characters, without space, double quote or backslash (an acr or amr value)',
  [upstreamHeaderPattern]:
    'must be an HTTP header name: letters, digits and "-" (no "_"), at most 63 characters',
  [matchHeaderNamePattern]:
    'must be an HTTP header name (RFC 9110 token) without "_": nginx drops such headers and CGI upstreams read "_" as "-"',
  [headerValuePattern]:
    'must be printable US-ASCII without leading or trailing spaces, as Gateway API requires (RFC 9110 §5.5)',
  [queryParamNamePattern]:
    'must be a query parameter name as the upstream decodes it: no space, control character, "&", "=", ";" or "#"',
};

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

export const httpMethods = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'CONNECT',
  'TRACE',
] as const;
export type HttpMethod = (typeof httpMethods)[number];

const RoleName = Type.String({ pattern: rolePattern, maxLength: 128 });

export const ObjectMetaSchema = Type.Object({
  name: Type.String({ pattern: dnsSubdomainPattern, maxLength: 253 }),
  namespace: Type.Optional(Type.String({ pattern: dnsLabelPattern, maxLength: 63 })),
  /** RFC 3339 time set by the API server; file sources fill in the time an object was first seen. */
  creationTimestamp: Type.String({ maxLength: 64 }),
  generation: Type.Optional(Type.Integer({ minimum: 0 })),
  uid: Type.Optional(Type.String({ maxLength: 64 })),
  resourceVersion: Type.Optional(Type.String({ maxLength: 64 })),
});
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

export const ConditionSchema = Type.Object({
  type: Type.String({ maxLength: 316 }),
  status: stringEnum(['True', 'False', 'Unknown']),
  reason: Type.Optional(Type.String({ maxLength: 1024 })),
  message: Type.Optional(Type.String({ maxLength: 32768 })),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  lastTransitionTime: Type.Optional(Type.String({ maxLength: 64 })),
});

/** Written by gatehouse (Ready=False with a reason for what only gatehouse can judge). */
export const ResourceStatusSchema = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(Type.Array(ConditionSchema, { maxItems: 8 })),
});

// ---------------------------------------------------------------------------------------------
// AccessPolicy / ClusterAccessPolicy
// ---------------------------------------------------------------------------------------------

/**
 * CEL rules on a `RegularExpression` value. Kubernetes CEL has no "is this a regex" function, but
 * its `matches()` compiles a pattern given at run time with Go's regexp, which is RE2 as re2js
 * (authz/regex.ts) is: an invalid pattern makes the rule fail with the compiler's message, and
 * the API server refuses the object (the conditional keeps the error from being swallowed: CEL's
 * `||` ignores an error on one side when the other is true). That check is affordable only on the
 * path: on header and query values, 16 per match, 16 matches per rule and 128 rules, its
 * estimated cost exceeds the API server's budget (KEP-2876), so gatehouse checks their syntax when
 * it loads the policy (validate.ts: Ready=False, `Invalid`). Lengths are checked everywhere.
 */
function regexLengthValidation(what: string) {
  return {
    rule: `!has(self.type) || self.type != 'RegularExpression' || size(self.value) <= ${String(maxPatternLength)}`,
    message: `a RegularExpression ${what} must be at most ${String(maxPatternLength)} characters`,
  } as const;
}

export const pathMatchValidations = [
  {
    rule: "self.type != 'RegularExpression' || (''.matches(self.value) ? true : true)",
    message: 'a RegularExpression path must be a valid RE2 regular expression',
  },
] as const;
export const headerMatchValidations = [regexLengthValidation('header value')] as const;

export const PathMatchSchema = Type.Object(
  {
    type: stringEnum(['Exact', 'PathPrefix', 'RegularExpression'], {
      description:
        '`Exact` matches the path exactly; `PathPrefix` matches it and everything below it, by whole segments (`/api` matches `/api` and `/api/x`, not `/apix`); `RegularExpression` matches when the RE2 pattern matches the whole path (`^` and `$` are implied; linear-time matching, no backreferences or lookarounds; `(?i)` ignores case).',
    }),
    value: Type.String({
      pattern: pathValuePattern,
      maxLength: maxPatternLength,
      description:
        'The path, starting with `/`, as it is after normalisation (percent-decoded unreserved characters, no dot-segments, no repeated slashes), or the pattern it must match. Case-sensitive. Never the query.',
    }),
  },
  {
    description: 'Which request paths the match covers.',
    'x-kubernetes-validations': pathMatchValidations,
  },
);
export type PathMatch = Static<typeof PathMatchSchema>;

const valueMatchType = (what: string) =>
  Type.Optional(
    stringEnum(['Exact', 'RegularExpression'], {
      default: 'Exact',
      description: `\`Exact\` (the default) compares the ${what} as is; \`RegularExpression\` matches when the RE2 pattern matches the whole ${what}.`,
    }),
  );

export const HeaderMatchSchema = Type.Object(
  {
    type: valueMatchType('header value'),
    name: Type.String({
      pattern: matchHeaderNamePattern,
      minLength: 1,
      maxLength: 256,
      description:
        'Header name, case-insensitive (RFC 9110 §5.1). Not a header that describes the routing or the client and that proxies overwrite on the check (`Host`, `X-Forwarded-*`, `X-Real-IP`, `Forwarded`, `X-Original-*`): use `hosts`, `path` and `sourceCIDRs`. The proxy must pass the header to gatehouse (Envoy: `allowed_headers`, Envoy Gateway `headersToExtAuth`).',
    }),
    value: Type.String({
      pattern: headerValuePattern,
      minLength: 1,
      maxLength: 4096,
      description:
        'The value, or the pattern it must match (at most 1024 characters). A header sent several times is matched as one value, the copies joined with `, ` (RFC 9110 §5.3), except the single-value headers for which Node.js keeps the first copy only (`User-Agent`, `Referer`, `Authorization`, `Content-Type` and a few more). A missing header never matches.',
    }),
  },
  {
    description: 'A condition on a request header.',
    'x-kubernetes-validations': headerMatchValidations,
  },
);
export type HeaderMatch = Static<typeof HeaderMatchSchema>;

export const QueryParamMatchSchema = Type.Object(
  {
    type: valueMatchType('parameter value'),
    name: Type.String({
      pattern: queryParamNamePattern,
      minLength: 1,
      maxLength: 256,
      description:
        'Parameter name, case-sensitive, compared with the percent-decoded name (`+` is a space, as in HTML forms).',
    }),
    value: Type.String({
      minLength: 1,
      maxLength: maxPatternLength,
      description:
        'The percent-decoded value, or the pattern it must match. A missing parameter never matches. A request that repeats the parameter, spells its name in another case or with a `;` in the query is refused (403 `ambiguous-query`): upstreams disagree on which copy counts.',
    }),
  },
  { description: 'A condition on a query parameter.' },
);
export type QueryParamMatch = Static<typeof QueryParamMatchSchema>;

/**
 * Header names a match may not test: the ones that say where the request goes and who sent it,
 * which proxies set or overwrite on the check request itself (docs/proxy-protocols.md), so a
 * condition on them would judge the proxy's copy, or a client's forgery, not what the upstream
 * sees. `hosts`, `path` and `sourceCIDRs` say the same things reliably. Shared by the CEL rule
 * and validate.ts.
 */
export const unmatchableHeaders = [
  'host',
  'forwarded',
  'x-real-ip',
  'x-original-url',
  'x-original-method',
  'x-original-uri',
  'content-length',
  'connection',
  'transfer-encoding',
] as const;
export const unmatchableHeaderPrefixes = ['x-forwarded-'] as const;

export const ruleMatchValidations = [
  {
    rule: `!has(self.headers) || self.headers.all(h, !(h.name.lowerAscii() in [${unmatchableHeaders.map((h) => `'${h}'`).join(', ')}]) && ![${unmatchableHeaderPrefixes.map((p) => `'${p}'`).join(', ')}].exists(p, h.name.lowerAscii().startsWith(p)))`,
    message:
      'headers must not name Host, Forwarded, X-Forwarded-*, X-Real-IP, X-Original-* or hop-by-hop headers: proxies overwrite them on the check; use hosts, path and sourceCIDRs',
  },
] as const;

/** CEL twin in validate.ts (checkSourceCidrs). */
export const sourceCidrValidations = [
  {
    rule: 'isCIDR(self) && cidr(self).ip() == cidr(self).masked().ip()',
    message:
      'must be a CIDR with its host bits zero, such as 10.0.0.0/8 or 2001:db8::/32 (one address: 203.0.113.7/32)',
  },
] as const;

export const RuleMatchSchema = Type.Object(
  {
    /** Omitted: `PathPrefix /`. */
    path: Type.Optional(PathMatchSchema),
    methods: Type.Optional(
      Type.Array(stringEnum(httpMethods), {
        minItems: 1,
        maxItems: 9,
        description:
          'HTTP methods the match covers. Omitted: every method. `GET` also covers `HEAD` (as nginx `limit_except` does). A match with methods takes precedence over one without; a request whose method no match of a rule lists falls through to the next rule.',
      }),
    ),
    headers: Type.Optional(
      Type.Array(HeaderMatchSchema, {
        minItems: 1,
        maxItems: 16,
        description:
          "Conditions on request headers (Gateway API's HTTPHeaderMatch): the request must meet all of them.",
      }),
    ),
    queryParams: Type.Optional(
      Type.Array(QueryParamMatchSchema, {
        minItems: 1,
        maxItems: 16,
        description:
          "Conditions on query parameters (Gateway API's HTTPQueryParamMatch): the request must meet all of them.",
      }),
    ),
    sourceCIDRs: Type.Optional(
      Type.Array(
        Type.String({
          minLength: 1,
          maxLength: 43,
          'x-kubernetes-validations': sourceCidrValidations,
        }),
        {
          minItems: 1,
          maxItems: 32,
          description:
            "The client address must be in one of these ranges. The client address is the one a trusted proxy reports (configuration `trustedProxies`: the right-most `X-Forwarded-For` entry that is not a trusted proxy, or nginx's `X-Real-IP`); when gatehouse cannot know it (the check did not come from a trusted proxy, or the proxy did not say), an `Allow` rule's match with sourceCIDRs does not match and a `Deny` rule's does: unknown never opens, never escapes a denial.",
        },
      ),
    ),
  },
  {
    description:
      'One match: every condition it names must hold (path, methods, headers, query parameters, client address).',
    'x-kubernetes-validations': ruleMatchValidations,
  },
);
export type RuleMatch = Static<typeof RuleMatchSchema>;

/** CEL twins of these rules live in validate.ts (checkRuleAction). */
export const ruleValidations = [
  {
    rule: "!(has(self.roles) && has(self.action) && self.action == 'Deny')",
    message: 'roles and action: Deny are mutually exclusive',
  },
  {
    rule: "has(self.roles) || (has(self.action) && self.action == 'Deny')",
    message: 'a rule needs roles or action: Deny',
  },
  {
    rule: "!has(self.authentication) || !(has(self.action) && self.action == 'Deny')",
    message: 'authentication (step-up) and action: Deny are mutually exclusive',
  },
  {
    rule: "!has(self.authentication) || !has(self.roles) || !('guest' in self.roles)",
    message: 'authentication (step-up) needs a signed-in caller: the rule cannot admit guest',
  },
  {
    rule: '!has(self.authentication) || has(self.authentication.maxAge) || has(self.authentication.acr) || has(self.authentication.amr)',
    message: 'authentication needs maxAge, acr or amr',
  },
] as const;

/** The step-up requirement of a rule (issue #19). CEL twins in validate.ts (checkRuleAction). */
export const RuleAuthenticationSchema = Type.Object(
  {
    maxAge: Type.Optional(
      Type.String({
        pattern: maxAgePattern,
        minLength: 1,
        maxLength: 24,
        description:
          "The sign-in must be at most this old (`15m`, `1h`, `900`: seconds), judged from the ID token's `auth_time` (or a bearer token's). An older session gets 401 `step-up-required` and a sign-in link that asks the provider for `max_age` and `prompt=login`.",
      }),
    ),
    acr: Type.Optional(
      Type.Array(Type.String({ pattern: authenticationValuePattern, maxLength: 128 }), {
        minItems: 1,
        maxItems: 8,
        description:
          "The sign-in's Authentication Context Class Reference (`acr` claim) must be one of these; the sign-in link asks for them as `acr_values`.",
      }),
    ),
    amr: Type.Optional(
      Type.Array(Type.String({ pattern: authenticationValuePattern, maxLength: 128 }), {
        minItems: 1,
        maxItems: 8,
        description:
          "The sign-in's Authentication Methods References (`amr` claim, RFC 8176: `hwk` a security key, `otp`, `mfa`…) must include one of these.",
      }),
    ),
  },
  {
    description:
      'Step-up sign-in: the caller holding a role must also have signed in recently enough, or strongly enough. Only browser sessions and bearer tokens carry these facts; a bearer token that lacks them gets 401 `error="insufficient_user_authentication"` (RFC 9470). Any one requirement unmet refuses.',
  },
);
export type RuleAuthentication = Static<typeof RuleAuthenticationSchema>;

export const AccessRuleSchema = Type.Object(
  {
    name: Type.String({
      pattern: dnsLabelPattern,
      maxLength: 63,
      description: 'Rule name, unique in the policy; shown in logs, metrics and `gatehouse check`.',
    }),
    match: Type.Array(RuleMatchSchema, {
      minItems: 1,
      maxItems: 16,
      description:
        'Requests the rule covers: any match suffices. A match without `path` covers `PathPrefix /`.',
    }),
    roles: Type.Optional(
      Type.Array(RoleName, {
        minItems: 1,
        maxItems: 32,
        description:
          'The caller needs any one of these roles. `guest`: everyone, signed in or not; `authenticated`: every signed-in caller; others come from RoleMappings. The super role (configuration `authz.superRole`) satisfies every rule.',
      }),
    ),
    action: Type.Optional(
      stringEnum(['Allow', 'Deny'], {
        description:
          '`Deny` refuses every caller, the super role included (403 `deny-rule`); such a rule has no `roles`.',
      }),
    ),
    enforcement: Type.Optional(
      stringEnum(['Default', 'Guardrail'], {
        description:
          '`Guardrail` (ClusterAccessPolicy only): checked before every other rule, whatever their precedence. A guardrail `Deny` always refuses; a guardrail with `roles` lets through only callers holding one of them (or the super role), and the other rules then decide as usual: a guardrail restricts, it never grants. `spec.mode: Audit` does not apply to guardrails. Omitted: `Default`.',
      }),
    ),
    authentication: Type.Optional(RuleAuthenticationSchema),
  },
  {
    'x-kubernetes-validations': ruleValidations,
    description: 'One access rule: which requests, and who may make them.',
  },
);
export type AccessRule = Static<typeof AccessRuleSchema>;

function UpstreamTokenSchema(token: string) {
  return Type.Object(
    {
      header: Type.String({
        pattern: upstreamHeaderPattern,
        maxLength: 63,
        description: `Header that carries the ${token}; \`Authorization\` sends \`Bearer <token>\`, any other header the bare token.`,
      }),
    },
    {
      description: `Send the user's ${token}.`,
      'x-kubernetes-validations': tokenHeaderValidations,
    },
  );
}

export const AccessPolicySpecSchema = Type.Object({
  hosts: Type.Array(Type.String({ pattern: hostPattern, maxLength: 253 }), {
    minItems: 1,
    maxItems: 64,
    description:
      'Hosts the policy governs: exact (`shop.example.com`) or a leading wildcard (`*.example.com`: one or more labels, never the apex). A namespaced policy governs a host only if its namespace owns it (the earliest Ingress or HTTPRoute that gatehouse protects declaring it is in that namespace) or a HostDelegation names the namespace.',
  }),
  identityHeaders: Type.Optional(
    Type.String({
      pattern: profilePattern,
      maxLength: 63,
      description:
        'Identity header profile sent upstream for this policy (`x-auth-request`, `remote`, `sec`, `custom`). Omitted: the configured default.',
    }),
  ),
  mode: Type.Optional(
    stringEnum(['Enforce', 'Audit'], {
      default: 'Enforce',
      description:
        '`Audit` computes, logs and counts every decision but lets the request pass: roll a new policy out safely, then switch to `Enforce`.',
    }),
  ),
  authentication: Type.Optional(
    Type.Object(
      {
        basic: Type.Optional(
          Type.Boolean({
            description:
              'Machine clients may use HTTP Basic (configuration `basicAuth`): a 401 from this policy carries `WWW-Authenticate: Basic realm=...` so they know to send credentials.',
          }),
        ),
        providers: Type.Optional(
          Type.Array(
            Type.String({
              minLength: 1,
              maxLength: 63,
              pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$',
              description: 'The `name` of a configured provider.',
            }),
            {
              minItems: 1,
              maxItems: 16,
              description:
                'The OpenID Providers allowed to sign in for these hosts (per-organisation sign-in): the sign-in offers only them, and a session from another provider gets a 403 page offering to sign in with an allowed one. Omitted: every provider.',
            },
          ),
        ),
        bearer: Type.Optional(
          Type.Object(
            {
              audiences: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
                minItems: 1,
                maxItems: 16,
                description:
                  "Bearer tokens are accepted for these hosts only when their `aud` names one of these. Omitted: the issuer's configured audiences.",
              }),
            },
            { description: 'Bearer tokens (RFC 6750) for this policy.' },
          ),
        ),
      },
      { description: 'How callers of this policy authenticate besides the session cookie.' },
    ),
  ),
  preflight: Type.Optional(
    stringEnum(['Allow', 'Authorize'], {
      description:
        "`Allow`: a CORS preflight (an `OPTIONS` request with `Origin` and `Access-Control-Request-Method`, which browsers send without credentials) passes anonymously on every path of the policy's hosts, whatever rule would match (reason `cors-preflight`); the upstream answers it, gatehouse adds no CORS header. Guardrails still apply: a guardrail `Deny` refuses the preflight too, a guardrail with roles asks for them. Applies when this policy lists the most specific of the request's host patterns (an exact host before any wildcard). The proxy must pass `Origin` and `Access-Control-Request-Method` to gatehouse. Omitted or `Authorize`: a preflight is decided by the rules like any request.",
    }),
  ),
  upstreamTokens: Type.Optional(
    Type.Object(
      {
        accessToken: Type.Optional(UpstreamTokenSchema('access token')),
        idToken: Type.Optional(UpstreamTokenSchema('ID token')),
      },
      {
        description:
          "Send the signed-in user's tokens upstream on allow (session identities only; refreshed when `sessions.refreshMargin` is set). A session without the token, another kind of identity or an impersonation sends the header empty.",
      },
    ),
  ),
  rules: Type.Array(AccessRuleSchema, {
    minItems: 1,
    maxItems: 128,
    description:
      'The rules. The most specific matching rule decides (Gateway API precedence), whatever their order here.',
  }),
});
export type AccessPolicySpec = Static<typeof AccessPolicySpecSchema>;

// ---------------------------------------------------------------------------------------------
// RoleMapping / ClusterRoleMapping
// ---------------------------------------------------------------------------------------------

export const subjectValidations = [
  {
    rule: "self.kind == 'Claim' ? has(self.values) : !has(self.values)",
    message: 'values is required for kind Claim and not allowed for other kinds',
  },
] as const;

export const SubjectSchema = Type.Object(
  {
    kind: stringEnum(['User', 'Group', 'EmailDomain', 'Claim', 'Organisation'], {
      description:
        "`User`: a user name, e-mail address or subject; `Group`: a group of the identity; `EmailDomain`: the domain of the verified e-mail address (exact, no subdomains); `Claim`: a token claim holding one of `values`; `Organisation`: the organisation of the identity (a provider's `claims.organisation`, or `preauth-org`).",
    }),
    name: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'The user, group, domain, or claim name.',
    }),
    values: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        minItems: 1,
        maxItems: 64,
        description:
          'For `Claim` only: the claim must equal (or, for a list, contain) one of these.',
      }),
    ),
    sources: Type.Optional(
      Type.Array(
        Type.String({
          maxLength: 80,
          pattern: '^((provider|issuer)/[a-z0-9]([a-z0-9-]*[a-z0-9])?|preauth|basic)$',
          description: '`provider/<name>`, `issuer/<name>`, `preauth` or `basic`.',
        }),
        {
          minItems: 1,
          maxItems: 16,
          description:
            'The identity sources this subject matches: `provider/<name>` (browser sign-in), `issuer/<name>` (bearer tokens), `preauth` (trusted pre-authentication), `basic` (htpasswd users). Omitted: the sources of configuration `authz.unqualifiedSubjectSources` (default: the first OpenID provider), so adding a provider, an issuer or a front never hands out existing roles.',
        },
      ),
    ),
  },
  {
    'x-kubernetes-validations': subjectValidations,
    description: 'Who receives the roles.',
  },
);
export type Subject = Static<typeof SubjectSchema>;

export const RoleMappingSpecSchema = Type.Object({
  roles: Type.Array(RoleName, {
    minItems: 1,
    maxItems: 32,
    description:
      'Roles granted. A RoleMapping grants them for the policies of its own namespace only; a ClusterRoleMapping everywhere.',
  }),
  subjects: Type.Array(SubjectSchema, {
    minItems: 1,
    maxItems: 256,
    description: 'Who receives the roles: any subject suffices.',
  }),
});
export type RoleMappingSpec = Static<typeof RoleMappingSpecSchema>;

// ---------------------------------------------------------------------------------------------
// The four kinds
// ---------------------------------------------------------------------------------------------

function resource<K extends string, S extends TSchema>(kind: K, spec: S) {
  return Type.Object({
    apiVersion: Type.Literal(apiVersion),
    kind: Type.Literal(kind),
    metadata: ObjectMetaSchema,
    spec,
    status: Type.Optional(ResourceStatusSchema),
  });
}

export const AccessPolicySchema = resource('AccessPolicy', AccessPolicySpecSchema);
export const ClusterAccessPolicySchema = resource('ClusterAccessPolicy', AccessPolicySpecSchema);
export const RoleMappingSchema = resource('RoleMapping', RoleMappingSpecSchema);
export const ClusterRoleMappingSchema = resource('ClusterRoleMapping', RoleMappingSpecSchema);

export type AccessPolicy = Static<typeof AccessPolicySchema>;
export type ClusterAccessPolicy = Static<typeof ClusterAccessPolicySchema>;
export type RoleMapping = Static<typeof RoleMappingSchema>;
export type ClusterRoleMapping = Static<typeof ClusterRoleMappingSchema>;

export type AnyAccessPolicy = AccessPolicy | ClusterAccessPolicy;
export type AnyRoleMapping = RoleMapping | ClusterRoleMapping;
export type PolicyResource = AnyAccessPolicy | AnyRoleMapping;
export type ResourceKind = PolicyResource['kind'];

// ---------------------------------------------------------------------------------------------
// HostDelegation: tenancy, not policy (it never enters a snapshot)
// ---------------------------------------------------------------------------------------------

/** CEL twins of these rules live in validate.ts (validateHostDelegation). */
export const hostDelegationValidations = [
  {
    rule: "!self.host.startsWith('*.') || self.host.substring(2).contains('.')",
    message: 'a wildcard host must name a domain below a top-level domain, such as *.example.com',
  },
  {
    rule: "!has(self.pathPrefix) || !(self.pathPrefix.contains('//') || self.pathPrefix.contains('/./') || self.pathPrefix.contains('/../') || self.pathPrefix.endsWith('/.') || self.pathPrefix.endsWith('/..'))",
    message:
      'pathPrefix must be written in normalised form (no "//", "." or ".." segments): requests are normalised before matching',
  },
] as const;

export const HostDelegationSpecSchema = Type.Object(
  {
    host: Type.String({
      pattern: hostPattern,
      maxLength: 253,
      description:
        'The host delegated: exact (`shop.example.com`) or every host below a wildcard (`*.example.com`), compared with the hosts of AccessPolicies.',
    }),
    pathPrefix: Type.Optional(
      Type.String({
        pattern: pathValuePattern,
        maxLength: 1024,
        description:
          'Only below this path (whole segments: `/api` covers `/api` and `/api/x`, not `/apix`). An AccessPolicy admitted through this delegation applies to the host only if every path of its rules stays below the prefix; otherwise it is not applied to the host (Ready=False, `OutsideDelegatedPath`). Omitted: the whole host.',
      }),
    ),
    namespaces: Type.Array(Type.String({ pattern: dnsLabelPattern, maxLength: 63 }), {
      minItems: 1,
      maxItems: 64,
      description:
        'Namespaces whose AccessPolicies may govern the host (below pathPrefix), whoever owns the host through its Ingress or HTTPRoute.',
    }),
  },
  { 'x-kubernetes-validations': hostDelegationValidations },
);
export type HostDelegationSpec = Static<typeof HostDelegationSpecSchema>;

export const HostDelegationSchema = resource('HostDelegation', HostDelegationSpecSchema);
export type HostDelegation = Static<typeof HostDelegationSchema>;

/** Every kind with a CRD: the policy kinds and HostDelegation. */
export type CrdKind = ResourceKind | 'HostDelegation';

export interface KindInfo {
  readonly kind: CrdKind;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
  readonly schema: TSchema;
}

/** What the CRD generator and the Kubernetes source need to know about each kind. */
export const kinds: Readonly<Record<ResourceKind, KindInfo>> = {
  AccessPolicy: {
    kind: 'AccessPolicy',
    listKind: 'AccessPolicyList',
    plural: 'accesspolicies',
    singular: 'accesspolicy',
    shortNames: ['ap'],
    scope: 'Namespaced',
    schema: AccessPolicySchema,
  },
  ClusterAccessPolicy: {
    kind: 'ClusterAccessPolicy',
    listKind: 'ClusterAccessPolicyList',
    plural: 'clusteraccesspolicies',
    singular: 'clusteraccesspolicy',
    shortNames: ['cap'],
    scope: 'Cluster',
    schema: ClusterAccessPolicySchema,
  },
  RoleMapping: {
    kind: 'RoleMapping',
    listKind: 'RoleMappingList',
    plural: 'rolemappings',
    singular: 'rolemapping',
    shortNames: ['rm'],
    scope: 'Namespaced',
    schema: RoleMappingSchema,
  },
  ClusterRoleMapping: {
    kind: 'ClusterRoleMapping',
    listKind: 'ClusterRoleMappingList',
    plural: 'clusterrolemappings',
    singular: 'clusterrolemapping',
    shortNames: ['crm'],
    scope: 'Cluster',
    schema: ClusterRoleMappingSchema,
  },
};

export const resourceKinds = Object.keys(kinds) as readonly ResourceKind[];

export const hostDelegationKind: KindInfo = {
  kind: 'HostDelegation',
  listKind: 'HostDelegationList',
  plural: 'hostdelegations',
  singular: 'hostdelegation',
  shortNames: ['hd'],
  scope: 'Cluster',
  schema: HostDelegationSchema,
};

/** Every kind the CRD generator writes, in order. */
export const crdKinds: readonly KindInfo[] = [
  ...resourceKinds.map((kind) => kinds[kind]),
  hostDelegationKind,
];

export function isResourceKind(value: unknown): value is ResourceKind {
  return typeof value === 'string' && Object.hasOwn(kinds, value);
}

export function isAccessPolicy(resource: PolicyResource): resource is AnyAccessPolicy {
  return resource.kind === 'AccessPolicy' || resource.kind === 'ClusterAccessPolicy';
}

/** `Kind namespace/name` or `Kind name`: how logs and problems name an object. */
export function describeObject(kind: string, namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === ''
    ? `${kind} ${name}`
    : `${kind} ${namespace}/${name}`;
}
