import { describe, expect, it } from 'vitest';
import type { AccessRule, RuleAuthentication } from '../policy/resources.ts';
import { buildSnapshot } from '../policy/snapshot.ts';
import { validateResource } from '../policy/validate.ts';
import { decide, type DecideOptions } from './decide.ts';
import { isAuditOverride } from './audit-mode.ts';
import { authenticationFactsOf, parseMaxAge } from './step-up.ts';
import { authRequest } from '../../test/fixtures/builders/auth-request.ts';
import { identity } from '../../test/fixtures/builders/identity.ts';
import { mapping, policy, prefix } from '../../test/fixtures/builders/policy.ts';

/** 2026-01-01T00:00:00Z: every decision here is made at this instant. */
const nowMs = Date.UTC(2026, 0, 1);
const nowSeconds = nowMs / 1000;
const options: DecideOptions = { superRole: 'admin', noMatch: 'deny', now: () => nowMs };

function stepUp(rule: AccessRule, authentication: RuleAuthentication): AccessRule {
  return { ...rule, authentication };
}

const app = policy({
  hosts: ['app.localhost'],
  rules: [
    stepUp(prefix('billing', '/billing', ['authenticated']), { maxAge: '15m' }),
    stepUp(prefix('keys', '/keys', ['authenticated']), { acr: ['gold', 'platinum'] }),
    stepUp(prefix('vault', '/vault', ['authenticated']), { amr: ['hwk', 'swk'] }),
    stepUp(prefix('ops', '/ops', ['ops']), { maxAge: '1h' }),
    prefix('home', '/', ['authenticated']),
  ],
});
const snapshot = buildSnapshot([app, mapping(['admin'], [{ kind: 'User', name: 'root' }])]);

const signedIn = (ago: number | undefined, extra: { acr?: string; amr?: string[] } = {}) =>
  identity({
    user: 'alice',
    authentication: {
      ...(ago === undefined ? {} : { authTime: nowSeconds - ago }),
      ...extra,
    },
  });
const at = (target: string) => authRequest({ host: 'app.localhost', target });

describe('decide: step-up per rule (issue #19)', () => {
  it('lets a sign-in younger than maxAge through, and asks an older one to sign in again', () => {
    expect(decide(at('/billing'), signedIn(14 * 60), snapshot, options)).toMatchObject({
      outcome: 'allow',
      reason: 'role-granted',
    });
    expect(decide(at('/billing'), signedIn(15 * 60), snapshot, options).outcome).toBe('allow');
    const stale = decide(at('/billing'), signedIn(15 * 60 + 1), snapshot, options);
    expect(stale).toMatchObject({
      outcome: 'unauthenticated',
      reason: 'step-up-required',
      stepUp: ['maxAge'],
    });
    expect(stale.rule?.stepUp).toEqual({ maxAge: 900 });
  });

  it('treats a session without sign-in facts (sealed before step-up) as not meeting any', () => {
    const old = identity({ user: 'alice' });
    expect(decide(at('/billing'), old, snapshot, options)).toMatchObject({
      outcome: 'unauthenticated',
      reason: 'step-up-required',
    });
    expect(decide(at('/keys'), old, snapshot, options).stepUp).toEqual(['acr']);
    expect(decide(at('/vault'), old, snapshot, options).stepUp).toEqual(['amr']);
    // Rules without authentication are not affected.
    expect(decide(at('/home'), old, snapshot, options).outcome).toBe('allow');
  });

  it('does not trust an auth_time far in the future', () => {
    const ahead = signedIn(-120);
    expect(decide(at('/billing'), ahead, snapshot, options).reason).toBe('step-up-required');
    expect(decide(at('/billing'), signedIn(-30), snapshot, options).outcome).toBe('allow');
  });

  it('needs one of the acr values and one of the amr methods', () => {
    expect(decide(at('/keys'), signedIn(5, { acr: 'gold' }), snapshot, options).outcome).toBe(
      'allow',
    );
    expect(decide(at('/keys'), signedIn(5, { acr: 'silver' }), snapshot, options).reason).toBe(
      'step-up-required',
    );
    const withKey = signedIn(5, { amr: ['pwd', 'hwk'] });
    expect(decide(at('/vault'), withKey, snapshot, options).outcome).toBe('allow');
    const password = signedIn(5, { amr: ['pwd'] });
    expect(decide(at('/vault'), password, snapshot, options).reason).toBe('step-up-required');
  });

  it('refuses a caller without the role with 403 whatever the sign-in (no pointless step-up)', () => {
    expect(decide(at('/ops'), signedIn(10 * 3600), snapshot, options)).toMatchObject({
      outcome: 'forbidden',
      reason: 'missing-role',
    });
  });

  it('binds the super role too', () => {
    const root = identity({ user: 'root', subject: 'root', authentication: { authTime: 0 } });
    expect(decide(at('/ops'), root, snapshot, options)).toMatchObject({
      outcome: 'unauthenticated',
      reason: 'step-up-required',
    });
    const fresh = identity({ user: 'root', authentication: { authTime: nowSeconds - 60 } });
    expect(decide(at('/ops'), fresh, snapshot, options).reason).toBe('super-role');
  });

  it('asks an anonymous caller to sign in (the rule carries the step-up for the link)', () => {
    const anonymous = decide(at('/billing'), null, snapshot, options);
    expect(anonymous).toMatchObject({
      outcome: 'unauthenticated',
      reason: 'authentication-required',
    });
    expect(anonymous.rule?.stepUp).toEqual({ maxAge: 900 });
  });

  it('judges a bearer token by its own auth_time and acr claims', () => {
    const token = identity({
      user: 'svc',
      method: 'bearer',
      authentication: { authTime: nowSeconds - 3600 },
    });
    expect(decide(at('/billing'), token, snapshot, options)).toMatchObject({
      outcome: 'unauthenticated',
      reason: 'step-up-required',
    });
  });

  it('applies a guardrail step-up before the rules behind it', () => {
    const guarded = buildSnapshot([
      app,
      policy({
        kind: 'ClusterAccessPolicy',
        name: 'admin-guard',
        hosts: ['app.localhost'],
        rules: [
          {
            ...prefix('fresh-admin', '/home', ['authenticated']),
            enforcement: 'Guardrail',
            authentication: { maxAge: '5m' },
          },
        ],
      }),
    ]);
    const refused = decide(at('/home'), signedIn(600), guarded, options);
    expect(refused).toMatchObject({ outcome: 'unauthenticated', reason: 'step-up-required' });
    expect(refused.rule?.enforcement).toBe('Guardrail');
    expect(isAuditOverride(refused)).toBe(false);
    expect(decide(at('/home'), signedIn(60), guarded, options).reason).toBe('role-granted');
  });

  it('is only logged in an Audit policy', () => {
    const audited = buildSnapshot([
      policy({
        hosts: ['app.localhost'],
        mode: 'Audit',
        rules: [stepUp(prefix('billing', '/billing', ['authenticated']), { maxAge: '15m' })],
      }),
    ]);
    const decision = decide(at('/billing'), signedIn(3600), audited, options);
    expect(decision.reason).toBe('step-up-required');
    expect(isAuditOverride(decision)).toBe(true);
  });
});

