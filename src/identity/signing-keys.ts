import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Logger } from 'pino';

/**
 * The keys that sign the identity assertion (`X-Gatehouse-Assertion`, docs/architecture.md "Identity
 * headers") and the public half that upstreams fetch from `/.well-known/jwks.json`.
 *
 * Only ES256 (ECDSA P-256 + SHA-256, RFC 7518 §3.4): small signatures for a header sent on every
 * request, and one algorithm that upstreams pin (RFC 8725 §3.1).
 *
 * Rotation without downtime: mount the new key as `current` and move the old one to `previous`.
 * Keep it there for at least the assertion TTL (≤ 60 s, so assertions signed just before the
 * switch still verify) plus the upstreams' JWKS cache time (the route sends `max-age=300`), so no
 * verifier ever holds a token whose key it cannot find. `rotate()` does the same at run time and
 * forgets previous keys after `retentionMs`.
 */
export const signingAlgorithm = 'ES256';

/** Default time a retired key stays published: 60 s TTL + 300 s JWKS max-age, rounded up. */
export const defaultRetentionMs = 10 * 60 * 1000;

/**
 * Key text as mounted from a secret: PKCS#8 PEM (`openssl genpkey -algorithm EC -pkeyopt
 * ec_paramgen_curve:P-256`), SEC1 PEM (`openssl ecparam -genkey`) or a private JWK as JSON.
 * `source` names the file in error messages; the text itself never appears in them.
 */
export type SigningKeyInput = string | { readonly text: string; readonly source: string };

/** A public verification key as published: never carries private members such as `d`. */
export interface PublishedJwk extends JWK {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: typeof signingAlgorithm;
  readonly use: 'sig';
}

export interface JsonWebKeySet {
  readonly keys: readonly PublishedJwk[];
}

export interface SigningKey {
  /** RFC 7638 JWK thumbprint (SHA-256) of the public key: stable, derived, never configured. */
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly alg: typeof signingAlgorithm;
}

/** What the assertion signer needs: the key to sign with now. */
export interface CurrentSigningKey {
  readonly current: SigningKey;
}

export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

export interface LoadSigningKeysOptions {
  /** The key to sign with; null when none is mounted. */
  readonly current: SigningKeyInput | null;
  /** Retired keys still published for verification; private or public key text. */
  readonly previous: readonly SigningKeyInput[];
  /**
   * Generate an ephemeral key when `current` is null (the embedded default for local runs).
   * Each start, and each replica, then has its own key.
   */
  readonly generate?: boolean;
  /** Epoch milliseconds; decides when retired keys may be forgotten. */
  readonly now: () => number;
  /** How long `rotate()` keeps a retired key published; default `defaultRetentionMs`. */
  readonly retentionMs?: number;
  readonly logger?: Logger | undefined;
}

/** A key that no longer signs but stays published so its assertions still verify. */
export interface RetiredKey {
  readonly jwk: PublishedJwk;
  /** Epoch milliseconds from which the key no longer signed (for retention). */
  readonly retiredAt: number;
}

interface RingState {
  readonly current: SigningKey;
  readonly jwks: JsonWebKeySet;
  readonly retired: readonly RetiredKey[];
}

interface ParsedKey {
  readonly source: string;
  readonly keyObject: KeyObject;
}

/**
 * The current signing key and the retired keys still published. `current` and `publicJwks()`
 * change together on `rotate()`, by swapping one immutable state, so a reader never sees a
 * current key that is missing from the JWKS.
 */
export class SigningKeyRing implements CurrentSigningKey {
  #state: RingState;
  readonly #now: () => number;
  readonly #retentionMs: number;
  readonly #logger: Logger | undefined;

  /** Use `loadSigningKeys`; the constructor takes already validated keys. */
  constructor(options: {
    readonly current: SigningKey;
    readonly currentJwk: PublishedJwk;
    readonly retired: readonly RetiredKey[];
    readonly now: () => number;
    readonly retentionMs: number;
    readonly logger?: Logger | undefined;
  }) {
    this.#now = options.now;
    this.#retentionMs = options.retentionMs;
    this.#logger = options.logger;
    this.#state = buildState(options.current, options.currentJwk, options.retired);
  }

  get current(): SigningKey {
    return this.#state.current;
  }

  /** Current + retired public keys, each with `kid`, `alg` and `use: 'sig'`; frozen. */
  publicJwks(): JsonWebKeySet {
    return this.#state.jwks;
  }

