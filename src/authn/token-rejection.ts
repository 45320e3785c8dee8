import { errors } from 'jose';

/**
 * Why a presented bearer token was refused. Stable codes for logs and metrics (the `code` of a
 * `rejected` AuthnResult); add codes, never rename them.
 */
export const TokenRejections = {
  Malformed: 'malformed',
  UnknownIssuer: 'unknown-issuer',
  AlgorithmNotAllowed: 'algorithm-not-allowed',
  UnknownKey: 'unknown-key',
  BadSignature: 'bad-signature',
  Expired: 'expired',
  NotYetValid: 'not-yet-valid',
  WrongAudience: 'wrong-audience',
  WrongIssuer: 'wrong-issuer',
  MissingClaim: 'missing-claim',
} as const;

export type TokenRejection = (typeof TokenRejections)[keyof typeof TokenRejections];

/**
 * `error_description` per code (RFC 6750 §3). Fixed texts: nothing from the token or from a
 * library message is echoed to the client, and the quoted-string stays free of `"` and `\`.
 */
const descriptions: Readonly<Record<TokenRejection, string>> = {
  malformed: 'The access token is malformed',
  'unknown-issuer': 'The access token issuer is not trusted',
  'algorithm-not-allowed': 'The access token signing algorithm is not allowed',
  'unknown-key': 'The access token signing key is unknown',
  'bad-signature': 'The access token signature is invalid',
  expired: 'The access token expired',
  'not-yet-valid': 'The access token is not valid yet',
  'wrong-audience': 'The access token is not intended for this service',
  'wrong-issuer': 'The access token issuer is not trusted',
  'missing-claim': 'The access token lacks a required claim',
};

/** `WWW-Authenticate` value for a refused token (RFC 6750 §3, error code `invalid_token`). */
export function bearerChallenge(code: TokenRejection): string {
  return `Bearer error="invalid_token", error_description="${descriptions[code]}"`;
}

/**
 * RFC 9470 §3 (OAuth 2.0 Step Up Authentication Challenge): the `WWW-Authenticate` value for a
 * valid token whose authentication does not meet a rule's `authentication` — the client must get
 * a new token from a fresher or stronger sign-in, asking for `acr_values` and `max_age`. The
 * values come from the policy and are restricted to characters safe in a quoted-string
 * (policy/resources.ts `authenticationValuePattern`).
 */
export function stepUpChallenge(requirement: {
  readonly maxAge?: number;
  readonly acr?: readonly string[];
}): string {
  let challenge =
    'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required"';
  if (requirement.acr !== undefined) challenge += `, acr_values="${requirement.acr.join(' ')}"`;
  if (requirement.maxAge !== undefined) challenge += `, max_age=${String(requirement.maxAge)}`;
  return challenge;
}

/**
 * Maps a jose verification error to a rejection code, or `undefined` when the error is not about
 * the token (a bug or a dependency failure), which the caller must rethrow: failing closed with
 * a 5xx rather than reporting a healthy dependency's outage as the client's fault.
 */
export function rejectionForJoseError(error: unknown): TokenRejection | undefined {
  if (error instanceof errors.JWTExpired) return TokenRejections.Expired;
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return TokenRejections.MissingClaim;
    if (error.reason === 'invalid') return TokenRejections.Malformed;
    switch (error.claim) {
      case 'nbf':
        return TokenRejections.NotYetValid;
      case 'aud':
        return TokenRejections.WrongAudience;
      case 'iss':
        return TokenRejections.WrongIssuer;
      default:
        return TokenRejections.Malformed;
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return TokenRejections.BadSignature;
  if (error instanceof errors.JOSEAlgNotAllowed) return TokenRejections.AlgorithmNotAllowed;
  if (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return TokenRejections.UnknownKey;
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    // e.g. an unrecognised `crit` header parameter (RFC 7515 §4.1.11).
    error instanceof errors.JOSENotSupported
  ) {
    return TokenRejections.Malformed;
  }
  return undefined;
}
