/**
 * Every reason a decision can carry. These codes are public: they appear in
 * metrics labels, logs, the 403 page and `gatehouse check` output, so they are
 * stable once released. Add codes; never rename them.
 */
export const Reasons = {
  /** A rule matched and the identity holds one of its roles (or `guest` sufficed). */
  RoleGranted: 'role-granted',
  /** A rule matched and the identity holds the configured super role. */
  SuperRole: 'super-role',
  /** No rule matched and the configuration's `authz.noMatch` allows the request. */
  DefaultAllow: 'default-allow',

  /**
   * oauth2-proxy's `/oauth2/auth` without a routed host (`host=`): a valid credential meeting the
   * auth URL's `allowed_*` lists is all that is judged, as oauth2-proxy does; no policy applies.
   */
  AuthenticatedOnly: 'authenticated-only',

  /** A rule matched that `guest` does not satisfy and no identity was presented. */
  AuthenticationRequired: 'authentication-required',
  /** A credential was presented but is invalid, expired or revoked (RFC 6750 §3.1 `invalid_token`). */
  InvalidCredentials: 'invalid-credentials',

  /** No rule of any policy matches the host, path and method. */
  NoMatchingRule: 'no-matching-rule',
  /** The session's provider is not among the policy's `authentication.providers` (sign-in per organisation). */
  ProviderNotAllowed: 'provider-not-allowed',
  /**
   * oauth2-proxy's `/oauth2/auth`: the signed-in user does not meet the auth URL's
   * `allowed_groups`, `allowed_emails` or `allowed_email_domains` (each list given must name one
   * of the user's groups, the user's e-mail address or its domain).
   */
  NotInAllowedList: 'not-in-allowed-list',
  /** The matched rule has `action: Deny`. */
  DenyRule: 'deny-rule',
  /**
   * The identity holds a role the rule requires, but its sign-in is too old or not strong enough
   * for the rule's `authentication` (step-up, issue #19): 401, sign in again.
   */
  StepUpRequired: 'step-up-required',
  /** The identity holds none of the matched rule's roles. */
  MissingRole: 'missing-role',
  /** The path's meaning depends on who decodes it (encoded `/`, dot-segments, NUL, bad UTF-8). */
  AmbiguousPath: 'ambiguous-path',
  /**
   * A candidate rule has query conditions and the request's query reads differently to different
   * upstreams (a repeated parameter, another case, `;`, a bad escape): authz/query.ts.
   */
  AmbiguousQuery: 'ambiguous-query',
  /**
   * A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) on a host whose
   * policy sets `preflight: Allow`: it passes anonymously, whatever rule would match.
   */
  CorsPreflight: 'cors-preflight',

  /**
   * The client sent its own copy of an identity header in a spelling a proxy may not strip
   * (`X_Auth_Request_User` reaches WSGI/CGI upstreams as `HTTP_X_AUTH_REQUEST_USER`).
   */
  ForgedIdentityHeader: 'forged-identity-header',

  /** The proxy's request could not be understood (missing or malformed original URL). */
  MalformedRequest: 'malformed-request',
} as const;

export type Reason = (typeof Reasons)[keyof typeof Reasons];

export const allReasons: readonly Reason[] = Object.values(Reasons);
