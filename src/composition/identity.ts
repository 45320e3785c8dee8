/**
 * What the upstream learns about the user: the identity header profiles and, when enabled, the
 * signed identity assertion with its signing keys (published as the JWKS).
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { AssertionSigner } from '../identity/assertion.ts';
import { createHeaderProfiles, type HeaderProfiles } from '../identity/header-profiles.ts';
import { loadSigningKeys, type SigningKeyRing } from '../identity/signing-keys.ts';
import type { Runtime } from './runtime.ts';

export interface IdentityParts {
  readonly headerProfiles: HeaderProfiles;
  /** The assertion's keys, current and retired; undefined when the assertion is off. */
  readonly signingKeys: SigningKeyRing | undefined;
  readonly assertion: AssertionSigner | undefined;
}

/** Reads the signing key files (a bad or missing one stops the start). */
export async function buildIdentity(
  config: Pick<Config, 'publicUrl' | 'identityHeaders'>,
  runtime: Runtime,
): Promise<IdentityParts> {
  const { now, logger } = runtime;
  const identityHeaders = config.identityHeaders;
  const headerProfiles = createHeaderProfiles({
    defaultProfile: identityHeaders.profile,
    secRoles: identityHeaders.secRoles,
    ...(Object.keys(identityHeaders.custom).length > 0
      ? { custom: { custom: identityHeaders.custom } }
      : {}),
  });

  const assertionConfig = identityHeaders.assertion;
  if (!assertionConfig.enabled) {
    return { headerProfiles, signingKeys: undefined, assertion: undefined };
  }
  const keyFile = (path: string) => ({ text: readFileSync(path, 'utf8'), source: path });
  const signingKeys = await loadSigningKeys({
    current:
      assertionConfig.signingKeyFile === undefined ? null : keyFile(assertionConfig.signingKeyFile),
    previous: assertionConfig.previousKeyFiles.map(keyFile),
    generate: assertionConfig.generateKey,
    now,
    logger: logger.child({ component: 'assertion' }),
  });
  const assertion = new AssertionSigner({
    keys: signingKeys,
    issuer: config.publicUrl,
    ttlSeconds: Math.floor(assertionConfig.ttl / 1000),
    now,
    logger: logger.child({ component: 'assertion' }),
  });
  return { headerProfiles, signingKeys, assertion };
}
