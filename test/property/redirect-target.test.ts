/**
 * The redirect validator against the browser's reading of a URL (docs/architecture.md security invariant 4).
 * Every open redirect in an auth proxy so far was a string the validator read one way and the
 * browser (the WHATWG URL parser) another: oauth2-proxy GHSA-4mf2-f3wh-gvf2 (`/%09/evil.com`),
 * GHSA-qqxw-m5fj-f7gv / CVE-2020-5233 (`/\evil.com`), GHSA-5vf5-3j5p-j7vx (`\@`), CVE-2021-21291
 * (`.good.com` matching `evilgood.com`); mod_auth_openidc CVE-2021-32786 / CVE-2021-39191. So the
 * generator glues allowed host names to exactly those separators, and the property asks WHATWG
 * `URL`, not the validator, which host the accepted target names.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateRedirect, type RedirectPolicy } from '../../src/oidc/redirect-target.ts';
import { runs, timeoutFor } from './runs.ts';

const policy: RedirectPolicy = {
  allowedDomains: ['.example.com', 'good.test'],
  publicUrl: 'https://auth.example.com',
};

/** Written independently of the validator: the allowed set on a dot boundary. */
function isAllowedHostname(hostname: string): boolean {
  if (hostname.split('.').includes('')) return false; // an empty label names no host
  return (
    hostname === 'good.test' ||
    hostname === 'example.com' ||
    (hostname.endsWith('.example.com') && hostname.length > '.example.com'.length)
  );
}

const fragment = fc.constantFrom(
  // schemes and their near misses
  'http://',
  'https://',
  'HTTPS://',
  'https:',
  'https:/',
  'javascript:',
  'data:',
  '//',
  '/',
  '\\',
  '/\\',
  '\\\\',
  // allowed and hostile names, look-alikes and spellings WHATWG rewrites
  'example.com',
  'app.example.com',
  'good.test',
  'evil.com',
  'evilexample.com',
  'example.com.evil.com',
  'EXAMPLE.COM',
  'ex\u0430mple.com',
  'xn--exmple-cua.com',
  '%65xample.com',
  '0x7f.1',
  '127.0.0.1',
  '[::1]',
  // separators and tricks
  '@',
  '%40',
  ':',
  ':443',
  ':99999',
  '.',
  '。',
  '．',
  '\u2025',
  '\u3002',
  '#',
  '?',
  '%2f',
  '%2F',
  '%5c',
  '%09',
  '%00',
  '%',
  '\t',
  '\n',
  '\r',
  ' ',
  '\u00a0',
  '\u200b',
  'user:pass',
  'path',
);

const scheme = fc.constantFrom('https://', 'http://', '/', '//', '/\\', 'https:', '');
const allowedName = fc.constantFrom(
  'example.com',
  'app.example.com',
  'good.test',
  'auth.example.com',
);
const junk = fc.array(fragment, { maxLength: 3 }).map((parts) => parts.join(''));

/**
 * Free mixtures of fragments, and skeletons close to an accepted URL (scheme, junk, an allowed
 * name, junk), so that a good share of cases is accepted and then checked against WHATWG.
 */
const hostileTarget = fc.oneof(
  fc.array(fragment, { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
  fc
    .tuple(scheme, junk, allowedName, junk, fc.constantFrom('', '/', '/path?x=1#y'))
    .map((parts) => parts.join('')),
);

const CASES = runs();

describe('validateRedirect (property)', () => {
  it(
    `never accepts a target whose host, as WHATWG URL reads it, is not allowed (${String(CASES)} cases)`,
    () => {
      fc.assert(
        fc.property(hostileTarget, (raw) => {
          const checked = validateRedirect(raw, policy);
          if (!checked.ok) return;
          const accepted = new URL(checked.url);
          expect(['http:', 'https:']).toContain(accepted.protocol);
          expect(accepted.username + accepted.password).toBe('');
          expect(
            isAllowedHostname(accepted.hostname) || accepted.hostname === 'auth.example.com',
          ).toBe(true);
          // The browser follows the raw value too when it is echoed (sign-out form, chooser):
          // its reading of the raw text must name the same host.
          expect(new URL(raw, policy.publicUrl).hostname).toBe(accepted.hostname);
        }),
        { numRuns: CASES },
      );
    },
    timeoutFor(CASES),
  );

  it(
    `never throws, whatever it is given (${String(CASES)} cases)`,
    () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.anything()),
          (raw) => {
            const checked = validateRedirect(raw, policy);
            expect(typeof checked.ok).toBe('boolean');
          },
        ),
        { numRuns: CASES },
      );
    },
    timeoutFor(CASES),
  );
});
