import { describe, expect, it } from 'vitest';
import { parseStepUpParams, stepUpRequestFor, withStepUp } from './step-up.ts';
import { stepUpChallenge } from '../authn/token-rejection.ts';

describe('parseStepUpParams: what a start link may ask the provider for', () => {
  it('reads max_age, acr_values and prompt=login', () => {
    expect(
      parseStepUpParams({ maxAge: '900', acrValues: 'gold platinum', prompt: 'login' }),
    ).toEqual({
      ok: true,
      request: { maxAge: 900, acrValues: ['gold', 'platinum'], promptLogin: true },
    });
    expect(parseStepUpParams({})).toEqual({ ok: true, request: undefined });
  });

  it.each([
    [{ maxAge: '0' }, 'max_age'],
    [{ maxAge: '-5' }, 'max_age'],
    [{ maxAge: '15m' }, 'max_age'],
    [{ maxAge: '99999999' }, 'max_age'],
    [{ acrValues: 'gold  platinum' }, 'acr_values'],
    [{ acrValues: 'a"b' }, 'acr_values'],
    [{ acrValues: 'a b c d e f g h i' }, 'acr_values'],
    [{ prompt: 'none' }, 'prompt'],
  ])('refuses %j', (params, name) => {
    const parsed = parseStepUpParams(params);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toContain(name);
  });
});

describe('withStepUp: the sign-in link of a rule that asks for a step-up', () => {
  const signIn = 'https://auth.example.com/oauth2/start?rd=https%3A%2F%2Fapp.example.com%2Fx';

  it('asks for max_age and a fresh login when the age matters', () => {
    const url = new URL(withStepUp(signIn, { maxAge: 900 }));
    expect(url.searchParams.get('rd')).toBe('https://app.example.com/x');
    expect(url.searchParams.get('max_age')).toBe('900');
    expect(url.searchParams.get('prompt')).toBe('login');
    expect(url.searchParams.has('acr_values')).toBe(false);
  });

  it('asks for acr_values without forcing a login, and forces one for amr', () => {
    const acr = new URL(withStepUp(signIn, { acr: ['gold', 'platinum'] }));
    expect(acr.searchParams.get('acr_values')).toBe('gold platinum');
    expect(acr.searchParams.has('prompt')).toBe(false);
    expect(stepUpRequestFor({ amr: ['hwk'] })).toEqual({ promptLogin: true });
  });

  it('replaces step-up parameters the link already had, and leaves other links alone', () => {
    const url = new URL(withStepUp(`${signIn}&max_age=99999&prompt=none`, { maxAge: 300 }));
    expect(url.searchParams.getAll('max_age')).toEqual(['300']);
    expect(url.searchParams.getAll('prompt')).toEqual(['login']);
    expect(withStepUp(signIn, undefined)).toBe(signIn);
    expect(withStepUp('', { maxAge: 300 })).toBe('');
  });
});

describe('stepUpChallenge (RFC 9470 §3)', () => {
  it('names the error and what to ask the authorization server for', () => {
    expect(stepUpChallenge({ maxAge: 900, acr: ['gold', 'platinum'] })).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="gold platinum", max_age=900',
    );
  });
});
