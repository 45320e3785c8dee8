/**
 * The dialect adapters read headers a client may have shaped (X-Original-URL is built from the
 * client's Host and request line; Authorization, Cookie and X-Forwarded-For are the client's own).
 * Whatever they hold, an adapter either produces an AuthRequest or throws the one typed error that
 * becomes a 400: never another exception (a 500, which Traefik passes to the client and nginx
 * turns into its own 500), and never a request whose facts a later stage would have to re-check.
 * Authelia CVE-2021-32637 (GHSA-68wm-pfjf-wqp6) answered a malformed URL with 200: the reason the
 * error type is part of the property.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  extAuthzDialect,
  forwardAuthDialect,
  nginxDialect,
  oauth2ProxyDialect,
  ProxyTrust,
} from '../../src/dialects/dialects.ts';
import type { Dialect, IncomingCheck } from '../../src/dialects/dialects.ts';
import { BadRequestError } from '../../src/errors.ts';
import { runs, timeoutFor } from './runs.ts';

const CASES = runs();
const trust = new ProxyTrust(['10.0.0.0/8']);

/** Latin-1 text, as Node decodes header bytes, plus arbitrary UTF-16 for robustness. */
const headerText = fc.oneof(
  fc.string({
    unit: fc.integer({ min: 0, max: 0xff }).map((code) => String.fromCharCode(code)),
    maxLength: 120,
  }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

const urlPiece = fc.constantFrom(
  'https://',
  'http://',
  'HTTP://',
  'ftp://',
  '//',
  'shop.test',
  'SHOP.test',
  'shop.test.',
  'xn--shp-qla.test',
  'sh\u00f6p.test',
  '0x7f.1',
  '[::1]',
  '[::1',
  ':443',
  ':8443',
  ':0',
  ':99999',
  ':',
  '@',
  'user:pw@',
  '/',
  '\\',
  '/public',
  '/admin',
  '/../',
  '/%2e%2e/',
  '%2f',
  '%',
  '%zz',
  '%C3%A9',
  '%c0%ae',
  ';x',
  '?q=1',
  '#f',
  ' ',
  '\t',
  '\r',
  '\u0000',
  '\u00ff',
  '\u0085',
);
const junk = fc.array(urlPiece, { maxLength: 4 }).map((pieces) => pieces.join(''));
/** Close to what a proxy sends (scheme, host, path), so many cases get past the first checks. */
const plausibleHost = fc.constantFrom(
  'shop.test',
  'SHOP.test:8443',
  '[::1]',
  '10.0.0.1',
  'a.apps.test',
);
const plausiblePath = fc
  .tuple(fc.constantFrom('/', '/public/', '/admin', '/x?y=1'), junk)
  .map((parts) => parts.join(''));
const plausibleUrl = fc
  .tuple(fc.constantFrom('https://', 'http://', ''), plausibleHost, plausiblePath)
  .map((parts) => parts.join(''));
const freeText = fc.oneof(
  fc.array(urlPiece, { minLength: 1, maxLength: 10 }).map((pieces) => pieces.join('')),
  headerText,
);
const urlLike = fc.oneof({ weight: 2, arbitrary: plausibleUrl }, freeText);
const hostLike = fc.oneof({ weight: 2, arbitrary: plausibleHost }, freeText);
const pathLike = fc.oneof({ weight: 2, arbitrary: plausiblePath }, freeText);
const method = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('GET', 'POST', 'HEAD') },
  fc.constantFrom(
    'GET',
    'POST',
    'get',
    'DELETE',
    'PROPFIND',
    'G ET',
    '',
    'GET\r\n',
    'X'.repeat(40),
  ),
  headerText,
);
/** Trusted (10.0.0.0/8) more often than not, so forward-auth reads its headers. */
const peer = fc.constantFrom(
  '10.1.2.3',
  '::ffff:10.1.2.3',
  '10.0.0.1',
  '127.0.0.1',
  '::1',
  '',
  'garbage',
);

/** A header that may be absent, as a client or proxy may leave it out. */
function optional<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arbitrary, { nil: undefined, freq: 8 });
}

