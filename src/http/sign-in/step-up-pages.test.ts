import { describe, expect, it } from 'vitest';
import { forbiddenPage } from '../pages.ts';
import { chooserPage } from './pages.ts';

describe('pages of a step-up sign-in (issue #19)', () => {
  it("keeps the step-up request on the chooser's address form", () => {
    const html = chooserPage({
      providers: [{ displayName: 'Corp', href: '/oauth2/start?provider=corp' }],
      stylesheetHref: '/oauth2/static/pages.css',
      discovery: {
        action: '/oauth2/start',
        rd: 'https://app.example.com/billing',
        loginHint: '',
        stepUp: [
          ['max_age', '900'],
          ['prompt', 'login'],
        ],
      },
      notice: 'This page needs a recent sign-in, or a stronger one.',
    });
    expect(html).toContain('<input type="hidden" name="max_age" value="900">');
    expect(html).toContain('<input type="hidden" name="prompt" value="login">');
    expect(html).toContain('This page needs a recent sign-in, or a stronger one.');
  });

  it('explains a step-up refusal in plain words on the refusal page', () => {
    const html = forbiddenPage({
      host: 'app.example.com',
      path: '/billing',
      reason: 'step-up-required',
      requestId: 'r-1',
      contact: '',
    });
    expect(html).toContain('This page needs a recent sign-in, or a stronger one');
    expect(html).toContain('security key');
  });
});
