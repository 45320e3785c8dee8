import { describe, expect, it } from 'vitest';
import type { Identity } from '../authz/identity.ts';
import type { Decision, MatchedRule } from '../authz/decision.ts';
import {
  applyProviderRestriction,
  disallowedSessionProvider,
  isProviderAllowed,
  providerNotAllowed,
  signInUrlWithProvider,
  withProvider,
} from './provider-restriction.ts';

const rule: MatchedRule = {
  kind: 'ClusterAccessPolicy',
  namespace: '',
  policy: 'partner-portal',
  rule: 'members',
  requiredRoles: ['authenticated'],
  action: 'Allow',
  mode: 'Enforce',
  providers: ['partner'],
};

function identity(provider: string, method: Identity['method'] = 'session'): Identity {
  return { subject: 's', user: 'bob', groups: [], claims: {}, provider, method };
}

function allowed(who: Identity | null, matched: MatchedRule | null = rule): Decision {
  return {
    outcome: 'allow',
    reason: 'role-granted',
    rule: matched,
    roles: ['guest', 'authenticated'],
    identity: who,
  };
}

const anonymousNeedsSignIn = (): Decision => ({
  outcome: 'unauthenticated',
  reason: 'authentication-required',
  rule,
  roles: ['guest'],
  identity: null,
});

describe('sign-in per organisation at the check', () => {
  it('refuses a session from a provider the rule does not allow with 403 provider-not-allowed', () => {
    const corp = identity('corp');
    expect(disallowedSessionProvider(allowed(corp))).toBe('corp');
    expect(applyProviderRestriction(allowed(corp), anonymousNeedsSignIn)).toEqual({
      outcome: 'forbidden',
      reason: providerNotAllowed,
      rule,
      roles: ['guest', 'authenticated'],
      identity: corp,
    });
    expect(providerNotAllowed).toBe('provider-not-allowed');
  });

  it('refuses it too when decide() already refused (a missing role is not the real reason)', () => {
    const corp = identity('corp');
    const forbidden: Decision = { ...allowed(corp), outcome: 'forbidden', reason: 'missing-role' };
    expect(applyProviderRestriction(forbidden, anonymousNeedsSignIn).reason).toBe(
      providerNotAllowed,
    );
  });

  it('decides a guest path as anonymous: allowed, with no identity', () => {
    const guest: Decision = { ...allowed(null), reason: 'role-granted' };
    expect(applyProviderRestriction(allowed(identity('corp')), () => guest)).toBe(guest);
  });

  it('leaves allowed providers, unrestricted rules and other identity sources alone', () => {
    const partner = allowed(identity('partner'));
    expect(applyProviderRestriction(partner, anonymousNeedsSignIn)).toBe(partner);
    const { providers: _providers, ...withoutProviders } = rule;
    const unrestricted = allowed(identity('corp'), withoutProviders);
    expect(applyProviderRestriction(unrestricted, anonymousNeedsSignIn)).toBe(unrestricted);
    for (const method of ['bearer', 'header', 'basic'] as const) {
      const other = allowed(identity('corp', method));
      expect(applyProviderRestriction(other, anonymousNeedsSignIn)).toBe(other);
    }
    expect(disallowedSessionProvider(allowed(null))).toBeNull();
  });

  it('isProviderAllowed: undefined allows every provider', () => {
    expect(isProviderAllowed(undefined, 'corp')).toBe(true);
    expect(isProviderAllowed(['partner'], 'corp')).toBe(false);
  });
});

describe('sign-in URLs for restricted hosts', () => {
  const start =
    'https://auth.example.com/oauth2/start?rd=https%3A%2F%2Fpartner.example.com%2Fa%3Fb%3D1';

  it('names the one allowed provider, so /oauth2/start shows no chooser', () => {
    expect(signInUrlWithProvider(start, ['partner'])).toBe(`${start}&provider=partner`);
  });

  it('leaves the URL as it is for several providers, none, or no URL', () => {
    expect(signInUrlWithProvider(start, ['partner', 'corp'])).toBe(start);
    expect(signInUrlWithProvider(start, undefined)).toBe(start);
    expect(signInUrlWithProvider('', ['partner'])).toBe('');
  });

  it('withProvider replaces a provider already there and keeps rd intact', () => {
    const url = new URL(withProvider(`${start}&provider=corp`, 'partner'));
    expect(url.searchParams.getAll('provider')).toEqual(['partner']);
    expect(url.searchParams.get('rd')).toBe('https://partner.example.com/a?b=1');
    expect(withProvider('https://auth.example.com/oauth2/start', 'p')).toBe(
      'https://auth.example.com/oauth2/start?provider=p',
    );
  });
});
