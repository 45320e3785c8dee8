import type { JsonWebKeySet, SigningKeyRing } from './signing-keys.ts';

/** Where upstreams fetch the assertion keys (docs/architecture.md, Endpoints). */
export const jwksPath = '/.well-known/jwks.json';

/**
 * Five minutes: short enough that a rotated key reaches upstreams well inside the ring's
 * retention window (`defaultRetentionMs`), long enough that upstreams do not poll on every
 * request. jose's `createRemoteJWKSet` also refetches on an unknown `kid` (after a 30 s cooldown),
 * so a fresh key is found sooner by upstreams that use it.
 */
export const jwksCacheControl = 'public, max-age=300';

export interface JwksDocument {
  readonly contentType: string;
  readonly cacheControl: string;
  readonly body: JsonWebKeySet;
}

/**
 * The response for `GET /.well-known/jwks.json`. For the lead, in the route:
 * `ctx.type = doc.contentType; ctx.set('Cache-Control', doc.cacheControl); ctx.body = doc.body;`
 * `application/json` rather than RFC 7517 §8.5's `application/jwk-set+json`, because some JWKS
 * clients accept only the former and none refuse it.
 */
export function jwksDocument(ring: Pick<SigningKeyRing, 'publicJwks'>): JwksDocument {
  return {
    contentType: 'application/json',
    cacheControl: jwksCacheControl,
    body: ring.publicJwks(),
  };
}
