import { describe, expect, it } from 'vitest';
import type { AuthRequest } from '../authz/auth-request.ts';
import type { Decision, MatchedRule } from '../authz/decision.ts';
import type { Identity } from '../authz/identity.ts';
import { BadRequestError } from '../errors.ts';
import type { IncomingCheck, RespondInputs } from './dialect.ts';
import { oauth2ProxyDialect } from './oauth2-proxy.ts';
import { ProxyTrust } from './proxy-trust.ts';
import { thrown } from '../../test/fixtures/builders/thrown.ts';

const trust = new ProxyTrust(['10.0.0.0/8']);

/** An ingress-nginx auth subrequest to `http://gatehouse…/oauth2/auth<query>`. */
function check(query: string, headers: Record<string, string> = {}): IncomingCheck {
  return {
    method: 'GET',
    target: `/oauth2/auth${query}`,
    headers: {
      host: 'gatehouse.gatehouse.svc',
      'x-original-url': 'http://shop.test/admin/orders',
      'x-original-method': 'DELETE',
      'x-real-ip': '198.51.100.23',
      cookie: '_gatehouse=v1.abc.def',
      accept: 'text/html',
      ...headers,
    },
    remoteAddress: '::ffff:10.2.0.15',
  };
}

const parse = (query: string, headers?: Record<string, string>): AuthRequest =>
  oauth2ProxyDialect.parse(check(query, headers), trust, 'req-1');

const alice: Identity = {
  subject: 'u-1',
  user: 'alice',
  email: 'alice@example.com',
  groups: ['staff'],
  claims: {},
  provider: 'corp',
  method: 'session',
};

const auditRule: MatchedRule = {
  kind: 'AccessPolicy',
  namespace: 'shop',
  policy: 'shop',
  rule: 'admin',
  requiredRoles: ['shop-admin'],
  action: 'Allow',
  mode: 'Audit',
  upstreamTokens: { accessToken: { header: 'X-Auth-Request-Access-Token' } },
};

/** What decide() would say; records whether it was asked. */
function policyAnswer(decision: Partial<Decision> = {}) {
  const answer = {
    calls: 0,
    policy: (): Decision => {
      answer.calls += 1;
      return {
        outcome: 'allow',
        reason: 'role-granted',
        rule: auditRule,
        roles: ['guest', 'authenticated', 'shop-admin'],
        identity: alice,
        ...decision,
      };
    },
  };
  return answer;
}

function judge(request: AuthRequest, identity: Identity | null, decision?: Partial<Decision>) {
  const answer = policyAnswer(decision);
  const judge = oauth2ProxyDialect.judge;
  if (judge === undefined) throw new Error('the oauth2-proxy dialect must judge');
  return { decision: judge(request, identity, answer.policy), policyCalls: answer.calls };
}

const inputs: RespondInputs = {
  identityHeaders: [
    ['X-Auth-Request-User', 'alice'],
    ['X-Auth-Request-Email', 'alice@example.com'],
    ['X-Auth-Request-Access-Token', 'at-secret'],
    ['x-gatehouse-assertion', 'eyJhbGciOiJFUzI1NiJ9.x.y'],
  ],
  identityHeaderNames: [],
  signInUrl: 'https://auth.test/oauth2/start?rd=https%3A%2F%2Fshop.test%2Fadmin%2Forders',
};

