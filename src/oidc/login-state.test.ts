import { describe, expect, it } from 'vitest';
import {
  isWellFormedToken,
  openLoginState,
  randomToken,
  sealLoginState,
  type LoginState,
} from './login-state.ts';

const state: LoginState = {
  provider: 'dev',
  codeVerifier: 'verifier-0123456789-verifier-0123456789-abc',
  nonce: 'nonce-abcdef',
  rd: 'https://app.example.com/private',
  createdAt: 1_700_000_000_000,
};

describe('login state', () => {
  it('opens only with the binding cookie that sealed it, and keeps its secrets unreadable at rest', () => {
    const binding = randomToken();
    const stored = sealLoginState(state, 'state-key', binding);
    for (const secret of [state.codeVerifier, state.nonce, state.rd])
      expect(stored).not.toContain(secret);
    expect(openLoginState(stored, 'state-key', [binding])).toEqual({ ok: true, state });
    // Several binding cookies (another path or domain): the matching one is found.
    expect(openLoginState(stored, 'state-key', [randomToken(), binding])).toEqual({
      ok: true,
      state,
    });
    expect(openLoginState(stored, 'state-key', [randomToken()])).toEqual({
      ok: false,
      reason: 'other-browser',
    });
    expect(openLoginState(stored, 'state-key', [])).toEqual({ ok: false, reason: 'other-browser' });
  });

  it('does not open under another state key, or when tampered with', () => {
    const binding = randomToken();
    const stored = sealLoginState(state, 'state-key', binding);
    expect(openLoginState(stored, 'another-key', [binding])).toEqual({
      ok: false,
      reason: 'other-browser',
    });
    const record = JSON.parse(stored) as { s: string };
    const tampered = JSON.stringify({ ...record, s: `${record.s.slice(0, -2)}AA` });
    expect(openLoginState(tampered, 'state-key', [binding]).ok).toBe(false);
    expect(openLoginState('not json', 'state-key', [binding])).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('keeps the max_age a step-up asked for, so the callback can check auth_time against it', () => {
    const binding = randomToken();
    const stepUp: LoginState = { ...state, maxAge: 900 };
    expect(openLoginState(sealLoginState(stepUp, 'k', binding), 'k', [binding])).toEqual({
      ok: true,
      state: stepUp,
    });
    const odd = sealLoginState({ ...state, maxAge: 1.5 }, 'k', binding);
    expect(openLoginState(odd, 'k', [binding])).toEqual({ ok: false, reason: 'malformed' });
  });

  it('issues 256-bit tokens in the one canonical spelling', () => {
    const token = randomToken();
    expect(isWellFormedToken(token)).toBe(true);
    expect(isWellFormedToken(`${token.slice(0, 42)}B`)).toBe(false);
    expect(isWellFormedToken(`${token}A`)).toBe(false);
    expect(isWellFormedToken(undefined)).toBe(false);
  });
});
