/**
 * OpenTelemetry traces across the proxy (issue #20): a check carrying the proxy's W3C
 * `traceparent` continues the proxy's trace, with child spans for authentication, the session
 * store and the decision, exported over OTLP/HTTP to the configured collector (here an
 * in-process receiver). Spans carry outcome, reason, dialect, host, policy and rule, and never a
 * cookie, a token, a credential, an identity header, a user or a path. With tracing off nothing
 * is sent at all.
 *
 * The traced instance is shut down before the assertions: shutdown exports what is queued, so
 * every span of the checks below must be there (none is lost at shutdown either).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startDevIdentityProvider,
  type DevIdentityProvider,
} from '../../../dev/identity-provider.ts';
import {
  extAuthzCheck,
  forwardAuthCheck,
  nginxCheck,
  type Headers,
} from '../../fixtures/gatehouse/checks.ts';
import { send } from '../../fixtures/gatehouse/http-client.ts';
import { shopHost } from '../../fixtures/gatehouse/policies.ts';
import { signInThrough } from '../../fixtures/gatehouse/sign-in.ts';
import {
  startTestGatehouse,
  testPublicUrl,
  type TestGatehouse,
} from '../../fixtures/gatehouse/start.ts';
import { startTokenIssuer, type TokenIssuer } from '../../fixtures/gatehouse/token-issuer.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';

const callbackUrl = `${testPublicUrl}/oauth2/callback`;
const collectorSecret = 'collector-secret-7c1d9e';
const forgedUser = 'forged-user-value-93ab';
const querySecret = 'magic-link-secret-51f0';

/** A proxy's trace context: 32-hex trace id, 16-hex parent span id, sampled flag. */
function traceparent(traceId: string, parentId: string, sampled = true): Headers {
  return [['traceparent', `00-${traceId}-${parentId}-${sampled ? '01' : '00'}`]];
}
const ids = (digit: string) => ({ trace: digit.repeat(32), parent: digit.repeat(16) });
const session = ids('a');
const bearer = ids('b');
const forged = ids('c');
const unsampled = ids('d');
const envoy = ids('e');
const malformed = ids('f');
const untrustedPeer = ids('1');
const revalidation = ids('2');
const traefik = ids('3');

const statuses: Record<string, number> = {};

let idp: DevIdentityProvider;
let tokens: TokenIssuer;
let receiver: OtlpReceiver;
let disabledReceiver: OtlpReceiver;
let traced: TestGatehouse;
let untrusted: TestGatehouse;
let disabled: TestGatehouse;
/** Re-validates sessions every minute; its clock is moved past that after the sign-in. */
let revalidating: TestGatehouse;
let clockOffset = 0;
/** Every credential and identity value the checks carried: none may appear in a span. */
const secrets: string[] = [collectorSecret, forgedUser, querySecret];

function tracingYaml(endpoint: string, enabled: boolean): string {
  return `
providers:
  - name: corp
    issuer: ${idp.issuer}
    clientId: gatehouse
    clientSecret: gatehouse-secret
bearer:
  issuers:
    - name: machines
      issuer: ${tokens.issuer}
      audiences: [shop-api]
      algorithms: [RS256]
tracing:
  enabled: ${enabled}
  endpoint: ${endpoint}
  serviceName: gatehouse-test
  headers: authorization=Bearer%20${collectorSecret}
`;
}

