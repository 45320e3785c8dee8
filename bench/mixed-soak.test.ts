import { describe, expect, it } from 'vitest';
import { claimsOf, DEMO_USERS } from '../dev/demo-users.ts';
import type { Identity } from '../src/authz/identity.ts';
import type { AuthRequest } from '../src/authz/auth-request.ts';
import { decide } from '../src/authz/decide.ts';
import { normalisePath } from '../src/authz/path.ts';
import { buildSnapshot } from '../src/policy/snapshot.ts';
import type { PolicySnapshot } from '../src/policy/snapshot.ts';
import { loadPolicyDocuments } from '../src/policy/sources/files/file-source.ts';
import {
  acceptableStates,
  answerMatches,
  canaryPath,
  canaryStatus,
  expectedOutcome,
  judgeCheck,
  judgeMixedSoak,
  maximumOtherErrorRate,
  policyStates,
  soakPaths,
  soakPolicyManifest,
  soakUsers,
} from './mixed-soak.ts';
import type { Expected, ObservedAnswer, PolicyState, SoakCounts, SoakUser } from './mixed-soak.ts';
import type { RssSample } from './soak.ts';

const host = 'app.localhost';
const origin = `http://${host}:8088`;
const signInPrefix = `${origin}/oauth2/start?rd=`;

function identityOf(username: SoakUser): Identity {
  const user = DEMO_USERS.find((candidate) => candidate.username === username);
  if (user === undefined) throw new Error(`no demo user ${username}`);
  return {
    subject: user.subject,
    user: user.username,
    email: user.email,
    groups: user.groups,
    claims: claimsOf(user),
    provider: 'dev',
    method: 'session',
  };
}

function nginxRequest(path: string): AuthRequest {
  return {
    dialect: 'nginx',
    method: 'GET',
    scheme: 'http',
    host: `${host}:8088`,
    path: normalisePath(path),
    originalUrl: `${origin}${path}`,
    clientIp: '127.0.0.1',
    requestId: 'soak-test',
    acceptsRedirect: true,
    credentials: { headers: {} },
  };
}

const snapshots = new Map<PolicyState, PolicySnapshot>();

/** The snapshot gatehouse builds from the soak's policy file in `state`. */
function snapshotOf(state: PolicyState): PolicySnapshot {
  let snapshot = snapshots.get(state);
  if (snapshot === undefined) {
    const loaded = loadPolicyDocuments([
      { path: 'soak.yaml', text: soakPolicyManifest(state, host) },
    ]);
    expect(loaded.problems).toEqual([]);
    snapshot = buildSnapshot(loaded.resources);
    snapshots.set(state, snapshot);
  }
  return snapshot;
}

/** What gatehouse's own decide() says on the snapshot built from the soak's policy file. */
function decidedOutcome(state: PolicyState, user: SoakUser | null, path: string): Expected {
  const decision = decide(
    nginxRequest(path),
    user === null ? null : identityOf(user),
    snapshotOf(state),
  );
  if (decision.outcome === 'allow') return { kind: 'allow', user };
  return decision.outcome === 'unauthenticated' ? { kind: 'sign-in' } : { kind: 'forbidden' };
}

const everyone: readonly (SoakUser | null)[] = [null, ...soakUsers];

describe('the expectation table', () => {
  it('agrees with decide() on the policy file, in both states, for every user and path', () => {
    for (const state of policyStates) {
      for (const user of everyone) {
        for (const path of soakPaths) {
          expect(
            expectedOutcome(state, user, path),
            `${state} ${user ?? 'anonymous'} ${path}`,
          ).toEqual(decidedOutcome(state, user, path));
        }
      }
    }
  });

  it('makes every edit change what someone sees, signed in or not', () => {
    const changed = (user: SoakUser | null) =>
      soakPaths.filter(
        (path) =>
          JSON.stringify(expectedOutcome('closed', user, path)) !==
          JSON.stringify(expectedOutcome('open', user, path)),
      );
    for (const user of everyone) expect(changed(user), user ?? 'anonymous').not.toEqual([]);
    expect(changed('carol')).toContain('/staff/roster');
  });

  it('gives the canary a different direct answer in each state', () => {
    expect(canaryStatus('closed')).toBe(403);
    expect(canaryStatus('open')).toBe(401);
    expect(decidedOutcome('closed', null, canaryPath)).toEqual({ kind: 'forbidden' });
  });
});

