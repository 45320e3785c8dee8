import { describe, expect, it } from 'vitest';
import { issueTicket } from '../sessions/ticket.ts';
import { formToken, isValidFormToken, type FormPurpose } from './form-token.ts';

const purposes: readonly FormPurpose[] = ['sign-out', 'impersonate', 'own-sessions'];

describe.each(purposes)('the %s form token', (purpose) => {
  const ticket = issueTicket();
  const key = 'k'.repeat(43);

  it('is accepted for its own session only', () => {
    const token = formToken(purpose, ticket, key);
    expect(isValidFormToken(purpose, token, ticket, key)).toBe(true);
    expect(isValidFormToken(purpose, token, ticket, 'j'.repeat(43))).toBe(false);
    expect(isValidFormToken(purpose, token, issueTicket(), key)).toBe(false);
    expect(isValidFormToken(purpose, undefined, ticket, key)).toBe(false);
    expect(isValidFormToken(purpose, `${token}x`, ticket, key)).toBe(false);
  });

  it('is not the token of any other form of the same session', () => {
    for (const other of purposes.filter((each) => each !== purpose)) {
      expect(isValidFormToken(other, formToken(purpose, ticket, key), ticket, key)).toBe(false);
    }
  });
});