describe('parseMaxAge', () => {
  it.each([
    ['900', 900],
    ['15m', 900],
    ['1h30m', 5400],
    ['1d', 86_400],
    ['60s', 60],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseMaxAge(text)).toBe(seconds);
  });

  it.each([
    ['30s', 'under a minute'],
    ['0', 'under a minute'],
    ['367d', 'more than 366 days'],
    ['15 m', 'not a duration'],
    ['1.5h', 'not a duration'],
    ['500ms', 'not a duration'],
    ['', 'not a duration'],
  ])('refuses %j (%s)', (text, why) => {
    expect(parseMaxAge(text)).toEqual(expect.stringContaining(why));
  });
});

describe('authenticationFactsOf', () => {
  it('keeps well-formed auth_time, acr and amr and drops the rest', () => {
    expect(
      authenticationFactsOf({ auth_time: 1700000000.7, acr: 'gold', amr: ['pwd', 3] }),
    ).toEqual({ authTime: 1700000000, acr: 'gold', amr: ['pwd'] });
    expect(authenticationFactsOf({ auth_time: '1700000000', acr: 7, amr: 'pwd' })).toBeUndefined();
  });
});

describe('policy validation of authentication', () => {
  const manifest = (rule: Record<string, unknown>) => ({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'AccessPolicy',
    metadata: { name: 'p', namespace: 'demo', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: {
      hosts: ['app.localhost'],
      rules: [{ name: 'r', match: [{ path: { type: 'PathPrefix', value: '/' } }], ...rule }],
    },
  });
  const messages = (rule: Record<string, unknown>): string[] => {
    const result = validateResource(manifest(rule));
    return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
  };

  it('accepts a step-up rule', () => {
    expect(
      messages({ roles: ['authenticated'], authentication: { maxAge: '15m', acr: ['gold'] } }),
    ).toEqual([]);
  });

  it.each([
    [{ roles: ['guest'], authentication: { maxAge: '15m' } }, 'the rule cannot admit guest'],
    [{ action: 'Deny', authentication: { maxAge: '15m' } }, 'action: Deny are mutually exclusive'],
    [{ roles: ['authenticated'], authentication: {} }, 'authentication needs maxAge, acr or amr'],
    [{ roles: ['authenticated'], authentication: { maxAge: '30s' } }, 'under a minute'],
    [{ roles: ['authenticated'], authentication: { maxAge: 'soon' } }, 'duration in whole seconds'],
    [{ roles: ['authenticated'], authentication: { acr: ['a b'] } }, 'acr or amr value'],
  ])('refuses %j', (rule, message) => {
    expect(messages(rule).join('\n')).toContain(message);
  });
});