describe('judging an answer', () => {
  const echo = (path: string, user: string | undefined): ObservedAnswer => ({
    status: 200,
    location: null,
    echo: { path, user },
  });

  it('accepts an allow only with the right user reaching the application', () => {
    const expected: Expected = { kind: 'allow', user: 'bob' };
    expect(answerMatches(expected, echo('/private', 'bob'), '/private', signInPrefix)).toBe(true);
    expect(answerMatches(expected, echo('/private', 'alice'), '/private', signInPrefix)).toBe(
      false,
    );
    expect(answerMatches(expected, echo('/private', undefined), '/private', signInPrefix)).toBe(
      false,
    );
    expect(answerMatches(expected, echo('/other', 'bob'), '/private', signInPrefix)).toBe(false);
    // A 200 that did not come from the application (an nginx page, say) is not an allow.
    expect(answerMatches(expected, { status: 200, location: null }, '/private', signInPrefix)).toBe(
      false,
    );
  });

  it('accepts an anonymous allow only when no user reached the application', () => {
    const expected: Expected = { kind: 'allow', user: null };
    expect(
      answerMatches(expected, echo('/public/page', undefined), '/public/page', signInPrefix),
    ).toBe(true);
    expect(answerMatches(expected, echo('/public/page', ''), '/public/page', signInPrefix)).toBe(
      true,
    );
    expect(answerMatches(expected, echo('/public/page', 'zoe'), '/public/page', signInPrefix)).toBe(
      false,
    );
  });

  it('accepts a sign-in only as a redirect to the sign-in start on the app host', () => {
    const redirect = (location: string): ObservedAnswer => ({ status: 302, location });
    const expected: Expected = { kind: 'sign-in' };
    expect(
      answerMatches(expected, redirect(`${signInPrefix}${origin}%2Fx`), '/x', signInPrefix),
    ).toBe(true);
    expect(answerMatches(expected, redirect('https://evil.test/'), '/x', signInPrefix)).toBe(false);
    expect(answerMatches(expected, { status: 401, location: null }, '/x', signInPrefix)).toBe(
      false,
    );
  });

  it('calls a 5xx a server error, never a decision, and accepts any acceptable state', () => {
    const both: Expected[] = [{ kind: 'forbidden' }, { kind: 'sign-in' }];
    expect(judgeCheck(both, { status: 502, location: null }, '/x', signInPrefix)).toBe(
      'server-error',
    );
    expect(judgeCheck(both, { status: 403, location: null }, '/x', signInPrefix)).toBe('right');
    expect(judgeCheck([{ kind: 'forbidden' }], echo('/x', 'bob'), '/x', signInPrefix)).toBe(
      'wrong',
    );
  });
});

describe('the switch window', () => {
  it('judges a request that saw no edit against the applied state only', () => {
    const view = { epoch: 4, applied: 'open' as const, pending: null };
    expect(acceptableStates(view, view)).toEqual({ states: ['open'], inSwitchWindow: false });
  });

  it('accepts either state while an edit is written but not yet seen applied', () => {
    const switching = { epoch: 5, applied: 'open' as const, pending: 'closed' as const };
    expect(acceptableStates(switching, switching)).toEqual({
      states: ['closed', 'open'],
      inSwitchWindow: true,
    });
  });

  it('accepts either state when the switch began or ended while the request was in flight', () => {
    const before = { epoch: 4, applied: 'open' as const, pending: null };
    const after = { epoch: 6, applied: 'closed' as const, pending: null };
    expect(acceptableStates(before, after)).toEqual({
      states: ['closed', 'open'],
      inSwitchWindow: true,
    });
  });
});

describe('the verdict', () => {
  const clean: SoakCounts = {
    requests: 100_000,
    checks: 80_000,
    checksInSwitchWindow: 120,
    logins: 3_000,
    logouts: 1_500,
    policyEdits: 29,
    policyEditsNotApplied: 0,
    wrongDecisions: 0,
    serverErrors: 0,
    otherErrors: 0,
  };
  /** A sample every 5 s over 10 minutes, at `rss(t)` bytes. */
  const samples = (rss: (seconds: number) => number): RssSample[] =>
    Array.from({ length: 121 }, (_, index) => ({
      atSeconds: index * 5,
      rssBytes: rss(index * 5),
    }));
  const flat = samples((seconds) => (seconds < 120 ? 100e6 + seconds * 1e5 : 112e6));

  it('passes a clean run whose memory settled after the warm-up', () => {
    const verdict = judgeMixedSoak(clean, flat, 120, 600);
    expect(verdict).toMatchObject({ passed: true, reasons: [] });
    expect(verdict.baselineRssBytes).toBe(112e6);
  });

  it('fails on a single wrong decision, 5xx or unapplied edit', () => {
    for (const [field, reason] of [
      ['wrongDecisions', /1 wrong decisions/],
      ['serverErrors', /1 answers were 5xx/],
      ['policyEditsNotApplied', /1 policy edits were never applied/],
    ] as const) {
      const verdict = judgeMixedSoak({ ...clean, [field]: 1 }, flat, 120, 600);
      expect(verdict.passed, field).toBe(false);
      expect(verdict.reasons.join('\n')).toMatch(reason);
    }
  });

  it('tolerates other errors only up to the limit', () => {
    const limit = clean.requests * maximumOtherErrorRate;
    expect(judgeMixedSoak({ ...clean, otherErrors: limit }, flat, 120, 600).passed).toBe(true);
    expect(judgeMixedSoak({ ...clean, otherErrors: limit + 1 }, flat, 120, 600).passed).toBe(false);
  });

  it('fails when nothing was checked', () => {
    expect(judgeMixedSoak({ ...clean, checks: 0 }, flat, 120, 600).reasons).toContain(
      'no decision was checked',
    );
  });

  it('fails when memory keeps growing after the warm-up', () => {
    const leaking = samples((seconds) => 100e6 + seconds * 4e4);
    const verdict = judgeMixedSoak(clean, leaking, 120, 600);
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons.join('\n')).toMatch(/RSS grew 1\d\.\d% after the warm-up/);
  });

  it('reports peak-to-peak growth beside the judged figure, without judging it', () => {
    // A compacting collection right at the end of the warm-up: a trough as the baseline.
    const trough = flat.map((sample) =>
      sample.atSeconds === 120 ? { ...sample, rssBytes: 80e6 } : sample,
    );
    const verdict = judgeMixedSoak(clean, trough, 120, 600);
    expect(verdict.passed).toBe(false);
    expect(verdict.growth).toBeCloseTo(0.4);
    expect(verdict.peakGrowth).toBe(0);
  });

  it('cannot pass without samples after the warm-up', () => {
    const early = flat.filter((sample) => sample.atSeconds < 100);
    expect(judgeMixedSoak(clean, early, 120, 600).reasons).toContain(
      'not enough RSS samples to judge growth',
    );
  });
});
