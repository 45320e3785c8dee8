import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  defaultTheme,
  forbiddenPage,
  pageContentSecurityPolicy,
  pageTheme,
  renderPage,
  stylesheet,
  textColourOn,
} from './pages.ts';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');

/** The inline stylesheet of a page, and whether its CSP allows exactly it by hash. */
function inlineStyleAllowed(html: string, csp: string): boolean {
  const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1];
  return style !== undefined && csp.includes(`style-src 'self' 'sha256-${sha256(style)}'`);
}

const denial = {
  host: 'app.test',
  path: '/admin',
  reason: 'missing-role',
  requestId: 'req-1',
  contact: 'Ask the platform team.',
};

describe('page themes', () => {
  it('leaves unbranded pages as they were: the served stylesheet, no header, no footer', () => {
    const html = renderPage({ title: 'Sign in', body: '<p>x</p>', stylesheetHref: '/s.css' });
    expect(html).toContain('<link rel="stylesheet" href="/s.css">');
    expect(html).toContain('<title>Sign in</title>');
    expect(html).not.toContain('<header');
    expect(html).not.toContain('<footer');
    expect(defaultTheme.contentSecurityPolicy).toBe(pageContentSecurityPolicy);
    expect(pageContentSecurityPolicy).toContain(`'sha256-${sha256(stylesheet)}'`);
  });

  it('shows the title, logo and footer of a branding, escaped, with its colour inline and allowed by hash', () => {
    const theme = pageTheme({
      title: 'Acme <Corp>',
      colour: '#ffcc00',
      footer: 'Help: <a href="x">desk</a> & co',
      logoSrc: 'https://cdn.acme.test/logo.svg',
    });
    const html = renderPage({ title: 'Sign in', body: '', stylesheetHref: '/s.css', theme });
    expect(html).toContain('<title>Sign in · Acme &lt;Corp&gt;</title>');
    expect(html).toContain('<span id="brand-title">Acme &lt;Corp&gt;</span>');
    expect(html).toContain(
      '<img id="logo" src="https://cdn.acme.test/logo.svg" alt="Acme &lt;Corp&gt;">',
    );
    expect(html).toContain(
      '<footer class="muted" id="footer">Help: &lt;a href=&quot;x&quot;&gt;desk&lt;/a&gt; &amp; co</footer>',
    );
    // The served stylesheet is the unbranded one, so a branded page carries its own.
    expect(html).not.toContain('<link rel="stylesheet"');
    expect(theme.stylesheet).toContain('--accent: #ffcc00; --on-accent: #111;');
    expect(inlineStyleAllowed(html, theme.contentSecurityPolicy)).toBe(true);
    expect(theme.contentSecurityPolicy).not.toContain('unsafe-inline');
    // Images from the logo's origin only, not from any https site.
    expect(theme.contentSecurityPolicy).toContain("img-src 'self' data: https://cdn.acme.test;");
  });

  it('needs no other origin for a logo embedded as a data: URI', () => {
    const theme = pageTheme({ logoSrc: 'data:image/png;base64,iVBORw0KGgo=' });
    expect(theme.contentSecurityPolicy).toContain("img-src 'self' data:;");
    expect(renderPage({ title: 'x', body: '', stylesheetHref: null, theme })).toContain(
      'alt="Logo"',
    );
  });

  it.each(['red', '#12345', 'url(x)', '#fff;} body{display:none', '#ggg'])(
    'refuses %j as a colour, so nothing reaches the stylesheet',
    (colour) => {
      expect(() => pageTheme({ colour })).toThrow(/CSS hex colour/);
    },
  );

  it.each([
    ['#2456a5', '#fff'],
    ['#000', '#fff'],
    ['#ffffff', '#111'],
    ['#ffcc00', '#111'],
    ['#1d4ed8', '#fff'],
  ] as const)('writes button text on %s in %s (WCAG contrast)', (background, text) => {
    expect(textColourOn(background)).toBe(text);
  });
});

describe('the 403 page', () => {
  it('says who is signed in, through which provider, and offers to switch account', () => {
    const html = forbiddenPage({
      ...denial,
      signedInAs: { user: 'alice@example.com', provider: 'Example <SSO>' },
      signOutHref: 'https://auth.test/oauth2/sign_out?rd=https%3A%2F%2Fapp.test%2Fadmin',
    });
    expect(html).toContain(
      '<p id="signed-in-as">Signed in as <strong>alice@example.com</strong> via Example &lt;SSO&gt;.</p>',
    );
    expect(html).toContain(
      '<a class="button" id="switch-account" href="https://auth.test/oauth2/sign_out?rd=https%3A%2F%2Fapp.test%2Fadmin">Switch account</a>',
    );
  });

  it('claims nobody when it does not know who was refused', () => {
    const html = forbiddenPage(denial);
    expect(html).not.toContain('signed-in-as');
    expect(html).not.toContain('switch-account');
  });

  it("is branded by the theme it is given, and always carries its stylesheet inline (it is shown on the application's host)", () => {
    const theme = pageTheme({ footer: 'Acme IT', colour: '#0a0' });
    const html = forbiddenPage({ ...denial, theme });
    expect(html).toContain('<footer class="muted" id="footer">Acme IT</footer>');
    expect(inlineStyleAllowed(html, theme.contentSecurityPolicy)).toBe(true);
    expect(inlineStyleAllowed(forbiddenPage(denial), pageContentSecurityPolicy)).toBe(true);
  });

  it('lets a long request id wrap on a narrow screen', () => {
    expect(stylesheet).toMatch(/code \{[^}]*overflow-wrap: anywhere/);
  });
});
