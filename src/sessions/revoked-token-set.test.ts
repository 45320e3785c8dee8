import { describe, expect, it } from 'vitest';
import { DependencyError } from '../errors.ts';
import { memorySessionsOnClock } from '../../test/fixtures/builders/memory-sessions.ts';
import { RevokedTokenSet } from './revoked-token-set.ts';
import {
  tokenRevocationKey,
  type RevokedToken,
  type TokenRevocationStore,
} from './token-revocations.ts';

const MINUTE = 60_000;

function setup() {
  const sessions = memorySessionsOnClock();
  const set = new RevokedTokenSet({ store: sessions.store, now: sessions.now });
  return { ...sessions, set };
}

describe('RevokedTokenSet', () => {
  it('loads the revocations in force, then follows new ones, until each expires', async () => {
    const { store, set, now, advance } = setup();
    await store.revokeToken({ issuer: 'ci', jti: 'before-start', until: now() + 10 * MINUTE });
    await set.start();
    expect(set.isRevoked(tokenRevocationKey('ci', 'before-start'))).toBe(true);
    expect(set.isRevoked(tokenRevocationKey('other', 'before-start'))).toBe(false);
    expect(set.isRevoked(tokenRevocationKey('ci', 'never-revoked'))).toBe(false);

    await store.revokeToken({ issuer: 'ci', jti: 'after-start', until: now() + MINUTE });
    expect(set.isRevoked(tokenRevocationKey('ci', 'after-start'))).toBe(true);
    expect(set.size).toBe(2);

    // Past its `until` the token has expired by itself: the entry goes.
    advance(MINUTE);
    expect(set.isRevoked(tokenRevocationKey('ci', 'after-start'))).toBe(false);
    expect(set.size).toBe(1);
  });

  it('refuses to answer (503) until the list is loaded, and retries a failed load', async () => {
    const { store, now } = setup();
    await store.revokeToken({ issuer: 'ci', jti: 'known', until: now() + MINUTE });
    let failures = 2;
    const flaky: TokenRevocationStore = {
      revokeToken: (token: RevokedToken) => store.revokeToken(token),
      onTokenRevocation: (listener) => store.onTokenRevocation(listener),
      listRevokedTokens: () => {
        if (failures > 0) {
          failures -= 1;
          return Promise.reject(new DependencyError('redis', 'redis listRevokedTokens failed'));
        }
        return store.listRevokedTokens();
      },
    };
    const set = new RevokedTokenSet({ store: flaky, now, retryDelayMs: 5 });
    const started = set.start();
    expect(() => set.isRevoked(tokenRevocationKey('ci', 'known'))).toThrow(DependencyError);
    expect(set.loaded).toBe(false);
    await started;
    expect(failures).toBe(0);
    expect(set.isRevoked(tokenRevocationKey('ci', 'known'))).toBe(true);
  });

  it('picks up, at its next re-read, a revocation whose message it missed', async () => {
    const { store, now } = setup();
    // A replica whose subscription was down when the revocation was published.
    const deaf: TokenRevocationStore = {
      revokeToken: (token) => store.revokeToken(token),
      listRevokedTokens: () => store.listRevokedTokens(),
      onTokenRevocation: () => () => undefined,
    };
    const set = new RevokedTokenSet({ store: deaf, now, refreshIntervalMs: 20 });
    try {
      await set.start();
      await store.revokeToken({ issuer: 'ci', jti: 'missed', until: now() + MINUTE });
      expect(set.isRevoked(tokenRevocationKey('ci', 'missed'))).toBe(false);
      await expect
        .poll(() => set.isRevoked(tokenRevocationKey('ci', 'missed')), { timeout: 1000 })
        .toBe(true);
    } finally {
      set.close();
    }
  });

  it('stops following revocations once closed', async () => {
    const { store, set, now } = setup();
    await set.start();
    set.close();
    await store.revokeToken({ issuer: 'ci', jti: 'late', until: now() + MINUTE });
    expect(set.isRevoked(tokenRevocationKey('ci', 'late'))).toBe(false);
  });
});