describe('oauth2-proxy dialect without a routed host: what oauth2-proxy judges, nothing more', () => {
  it('reads the credentials only, never the host of X-Original-URL (the client Host header)', () => {
    const request = parse('?allowed_groups=staff');
    expect(request).toMatchObject({
      dialect: 'oauth2-proxy',
      host: '',
      path: { ok: false },
      originalUrl: '',
      method: 'DELETE',
      clientIp: '198.51.100.23',
      acceptsRedirect: false,
      credentials: { cookie: '_gatehouse=v1.abc.def' },
    });
  });

  it('needs no X-Original-URL nor X-Original-Method (plain nginx and Traefik oauth2-proxy setups)', () => {
    const request = oauth2ProxyDialect.parse(
      { method: 'GET', target: '/oauth2/auth', headers: {}, remoteAddress: '10.0.0.1' },
      trust,
      'req-2',
    );
    expect(request.method).toBe('GET');
    expect(request.host).toBe('');
  });

  it('answers an anonymous caller 401, a user outside the lists 403, a user inside 202, without asking the policy', () => {
    const request = parse('?allowed_groups=staff,admins');
    expect(judge(request, null)).toMatchObject({
      decision: { outcome: 'unauthenticated', reason: 'authentication-required', rule: null },
      policyCalls: 0,
    });
    expect(judge(request, { ...alice, groups: ['customers'] })).toMatchObject({
      decision: { outcome: 'forbidden', reason: 'not-in-allowed-list', rule: null },
      policyCalls: 0,
    });
    expect(judge(request, alice)).toMatchObject({
      decision: {
        outcome: 'allow',
        reason: 'authenticated-only',
        rule: null,
        roles: ['guest', 'authenticated'],
        identity: alice,
      },
      policyCalls: 0,
    });
  });

  it('answers 202 with the identity headers, the assertion empty (no host to vouch for)', () => {
    const request = parse('');
    const { decision } = judge(request, alice);
    // No rule, so no `spec.upstreamTokens`: upstreamHeadersFor() renders no token header.
    const identityHeaders = inputs.identityHeaders.filter(([name]) => !name.endsWith('-Token'));
    const response = oauth2ProxyDialect.respond(decision, request, { ...inputs, identityHeaders });
    expect(response.status).toBe(202);
    expect(response.headers).toEqual([
      ['X-Auth-Request-User', 'alice'],
      ['X-Auth-Request-Email', 'alice@example.com'],
      ['x-gatehouse-assertion', ''],
    ]);
  });

  it('answers 401 without a Location built from the client Host header, and 403 plainly', () => {
    const request = parse('');
    const unauthenticated = oauth2ProxyDialect.respond(judge(request, null).decision, request, {
      ...inputs,
      challenges: ['Bearer realm="auth.test"'],
    });
    expect(unauthenticated).toEqual({
      status: 401,
      headers: [['WWW-Authenticate', 'Bearer realm="auth.test"']],
      page: 'unauthenticated',
    });
    const forbidden = oauth2ProxyDialect.respond(
      judge(parse('?allowed_emails=bob@example.com'), alice).decision,
      request,
      inputs,
    );
    expect(forbidden).toEqual({ status: 403, headers: [], page: 'forbidden' });
  });

  it('refuses an ambiguous auth URL query with 400 before reading anything else', () => {
    const error = thrown(BadRequestError, () => parse('?allowed_groups=a&allowed_groups=b'));
    expect(error.status).toBe(400);
  });
});

describe('oauth2-proxy dialect with ?host=$host: the nginx boundary rules, then the policy too', () => {
  const routed = '?host=shop.test&allowed_groups=staff';

  it('reads the check exactly as /authz/nginx does', () => {
    const request = parse(routed);
    expect(request).toMatchObject({
      dialect: 'oauth2-proxy',
      host: 'shop.test',
      path: { ok: true, value: '/admin/orders' },
      method: 'DELETE',
      originalUrl: 'http://shop.test/admin/orders',
    });
  });

  it.each([
    ['a Host header other than the routed host', { 'x-original-url': 'http://www.test/admin' }],
    ['a missing X-Original-Method', { 'x-original-method': '' }],
    ['"?" after the host', { 'x-original-url': 'http://shop.test?/admin' }],
  ])('refuses %s with 400, as /authz/nginx', (_what, headers) => {
    const error = thrown(BadRequestError, () => parse(routed, headers));
    expect(error.status).toBe(400);
  });

  it('asks the policy only once oauth2-proxy would let the user in', () => {
    const request = parse(routed);
    expect(judge(request, null).policyCalls).toBe(0);
    expect(judge(request, { ...alice, groups: ['customers'] }).policyCalls).toBe(0);
    expect(judge(request, alice)).toMatchObject({
      decision: { outcome: 'allow', reason: 'role-granted' },
      policyCalls: 1,
    });
    expect(judge(request, alice, { outcome: 'forbidden', reason: 'missing-role' })).toMatchObject({
      decision: { outcome: 'forbidden', reason: 'missing-role' },
    });
  });

  it('refuses an anonymous caller 401 even where the policy lets guests in (oauth2-proxy needs a session)', () => {
    const { decision } = judge(parse(routed), null, { identity: null, roles: ['guest'] });
    expect(decision).toMatchObject({ outcome: 'unauthenticated', rule: null });
  });

  it('keeps the policy-free refusals out of Audit mode: rule null, so nothing lifts them', () => {
    const { decision } = judge(parse(routed), { ...alice, groups: [] });
    expect(decision.rule).toBeNull();
  });

  it("answers 202 with the signed assertion but never the session's tokens, and 401 with the sign-in URL", () => {
    const request = parse(routed);
    const allowed = oauth2ProxyDialect.respond(judge(request, alice).decision, request, inputs);
    expect(allowed.status).toBe(202);
    expect(allowed.headers).toEqual([
      ['X-Auth-Request-User', 'alice'],
      ['X-Auth-Request-Email', 'alice@example.com'],
      ['x-gatehouse-assertion', 'eyJhbGciOiJFUzI1NiJ9.x.y'],
    ]);
    const unauthenticated = oauth2ProxyDialect.respond(
      judge(request, null).decision,
      request,
      inputs,
    );
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers).toContainEqual(['Location', inputs.signInUrl]);
  });
});
