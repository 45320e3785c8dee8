import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthRequest } from '../authz/auth-request.ts';
import type { ProxyTrust } from '../dialects/proxy-trust.ts';
import type { TrustedSenderHeaders } from '../identity/forged-headers.ts';
import { decodeHeaderList, decodeHeaderValue } from '../identity/header-value.ts';
import type { Authenticator, AuthnResult } from './authenticator.ts';
import type { Identity } from '../authz/identity.ts';
import { definedFields } from '../defined-fields.ts';

/**
 * Trusted pre-authentication: a site behind another SSO front (geOrchestra's security proxy, an
 * Apache/nginx doing Kerberos or client certificates) tells gatehouse who the user is in request
 * headers. Anyone can send those headers, so they are believed only when BOTH hold:
 * - the request's CLIENT address (`AuthRequest.clientIp`) is one of this authenticator's own
 *   CIDRs. The SSO front sits IN FRONT of the ingress (browser → front → ingress → gatehouse),
 *   so gatehouse's socket peer is always the ingress controller and says nothing about the front;
 *   the front's address is what the ingress reports as the client (`X-Real-IP` /
 *   `X-Forwarded-For`), and the dialect believes that report only from the configured ingress
 *   `trustedProxies` (docs/architecture.md security invariant 3). This list is separate from those proxies:
 *   being the ingress does not make a hop an SSO front. And
 * - a shared-secret header matches (compared in constant time), so a misrouted or compromised
 *   neighbour in the same CIDR, or a client that can choose its forwarded address, cannot assert
 *   identities (Authelia's "Trusted Header SSO" and oauth2-proxy's warnings about header
 *   spoofing, CWE-290 "Authentication Bypass by Spoofing"). The proxy must strip this header
 *   from client requests (docs/identity.md).
 * Otherwise the headers are ignored (`absent`, possibly stale copies from an upstream hop) and
 * reported through `onIgnored` for a metric.
 */

/** Why present pre-authentication headers were ignored. */
export type PreauthIgnoredReason = 'untrusted-client' | 'bad-secret' | 'missing-secret';

/** Rejection code when a trusted hop sent values that cannot be a user (stable, for metrics). */
export const malformedPreauth = 'malformed-preauth';

/**
 * The family of geOrchestra's pre-authentication headers: a front may send more of them than
 * gatehouse reads (`preauth-tel`, ...), and none may come from anyone else or reach the upstream.
 */
export const preauthHeaderPrefix = 'preauth-';

/**
 * geOrchestra's pre-authentication header set, as its gateway reads it
 * (georchestra-gateway PreauthAuthenticationManager: PREAUTH_USERNAME … PREAUTH_PROVIDER_ID; the
 * flag `sec-georchestra-preauthenticated` parsed with `Boolean.parseBoolean`). `preauth-provider`
 * and `preauth-provider-id` name the external provider that authenticated the user and the
 * user's id there (geOrchestra's `GeorchestraUser.oAuth2Provider` / `oAuth2Uid`); they become the
 * identity's claims `preauth-provider` / `preauth-provider-id` and the assertion's
 * `gatehouse_preauth_provider(_id)`.
 */
export const georchestraHeaders = {
  flag: 'sec-georchestra-preauthenticated',
  username: 'preauth-username',
  email: 'preauth-email',
  firstName: 'preauth-firstname',
  lastName: 'preauth-lastname',
  organisation: 'preauth-org',
  provider: 'preauth-provider',
  providerId: 'preauth-provider-id',
} as const;