  /**
   * Makes `newCurrent` the signing key (a generated one when omitted), keeps the old current key
   * published as retired, and forgets retired keys older than the retention window. Rotating to
   * a key that is already current changes nothing; rotating back to a retired key un-retires it.
   */
  async rotate(newCurrent?: SigningKeyInput): Promise<void> {
    const next =
      newCurrent === undefined
        ? await generateSigningKey()
        : await privateSigningKey(parseKey(newCurrent, 'new signing key', 'private'));
    const state = this.#state;
    if (next.key.kid === state.current.kid) return;
    const now = this.#now();
    const oldCurrent = state.jwks.keys.find((jwk) => jwk.kid === state.current.kid);
    const retired = [
      ...(oldCurrent === undefined ? [] : [{ jwk: oldCurrent, retiredAt: now }]),
      ...state.retired.filter(
        (key) => key.jwk.kid !== next.key.kid && now - key.retiredAt <= this.#retentionMs,
      ),
    ];
    this.#state = buildState(next.key, next.jwk, retired);
    this.#logger?.info(
      {
        kid: next.key.kid,
        retiredKid: state.current.kid,
        publishedKids: retired.map((k) => k.jwk.kid),
      },
      'identity assertion signing key rotated',
    );
  }
}

/**
 * Builds the key ring from mounted key texts. Throws `SigningKeyError` naming the offending
 * file when a key is unreadable, not EC P-256, or (for `current`) not private.
 */
export async function loadSigningKeys(options: LoadSigningKeysOptions): Promise<SigningKeyRing> {
  const now = options.now();
  let current: { key: SigningKey; jwk: PublishedJwk };
  if (options.current !== null) {
    current = await privateSigningKey(parseKey(options.current, 'current signing key', 'private'));
  } else if (options.generate === true) {
    current = await generateSigningKey();
    options.logger?.warn(
      { kid: current.key.kid },
      'identity assertion signing key generated at start: upstreams must refetch ' +
        '/.well-known/jwks.json after each restart, and every replica signs with its own key; ' +
        'mount a signing key secret for production or more than one replica',
    );
  } else {
    throw new SigningKeyError(
      'no identity assertion signing key: mount one (PKCS#8 PEM or private JWK) or enable key generation',
    );
  }

  const retired: RetiredKey[] = [];
  const seen = new Set([current.key.kid]);
  for (const [index, input] of options.previous.entries()) {
    const jwk = await publishedJwk(parseKey(input, `previous signing key #${index + 1}`, 'any'));
    if (seen.has(jwk.kid)) continue;
    seen.add(jwk.kid);
    retired.push({ jwk, retiredAt: now });
  }

  const retentionMs = options.retentionMs ?? defaultRetentionMs;
  if (!Number.isFinite(retentionMs) || retentionMs < 0) {
    throw new SigningKeyError(
      'signing key retention must be a non-negative number of milliseconds',
    );
  }
  options.logger?.info(
    { kid: current.key.kid, publishedKids: [current.key.kid, ...retired.map((k) => k.jwk.kid)] },
    'identity assertion signing keys loaded',
  );
  return new SigningKeyRing({
    current: current.key,
    currentJwk: current.jwk,
    retired,
    now: options.now,
    retentionMs,
    logger: options.logger,
  });
}

function buildState(
  current: SigningKey,
  currentJwk: PublishedJwk,
  retired: readonly RetiredKey[],
): RingState {
  const keys = [currentJwk, ...retired.map((key) => key.jwk)].map((jwk) =>
    Object.freeze({ ...jwk }),
  );
  return Object.freeze({
    current,
    jwks: Object.freeze({ keys: Object.freeze(keys) }),
    retired: Object.freeze([...retired]),
  });
}

function describeSource(
  input: SigningKeyInput,
  fallback: string,
): { source: string; text: string } {
  return typeof input === 'string' ? { source: fallback, text: input } : input;
}

/**
 * Parses PEM or JWK JSON through node:crypto and checks it is an EC P-256 key. Error messages
 * name the source but never quote the text: V8's JSON errors echo the input, which here would
 * be private key material, so they are not passed on as the cause.
 */