beforeAll(async () => {
  [idp, tokens, receiver, disabledReceiver] = await Promise.all([
    startDevIdentityProvider({
      clients: [
        { clientId: 'gatehouse', clientSecret: 'gatehouse-secret', redirectUris: [callbackUrl] },
      ],
    }),
    startTokenIssuer({ audience: 'shop-api' }),
    startOtlpReceiver(),
    startOtlpReceiver(),
  ]);
  // No per-replica session cache: every check reads the store, so its span is always there.
  const env = { GATEHOUSE_SESSIONS__CACHE__TTL: '0' };
  [traced, untrusted, disabled, revalidating] = await Promise.all([
    startTestGatehouse({
      trustedProxies: ['127.0.0.1/32'],
      configYaml: tracingYaml(receiver.url, true),
      env,
      logLevel: 'info',
    }),
    startTestGatehouse({
      trustedProxies: ['192.0.2.0/24'],
      configYaml: tracingYaml(receiver.url, true),
      env,
    }),
    startTestGatehouse({
      trustedProxies: ['127.0.0.1/32'],
      configYaml: tracingYaml(disabledReceiver.url, false),
      env,
    }),
    startTestGatehouse({
      trustedProxies: ['127.0.0.1/32'],
      configYaml: tracingYaml(receiver.url, true),
      env: { ...env, GATEHOUSE_SESSIONS__REVALIDATE_INTERVAL: '1m' },
      now: () => Date.now() + clockOffset,
    }),
  ]);

  const jar = await signInThrough(traced, 'bob', callbackUrl);
  const cookie = jar.cookieHeader(traced.url('/')) ?? '';
  const token = await tokens.sign({ sub: 'machine-7', email: 'machine@example.com' });
  secrets.push(...cookie.split(/[;=]\s*/).filter((part) => part.length > 8), token);
  secrets.push('bob-0002', 'bob@example.com', 'Bob User', 'machine-7', 'machine@example.com');

  const root = `https://${shopHost}/`;
  statuses['session'] = (
    await nginxCheck(traced, `${root}?token=${querySecret}`, [
      ...traceparent(session.trace, session.parent),
      ['tracestate', 'proxy=opaque-value'],
      ['Cookie', cookie],
    ])
  ).status;
  statuses['bearer'] = (
    await nginxCheck(traced, root, [
      ...traceparent(bearer.trace, bearer.parent),
      ['Authorization', `Bearer ${token}`],
    ])
  ).status;
  statuses['forged'] = (
    await forwardAuthCheck(traced, { host: shopHost, uri: '/public/x' }, [
      ...traceparent(forged.trace, forged.parent),
      ['X-Auth-Request-User', forgedUser],
    ])
  ).status;
  statuses['forwardAuth'] = (
    await forwardAuthCheck(
      traced,
      { host: shopHost, uri: '/public/x' },
      traceparent(traefik.trace, traefik.parent),
    )
  ).status;
  statuses['unsampled'] = (
    await nginxCheck(
      traced,
      `${root}public/x`,
      traceparent(unsampled.trace, unsampled.parent, false),
    )
  ).status;
  statuses['envoy'] = (
    await extAuthzCheck(traced, shopHost, '/public/x', traceparent(envoy.trace, envoy.parent))
  ).status;
  // No X-Original-Method: refused with 400 before any decision.
  statuses['malformed'] = (
    await send(traced.url(''), {
      path: `/authz/nginx?host=${shopHost}`,
      headers: [
        ['X-Original-URL', `${root}public/x`],
        ...traceparent(malformed.trace, malformed.parent),
      ],
    })
  ).status;
  const revalidatingJar = await signInThrough(revalidating, 'bob', callbackUrl);
  const revalidatingCookie = revalidatingJar.cookieHeader(revalidating.url('/')) ?? '';
  secrets.push(...revalidatingCookie.split(/[;=]\s*/).filter((part) => part.length > 8));
  clockOffset = 5 * 60_000;
  statuses['revalidation'] = (
    await nginxCheck(revalidating, root, [
      ...traceparent(revalidation.trace, revalidation.parent),
      ['Cookie', revalidatingCookie],
    ])
  ).status;
  statuses['untrusted'] = (
    await nginxCheck(
      untrusted,
      `${root}public/x`,
      traceparent(untrustedPeer.trace, untrustedPeer.parent),
    )
  ).status;
  statuses['disabled'] = (
    await nginxCheck(disabled, `${root}public/x`, traceparent(session.trace, session.parent))
  ).status;

  // Shutdown exports every queued span.
  await Promise.all([traced.close(), untrusted.close(), disabled.close(), revalidating.close()]);
});

afterAll(async () => {
  await Promise.all([traced.close(), untrusted.close(), disabled.close(), revalidating.close()]);
  await Promise.all([receiver.close(), disabledReceiver.close(), tokens.close(), idp.close()]);
});

function spansOf(traceId: string): ReceivedSpan[] {
  return receiver.spans.filter((span) => span.traceId === traceId);
}

function only(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((span) => span.name === name);
  expect(found.map((span) => span.name)).toEqual([name]);
  return found[0] as ReceivedSpan;
}