export interface TrustedHeaderAuthenticatorOptions {
  /** The fronts' addresses, matched against the client address (not the ingress proxies). */
  readonly trust: ProxyTrust;
  /** Header carrying the shared secret, e.g. `x-gatehouse-preauth-secret`. */
  readonly sharedSecretHeader: string;
  /** At least 16 characters. */
  readonly sharedSecret: string;
  /** Plain remote-user form, e.g. `remote-user`; omitted = only the geOrchestra form. */
  readonly remoteUserHeader?: string | undefined;
  /** Comma-separated groups (elements may be `{base64}`), e.g. `preauth-groups`. */
  readonly groupsHeader?: string | undefined;
  /** Called each time present headers are ignored; the integrator counts it in a metric. */
  readonly onIgnored?: ((reason: PreauthIgnoredReason) => void) | undefined;
}

export const minSharedSecretLength = 16;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function headerName(name: string, option: string): string {
  const lower = name.trim().toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(lower)) {
    throw new TypeError(`trusted headers: ${option} "${name}" is not a header name`);
  }
  return lower;
}

type Decoded = { readonly ok: true; readonly value: string | undefined } | { readonly ok: false };

export class TrustedHeaderAuthenticator implements Authenticator {
  readonly name = 'header';
  readonly #trust: ProxyTrust;
  readonly #secretHeader: string;
  /** Only the digest is kept: equal-length inputs for `timingSafeEqual` whatever is sent. */
  readonly #secretDigest: Buffer;
  readonly #remoteUserHeader: string | undefined;
  readonly #groupsHeader: string | undefined;
  readonly #onIgnored: (reason: PreauthIgnoredReason) => void;
  /** Every header whose presence means "someone is asserting an identity". */
  readonly #assertingHeaders: readonly string[];
  /**
   * The headers only a front may send, for the check route: the asserting headers, the whole
   * `preauth-*` family and the shared secret. From any other client they are refused (403
   * `forged-identity-header`) before this authenticator runs; from a front they are read here and
   * Envoy is told to remove them (the secret must never reach an upstream, docs/identity.md).
   */
  readonly trustedSenderHeaders: readonly TrustedSenderHeaders[];

