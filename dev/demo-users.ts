import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A user of the development identity provider. Passwords are plain text on
 * purpose: these users exist only on a developer's machine and in tests.
 */
export interface DevUser {
  /** What is typed into the login form; released as `preferred_username`. */
  readonly username: string;
  readonly password: string;
  /** The stable `sub`; deliberately different from the username and email. */
  readonly subject: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string;
  readonly givenName: string;
  readonly familyName: string;
  readonly groups: readonly string[];
  /** Further claims (e.g. `department`), released with the `profile` scope. */
  readonly extraClaims?: Readonly<Record<string, unknown>>;
  /**
   * Signs in "with a security key" (simulated: the password is all that is checked): the ID
   * token says `acr` `devStrongAcr` and `amr` `["pwd", "hwk"]` instead of `devPasswordAcr` and
   * `["pwd"]`, for testing rules that ask for a stronger sign-in (issue #19, step-up).
   */
  readonly strongSignIn?: boolean;
}

/** The `acr` of a password sign-in at the dev provider. */
export const devPasswordAcr = 'urn:gatehouse:dev:pwd';
/** The `acr` of a `strongSignIn` user's sign-in (password and a simulated security key). */
export const devStrongAcr = 'urn:gatehouse:dev:hwk';

/**
 * What the dev provider records of a user's sign-in (oidc-provider's login result): `acr` and
 * `amr` (RFC 8176 §2: `pwd` password, `hwk` proof-of-possession of a hardware key).
 */
export function signInMethodsOf(user: DevUser): { acr: string; amr: string[] } {
  return user.strongSignIn === true
    ? { acr: devStrongAcr, amr: ['pwd', 'hwk'] }
    : { acr: devPasswordAcr, amr: ['pwd'] };
}

/**
 * The demo users, documented in dev/README.md (password = username):
 *
 * | username | email             | name             | groups                |
 * | -------- | ----------------- | ---------------- | --------------------- |
 * | alice    | alice@example.com | Alice Admin      | admins, staff         |
 * | bob      | bob@example.com   | Bob User         | staff                 |
 * | carol    | carol@example.org | Carol Contractor | (none)                |
 * | zoe      | zoe@example.com   | Zoë Ñandú        | staff, "sales,emea"   |
 *
 * zoe exercises the awkward cases on purpose: a non-ASCII name (identity
 * headers must encode it) and a group containing a comma (a comma-joined
 * groups header must not split it into two groups).
 */
export const DEMO_USERS: readonly DevUser[] = Object.freeze([
  {
    username: 'alice',
    password: 'alice',
    subject: 'alice-0001',
    email: 'alice@example.com',
    emailVerified: true,
    name: 'Alice Admin',
    givenName: 'Alice',
    familyName: 'Admin',
    groups: ['admins', 'staff'],
    extraClaims: { department: 'engineering' },
  },
  {
    username: 'bob',
    password: 'bob',
    subject: 'bob-0002',
    email: 'bob@example.com',
    emailVerified: true,
    name: 'Bob User',
    givenName: 'Bob',
    familyName: 'User',
    groups: ['staff'],
    extraClaims: { department: 'support' },
  },
  {
    username: 'carol',
    password: 'carol',
    subject: 'carol-0003',
    email: 'carol@example.org',
    emailVerified: true,
    name: 'Carol Contractor',
    givenName: 'Carol',
    familyName: 'Contractor',
    groups: [],
  },
  {
    username: 'zoe',
    password: 'zoe',
    subject: 'zoe-0004',
    email: 'zoe@example.com',
    emailVerified: true,
    name: 'Zoë Ñandú',
    givenName: 'Zoë',
    familyName: 'Ñandú',
    groups: ['staff', 'sales,emea'],
    extraClaims: { department: 'sales' },
  },
]);

/**
 * A user with `count` groups (`group-001`, ...), for tests of large sessions
 * and headers (cookie size limits, header size limits in the proxies).
 */
export function userWithManyGroups(count: number, username = 'many-groups'): DevUser {
  return {
    username,
    password: username,
    subject: `${username}-sub`,
    email: `${username}@example.com`,
    emailVerified: true,
    name: 'Many Groups',
    givenName: 'Many',
    familyName: 'Groups',
    groups: Array.from({ length: count }, (_, i) => `group-${String(i + 1).padStart(3, '0')}`),
  };
}

/** The OpenID Connect claims of a user (OIDC Core 1.0 §5.1, plus `groups`). */
export function claimsOf(user: DevUser): Record<string, unknown> & { sub: string } {
  return {
    ...user.extraClaims,
    sub: user.subject,
    email: user.email,
    email_verified: user.emailVerified,
    name: user.name,
    preferred_username: user.username,
    given_name: user.givenName,
    family_name: user.familyName,
    groups: [...user.groups],
  };
}

/**
 * The user with this username and password, or undefined. Compares digests
 * in constant time so the dev provider does not teach a timing leak by example.
 */
export function authenticateUser(
  users: readonly DevUser[],
  username: string,
  password: string,
): DevUser | undefined {
  const user = users.find((candidate) => candidate.username === username);
  const expected = digest(user?.password ?? '');
  const matches = timingSafeEqual(expected, digest(password));
  return user !== undefined && matches ? user : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