const incoming = fc
  .record({
    target: fc.oneof(
      pathLike.map((rest) => `/authz/ext-authz${rest}`),
      fc.constantFrom('/authz/nginx', '/authz/forward-auth'),
      headerText,
    ),
    method,
    remoteAddress: peer,
    'x-original-url': optional(urlLike),
    'x-original-method': optional(method),
    'x-forwarded-method': optional(method),
    'x-forwarded-proto': optional(
      fc.oneof({ weight: 3, arbitrary: fc.constantFrom('https', 'http', 'HTTPS') }, headerText),
    ),
    'x-forwarded-host': optional(hostLike),
    'x-forwarded-uri': optional(pathLike),
    'x-forwarded-for': optional(
      fc.oneof(fc.constantFrom('1.2.3.4', '1.2.3.4, 10.0.0.1', '::1'), headerText),
    ),
    'x-real-ip': optional(headerText),
    host: optional(hostLike),
    cookie: optional(headerText),
    authorization: optional(headerText),
    accept: optional(fc.oneof(fc.constantFrom('text/html', 'application/json', '*/*'), headerText)),
  })
  .map(({ target, method: checkMethod, remoteAddress, ...headers }): IncomingCheck => ({
    target,
    method: checkMethod,
    remoteAddress,
    headers,
  }));

function expectOnlyBadRequest(dialect: Dialect, check: IncomingCheck): void {
  let request;
  try {
    request = dialect.parse(check, trust, 'request-id');
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    return;
  }
  // What a parse lets through is already normalised: decide() never re-parses a header.
  expect(request.host).not.toBe('');
  expect(request.host).toBe(request.host.toLowerCase());
  // eslint-disable-next-line no-control-regex -- looking for control characters
  expect(request.host).not.toMatch(/[\s@\\/?#\u0000-\u001f\u007f-\u00ff]/);
  expect(request.method).toMatch(/^[A-Z!#$%&'*+.^_`|~0-9-]+$/);
  if (request.path.ok) expect(request.path.value.startsWith('/')).toBe(true);
  expect(request.originalUrl).toMatch(/^https?:\/\/[\x21-\x7e]+$/);
}

describe('dialect parsing (property)', () => {
  it.each([
    ['nginx', nginxDialect],
    ['forward-auth', forwardAuthDialect],
    ['ext-authz', extAuthzDialect],
  ] as const)(
    `%s: parse throws nothing but BadRequestError on arbitrary headers (${String(CASES)} cases)`,
    (_name, dialect) => {
      fc.assert(
        fc.property(incoming, (check) => {
          expectOnlyBadRequest(dialect, check);
        }),
        { numRuns: CASES },
      );
    },
    timeoutFor(CASES),
  );

  // The oauth2-proxy drop-in (/oauth2/auth): only 400s on arbitrary queries and headers; with
  // `host=` it parses as /authz/nginx does (the same checks hold), and without it the host is
  // never taken from the client's X-Original-URL or Host: nothing host-bound may come from them.
  const auth = fc
    .tuple(
      incoming,
      fc.array(
        fc.tuple(
          fc.constantFrom(
            'host',
            'allowed_groups',
            'allowed_emails',
            'allowed_email_domains',
            'rd',
            'allowed_group',
          ),
          fc.oneof(hostLike, headerText, fc.constantFrom('admins', 'a@b.c', 'example.com', '')),
        ),
        { maxLength: 4 },
      ),
    )
    .map(([check, pairs]): IncomingCheck => ({
      ...check,
      target: `/oauth2/auth${pairs.length === 0 ? '' : `?${new URLSearchParams(pairs).toString()}`}`,
    }));

  it(
    `oauth2-proxy: parse throws nothing but BadRequestError, and takes no host from the client without host= (${String(CASES)} cases)`,
    () => {
      fc.assert(
        fc.property(auth, (check) => {
          let request;
          try {
            request = oauth2ProxyDialect.parse(check, trust, 'request-id');
          } catch (error) {
            expect(error).toBeInstanceOf(BadRequestError);
            return;
          }
          if (new URLSearchParams(check.target.split('?')[1] ?? '').has('host')) {
            expectOnlyBadRequest(oauth2ProxyDialect, check);
          } else {
            expect(request.host).toBe('');
            expect(request.originalUrl).toBe('');
          }
        }),
        { numRuns: CASES },
      );
    },
    timeoutFor(CASES),
  );
});