  /** @throws TypeError when the secret is shorter than 16 characters or a header name is invalid. */
  constructor(options: TrustedHeaderAuthenticatorOptions) {
    if (options.sharedSecret.length < minSharedSecretLength) {
      throw new TypeError(
        `trusted headers: the shared secret must have at least ${minSharedSecretLength} characters`,
      );
    }
    this.#trust = options.trust;
    this.#secretHeader = headerName(options.sharedSecretHeader, 'sharedSecretHeader');
    this.#secretDigest = sha256(options.sharedSecret);
    this.#remoteUserHeader =
      options.remoteUserHeader === undefined
        ? undefined
        : headerName(options.remoteUserHeader, 'remoteUserHeader');
    this.#groupsHeader =
      options.groupsHeader === undefined
        ? undefined
        : headerName(options.groupsHeader, 'groupsHeader');
    this.#onIgnored = options.onIgnored ?? (() => undefined);
    this.#assertingHeaders = [
      ...Object.values(georchestraHeaders),
      ...(this.#remoteUserHeader === undefined ? [] : [this.#remoteUserHeader]),
      ...(this.#groupsHeader === undefined ? [] : [this.#groupsHeader]),
    ];
    const trust = this.#trust;
    this.trustedSenderHeaders = Object.freeze([
      Object.freeze({
        names: Object.freeze([...new Set([...this.#assertingHeaders, this.#secretHeader])]),
        prefixes: Object.freeze([preauthHeaderPrefix]),
        isTrustedSender: (clientIp: string) => trust.isTrusted(clientIp),
      }),
    ]);
  }

  authenticate(request: AuthRequest): AuthnResult {
    const headers = request.credentials.headers;
    if (!this.#assertingHeaders.some((name) => headers[name] !== undefined)) {
      return { kind: 'absent' };
    }
    if (!this.#trust.isTrusted(request.clientIp)) return this.#ignore('untrusted-client');
    const presented = headers[this.#secretHeader];
    if (presented === undefined) return this.#ignore('missing-secret');
    if (!timingSafeEqual(sha256(presented), this.#secretDigest)) return this.#ignore('bad-secret');

    // geOrchestra's proxy sends the preauth-* headers only together with the flag; without it
    // they do not claim anything (geOrchestra's PreAuthenticationFilter checks it the same way).
    const flag = headers[georchestraHeaders.flag];
    if (flag !== undefined && flag.trim().toLowerCase() === 'true') {
      return this.#georchestraIdentity(headers);
    }
    if (this.#remoteUserHeader !== undefined && headers[this.#remoteUserHeader] !== undefined) {
      return this.#remoteUserIdentity(headers, this.#remoteUserHeader);
    }
    return { kind: 'absent' };
  }

  #ignore(reason: PreauthIgnoredReason): AuthnResult {
    this.#onIgnored(reason);
    return { kind: 'absent' };
  }

  #georchestraIdentity(headers: Readonly<Record<string, string | undefined>>): AuthnResult {
    const username = decodeUser(headers[georchestraHeaders.username]);
    const email = decodeOptional(headers[georchestraHeaders.email]);
    const givenName = decodeOptional(headers[georchestraHeaders.firstName]);
    const familyName = decodeOptional(headers[georchestraHeaders.lastName]);
    const organisation = decodeOptional(headers[georchestraHeaders.organisation]);
    const provider = decodeOptional(headers[georchestraHeaders.provider]);
    const providerId = decodeOptional(headers[georchestraHeaders.providerId]);
    const groups = this.#groups(headers);
    if (
      username === null ||
      !email.ok ||
      !givenName.ok ||
      !familyName.ok ||
      !organisation.ok ||
      !provider.ok ||
      !providerId.ok ||
      groups === null
    ) {
      return { kind: 'rejected', code: malformedPreauth };
    }
    const claims: Record<string, string> = {};
    if (provider.value !== undefined) claims[georchestraHeaders.provider] = provider.value;
    if (providerId.value !== undefined) claims[georchestraHeaders.providerId] = providerId.value;
    const identity: Identity = {
      subject: username,
      user: username,
      ...definedFields({
        email: email.value,
        givenName: givenName.value,
        familyName: familyName.value,
      }),
      ...(givenName.value !== undefined && familyName.value !== undefined
        ? { name: `${givenName.value} ${familyName.value}` }
        : {}),
      ...definedFields({ organisation: organisation.value }),
      groups,
      claims: Object.freeze(claims),
      provider: 'header',
      method: 'header',
    };
    return { kind: 'identified', identity };
  }

  #remoteUserIdentity(
    headers: Readonly<Record<string, string | undefined>>,
    remoteUserHeader: string,
  ): AuthnResult {
    const username = decodeUser(headers[remoteUserHeader]);
    const groups = this.#groups(headers);
    if (username === null || groups === null) return { kind: 'rejected', code: malformedPreauth };
    return {
      kind: 'identified',
      identity: {
        subject: username,
        user: username,
        groups,
        claims: {},
        provider: 'header',
        method: 'header',
      },
    };
  }

  #groups(headers: Readonly<Record<string, string | undefined>>): string[] | null {
    if (this.#groupsHeader === undefined) return [];
    const raw = headers[this.#groupsHeader];
    return raw === undefined ? [] : decodeHeaderList(raw);
  }
}

/**
 * A user name must be present and non-blank; `decodeHeaderValue` already refuses control
 * characters in both the plain and the `{base64}` form (a name carrying CR/LF would be header
 * injection once sent upstream, CWE-113).
 */
function decodeUser(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const value = decodeHeaderValue(raw.trim());
  return value === null || value.trim() === '' ? null : value;
}

/** An optional attribute: absent or blank = unknown; present but undecodable = malformed. */
function decodeOptional(raw: string | undefined): Decoded {
  if (raw === undefined || raw.trim() === '') return { ok: true, value: undefined };
  const value = decodeHeaderValue(raw.trim());
  if (value === null) return { ok: false };
  return { ok: true, value: value === '' ? undefined : value };
}
