import { describe, expect, it } from 'vitest';
import { verifyLoginState, type TakenLoginState } from './callback.ts';
import type { LoginState } from './login-state.ts';

const state: LoginState = {
  provider: 'dev',
  codeVerifier: 'v',
  nonce: 'n',
  rd: 'https://app.test/page',
  createdAt: 0,
};
const stateKey = 'k'.repeat(43);
const opened: TakenLoginState = { stateKey, found: true, state };
const params = (query: Record<string, string>) => new URLSearchParams(query);

describe('verifyLoginState (callback step 2)', () => {
  it('hands on the opened state when the provider sent a code for it', () => {
    expect(verifyLoginState(params({ state: stateKey, code: 'c' }), opened)).toEqual({
      state,
      stateKey,
    });
  });

  it('reports the provider\'s error first, keeping the destination for "start again"', () => {
    expect(
      verifyLoginState(
        params({ state: stateKey, error: 'server_error', error_description: 'x'.repeat(400) }),
        opened,
      ),
    ).toEqual({
      failed: 'provider-error',
      provider: 'dev',
      rd: state.rd,
      providerError: { code: 'server_error', description: 'x'.repeat(300) },
    });
    expect(verifyLoginState(params({ error: 'access_denied' }), opened)).toMatchObject({
      failed: 'access-denied',
      rd: state.rd,
    });
  });

  it.each([
    ['no code', { state: stateKey }, opened, 'state-missing'],
    ['no state', { code: 'c' }, { ...opened, stateKey: '' }, 'state-missing'],
    [
      'a state the store no longer holds',
      { state: stateKey, code: 'c' },
      { stateKey, found: false, state: undefined },
      'state-expired',
    ],
    [
      'a state another browser started',
      { state: stateKey, code: 'c' },
      { stateKey, found: true, state: undefined },
      'other-browser',
    ],
  ] as const)('refuses %s', (_case, query, taken, failed) => {
    const result = verifyLoginState(params(query), taken);
    expect(result).toMatchObject({ failed });
    // Nothing of a state this browser cannot open leaks into "start again".
    if (taken.state === undefined) expect(result).not.toHaveProperty('rd');
  });
});
