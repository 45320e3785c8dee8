import { describe, expect, it } from 'vitest';
import { callbackFailureStatus, type CallbackFailure } from '../../oidc/callback.ts';
import { pageTheme } from '../pages.ts';
import {
  callbackErrorPage,
  chooserPage,
  portalPage,
  readableTime,
  signedOutPage,
} from './pages.ts';

const now = Date.parse('2026-12-06T07:30:12.345Z');
const theme = pageTheme({ title: 'Acme', footer: 'Acme IT desk', colour: '#0a7' });

function portal(): string {
  return portalPage({
    view: {
      user: 'alice',
      email: 'alice@example.com',
      name: 'Alice Admin',
      groups: ['staff'],
      roles: ['authenticated', 'guest'],
      provider: 'Example SSO',
      createdAt: now - 5 * 60_000,
      idleExpiresAt: now + 8 * 3_600_000,
      absoluteExpiresAt: now + 24 * 3_600_000,
      now,
    },
    signOutAction: '/oauth2/sign_out',
    csrfToken: 't',
    userinfoHref: '/oauth2/userinfo',
    stylesheetHref: '/oauth2/static/gatehouse.css',
    theme,
  });
}

describe('the portal', () => {
  it('shows each moment once exactly, readable and in UTC, beside how long ago or ahead it is', () => {
    const html = portal();
    expect(html).toContain(
      '<dd id="signed-in">5 minutes ago <span class="muted">(<time datetime="2026-12-06T07:25:12.345Z">2026-12-06 07:25 UTC</time>)</span></dd>',
    );
    expect(html).toContain('<dd id="idle-expiry">in 8 hours');
    expect(html).not.toMatch(/>\d{4}-\d\d-\d\dT/); // no raw ISO 8601 text, only in attributes
  });

  it('speaks plainly: no resource kinds, the provider as people know it', () => {
    const html = portal();
    expect(html).not.toMatch(/RoleMapping|namespace/i);
    expect(html).toContain('the roles your organisation grants you everywhere');
    expect(html).toContain('<dt>Signed in with</dt><dd id="provider">Example SSO</dd>');
  });

  it('is branded', () => {
    expect(portal()).toContain('<footer class="muted" id="footer">Acme IT desk</footer>');
  });

  it('formats a time to the minute', () => {
    expect(readableTime('2026-01-02T03:04:59.999Z')).toBe('2026-01-02 03:04 UTC');
  });
});

describe('the signed-out page', () => {
  const page = (view: Parameters<typeof signedOutPage>[0]['view']) =>
    signedOutPage({ view, stylesheetHref: '/s.css', theme });

  it('warns that the provider may still be signed in, and links its own sign-out', () => {
    const html = page({
      continueHref: 'https://app.test/',
      signedOutAtProvider: false,
      provider: {
        displayName: 'Example <SSO>',
        endSessionHref: 'https://idp.test/logout?client_id=c&state=x',
      },
    });
    expect(html).toContain('You may still be signed in at <strong>Example &lt;SSO&gt;</strong>');
    expect(html).toContain(
      '<a id="provider-sign-out" href="https://idp.test/logout?client_id=c&amp;state=x">Sign out at Example &lt;SSO&gt; too</a>',
    );
    expect(html).toContain('<a class="button" href="https://app.test/">Continue</a>');
  });

  it('still warns, without a link, when it does not know the provider', () => {
    const html = page({ continueHref: '/', signedOutAtProvider: false });
    expect(html).toContain('You may still be signed in at the sign-in provider');
    expect(html).not.toContain('provider-sign-out');
  });

  it('says nothing of the sort after the provider signed out too', () => {
    const html = page({ continueHref: '/', signedOutAtProvider: true });
    expect(html).toContain('You are signed out at the sign-in provider too.');
    expect(html).not.toContain('may still be signed in');
  });
});

describe('the callback error page', () => {
  const failures = Object.keys(callbackFailureStatus) as CallbackFailure[];

  it.each(failures)('has a title and a way to start again for %s', (reason) => {
    const html = callbackErrorPage({
      reason,
      requestId: 'req-9',
      retryHref: '/oauth2/start?rd=x',
      stylesheetHref: '/s.css',
    });
    expect(html).toMatch(/<h1>[A-Z][^<]+<\/h1>/);
    expect(html).toContain('<a class="button" href="/oauth2/start?rd=x">Start again</a>');
    expect(html).toContain('<code id="request-id">req-9</code>');
  });

  it("shows the provider's error text escaped, never as HTML", () => {
    const html = callbackErrorPage({
      reason: 'provider-error',
      providerError: { code: 'server_error', description: '<b>down</b>' },
      requestId: 'r',
      retryHref: '/',
      stylesheetHref: '/s.css',
    });
    expect(html).toContain(
      'The sign-in provider reported an error (server_error): &lt;b&gt;down&lt;/b&gt;.',
    );
  });
});

describe('the chooser', () => {
  it('is branded', () => {
    const html = chooserPage({
      providers: [{ displayName: 'Example', href: '/oauth2/start?provider=x' }],
      stylesheetHref: '/s.css',
      theme,
    });
    expect(html).toContain('<span id="brand-title">Acme</span>');
    expect(html).toContain('<title>Sign in · Acme</title>');
  });
});