describe('a check carrying the proxy trace context', () => {
  it('is answered as without it: traceparent is no forged identity header', () => {
    expect(statuses).toEqual({
      session: 200,
      bearer: 200,
      forged: 403,
      forwardAuth: 200,
      unsampled: 200,
      envoy: 200,
      malformed: 400,
      untrusted: 200,
      disabled: 200,
      revalidation: 200,
    });
  });

  it("continues the proxy's trace: same trace id, the proxy's span as parent, tracestate kept", () => {
    const check = only(spansOf(session.trace), 'GET /authz/nginx');
    expect(check.parentSpanId).toBe(session.parent);
    expect(check.kind).toBe(2); // SERVER
    expect(check.traceState).toBe('proxy=opaque-value');
    expect(check.resource['service.name']).toBe('gatehouse-test');
  });

  it('has child spans for authentication, the session store and the decision', () => {
    const spans = spansOf(session.trace);
    const check = only(spans, 'GET /authz/nginx');
    const authn = only(spans, 'authn authenticate');
    const store = only(spans, 'session-store get');
    const decide = only(spans, 'authz decide');
    expect(authn.parentSpanId).toBe(check.spanId);
    expect(store.parentSpanId).toBe(authn.spanId);
    expect(decide.parentSpanId).toBe(check.spanId);
    expect(store.attributes).toEqual({ 'gatehouse.session_store.operation': 'get' });
    expect(authn.attributes).toMatchObject({
      'gatehouse.authn.result': 'identified',
      'gatehouse.authn.method': 'session',
    });
    expect(decide.attributes).toEqual({
      'gatehouse.outcome': 'allow',
      'gatehouse.reason': 'role-granted',
      'gatehouse.policy': 'shop/shop',
      'gatehouse.rule': 'app',
    });
  });

  it('says what was decided, where and how: outcome, reason, dialect, host, rule, status', () => {
    const check = only(spansOf(session.trace), 'GET /authz/nginx');
    expect(check.attributes).toEqual({
      'http.request.method': 'GET',
      'http.route': '/authz/nginx',
      'http.response.status_code': 200,
      'gatehouse.dialect': 'nginx',
      'gatehouse.request_id': expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      'gatehouse.host': shopHost,
      'gatehouse.outcome': 'allow',
      'gatehouse.reason': 'role-granted',
      'gatehouse.policy': 'shop/shop',
      'gatehouse.rule': 'app',
      'gatehouse.audit': false,
      'gatehouse.authn.method': 'session',
    });
  });

  it('records refusals as refusals, not as errors', () => {
    const refused = only(spansOf(forged.trace), 'GET /authz/forward-auth');
    expect(refused.attributes).toMatchObject({
      'http.response.status_code': 403,
      'gatehouse.outcome': 'forbidden',
      'gatehouse.reason': 'forged-identity-header',
      'gatehouse.dialect': 'forward-auth',
    });
    expect(refused.statusCode).toBe(0);
    const bad = only(spansOf(malformed.trace), 'GET /authz/nginx');
    expect(bad.attributes).toMatchObject({
      'http.response.status_code': 400,
      'gatehouse.outcome': 'error',
      'gatehouse.reason': 'malformed-request',
    });
    expect(bad.attributes).not.toHaveProperty('error.type');
    expect(bad.statusCode).toBe(0);
  });

  it('names each check by its route: Traefik, Envoy, and bearer checks too', () => {
    expect(only(spansOf(traefik.trace), 'GET /authz/forward-auth').parentSpanId).toBe(
      traefik.parent,
    );
    const envoySpan = only(spansOf(envoy.trace), 'GET /authz/ext-authz/*');
    expect(envoySpan.attributes).toMatchObject({
      'http.route': '/authz/ext-authz/*',
      'gatehouse.dialect': 'ext-authz',
      'gatehouse.rule': 'public',
    });
    const bearerSpan = only(spansOf(bearer.trace), 'GET /authz/nginx');
    expect(bearerSpan.attributes['gatehouse.authn.method']).toBe('bearer');
    // A bearer check reads no session: no store span.
    expect(spansOf(bearer.trace).map((span) => span.name)).not.toContain('session-store get');
  });

  it('has a child span for the token refresh with the provider, named by provider only', () => {
    const spans = spansOf(revalidation.trace);
    const authn = only(spans, 'authn authenticate');
    const refresh = only(spans, 'oidc refresh-token');
    expect(refresh.parentSpanId).toBe(authn.spanId);
    expect(refresh.kind).toBe(3); // CLIENT
    expect(refresh.attributes).toEqual({ 'gatehouse.provider': 'corp' });
    expect(refresh.statusCode).toBe(0);
  });

  it("follows the proxy's decision not to sample", () => {
    expect(spansOf(unsampled.trace)).toEqual([]);
  });

  it("starts a trace of its own for an untrusted peer's trace context", () => {
    expect(spansOf(untrustedPeer.trace)).toEqual([]);
    const own = receiver.spans.filter(
      (span) =>
        span.name === 'GET /authz/nginx' &&
        span.attributes['gatehouse.rule'] === 'public' &&
        span.parentSpanId === '',
    );
    expect(own).toHaveLength(1);
  });

  it('makes store calls outside a check (sign-in) no spans of their own', () => {
    const storeSpans = receiver.spans.filter((span) => span.name.startsWith('session-store '));
    expect(storeSpans.length).toBeGreaterThan(0);
    for (const span of storeSpans) expect(span.parentSpanId).not.toBe('');
  });
});

describe('what spans never carry', () => {
  it('no cookie, token, credential, identity value, user or query in any attribute', () => {
    expect(receiver.spans.length).toBeGreaterThan(0);
    const exported = JSON.stringify(
      receiver.spans.map((span) => ({ attributes: span.attributes, resource: span.resource })),
    );
    for (const secret of secrets) expect(exported).not.toContain(secret);
    const keys = receiver.spans.flatMap((span) => Object.keys(span.attributes));
    for (const key of keys) expect(key).not.toMatch(/cookie|authorization|token|user|header/i);
  });
});

describe('export', () => {
  it('authenticates to the collector with tracing.headers, and never logs them', () => {
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const headers of receiver.requests) {
      expect(headers['authorization']).toBe(`Bearer ${collectorSecret}`);
      expect(headers['content-type']).toBe('application/json');
    }
    expect(traced.logs.text()).not.toContain(collectorSecret);
    expect(
      traced.logs.matching({ msg: 'tracing enabled: exporting spans over OTLP/HTTP' }),
    ).toEqual([expect.objectContaining({ endpoint: receiver.url, serviceName: 'gatehouse-test' })]);
  });

  it('sends nothing when tracing is off, traceparent or not', () => {
    expect(disabledReceiver.requests).toEqual([]);
  });
});