function parseKey(
  input: SigningKeyInput,
  fallbackSource: string,
  need: 'private' | 'any',
): ParsedKey {
  const { source, text } = describeSource(input, fallbackSource);
  const trimmed = text.trim();
  let keyObject: KeyObject;
  if (trimmed.startsWith('{')) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(trimmed);
    } catch {
      throw new SigningKeyError(`${source}: looks like a JWK but is not valid JSON`);
    }
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || !('kty' in jwk)) {
      throw new SigningKeyError(
        `${source}: expected a single JWK object with "kty" (not a JWK Set); got other JSON`,
      );
    }
    const isPrivate = 'd' in jwk;
    if (need === 'private' && !isPrivate) {
      throw new SigningKeyError(
        `${source}: is a public JWK; the signing key must be private (with "d")`,
      );
    }
    try {
      keyObject = isPrivate
        ? createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' })
        : createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch (error) {
      throw new SigningKeyError(`${source}: unreadable JWK (${errorMessage(error)})`, {
        cause: error,
      });
    }
  } else if (trimmed.startsWith('-----BEGIN ')) {
    const isPublic = /^-----BEGIN (?:EC )?PUBLIC KEY-----/.test(trimmed);
    if (need === 'private' && isPublic) {
      throw new SigningKeyError(
        `${source}: is a public key; the signing key must be a private key`,
      );
    }
    if (trimmed.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
      throw new SigningKeyError(`${source}: is an encrypted private key; mount it unencrypted`);
    }
    try {
      keyObject = isPublic ? createPublicKey(trimmed) : createPrivateKey(trimmed);
    } catch (error) {
      throw new SigningKeyError(`${source}: unreadable PEM key (${errorMessage(error)})`, {
        cause: error,
      });
    }
  } else {
    throw new SigningKeyError(
      `${source}: neither a PEM key ("-----BEGIN PRIVATE KEY-----") nor a JWK (JSON object)`,
    );
  }

  if (keyObject.asymmetricKeyType !== 'ec') {
    throw new SigningKeyError(
      `${source}: is an ${keyObject.asymmetricKeyType ?? 'unknown'} key; identity assertions are ` +
        `signed with ES256 and need an EC P-256 key (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)`,
    );
  }
  const curve = keyObject.asymmetricKeyDetails?.namedCurve;
  if (curve !== 'prime256v1') {
    throw new SigningKeyError(
      `${source}: is an EC key on curve ${curveName(curve)}; identity assertions are signed with ` +
        `ES256 and need curve P-256 (prime256v1)`,
    );
  }
  return { source, keyObject };
}

const curveNames: Readonly<Record<string, string>> = {
  secp384r1: 'P-384',
  secp521r1: 'P-521',
  secp256k1: 'secp256k1',
};

function curveName(curve: string | undefined): string {
  if (curve === undefined) return 'unknown';
  const known = curveNames[curve];
  return known === undefined ? curve : `${known} (${curve})`;
}

/** Node's key errors name the failing decoder or member, never key bytes, so they may be shown. */
function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : 'unknown error';
}

async function publishedJwk(parsed: ParsedKey): Promise<PublishedJwk> {
  const publicKey =
    parsed.keyObject.type === 'public' ? parsed.keyObject : createPublicKey(parsed.keyObject);
  return publicJwkFrom(await exportJWK(publicKey), parsed.source);
}

/** Keeps only the public members (RFC 7518 §6.2.1), so `d` can never be published. */
async function publicJwkFrom(exported: JWK, source: string): Promise<PublishedJwk> {
  const { kty, crv, x, y } = exported;
  if (kty !== 'EC' || crv !== 'P-256' || x === undefined || y === undefined) {
    throw new SigningKeyError(`${source}: could not derive an EC P-256 public key`);
  }
  const kid = await calculateJwkThumbprint({ kty, crv, x, y }, 'sha256');
  return { kty: 'EC', crv: 'P-256', x, y, kid, alg: signingAlgorithm, use: 'sig' };
}

async function privateSigningKey(
  parsed: ParsedKey,
): Promise<{ key: SigningKey; jwk: PublishedJwk }> {
  if (parsed.keyObject.type !== 'private') {
    throw new SigningKeyError(`${parsed.source}: the signing key must be a private key`);
  }
  const jwk = await publishedJwk(parsed);
  // Non-extractable: once imported, the private key cannot be exported again by any code path.
  const privateKey = parsed.keyObject.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
  ]);
  return { key: Object.freeze({ kid: jwk.kid, privateKey, alg: signingAlgorithm }), jwk };
}

async function generateSigningKey(): Promise<{ key: SigningKey; jwk: PublishedJwk }> {
  const pair = await generateKeyPair(signingAlgorithm);
  const jwk = await publicJwkFrom(await exportJWK(pair.publicKey), 'generated signing key');
  return {
    key: Object.freeze({ kid: jwk.kid, privateKey: pair.privateKey, alg: signingAlgorithm }),
    jwk,
  };
}
