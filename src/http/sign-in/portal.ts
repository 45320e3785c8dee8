import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { SessionCookieAuthenticator } from '../../authn/session-cookie.ts';
import { allReasons } from '../../authz/reasons.ts';
import { ConfigSchema } from '../../config/schema.ts';
import { redirectPolicyOf } from '../../oidc/destination.ts';
import { validateRedirect } from '../../oidc/redirect-target.ts';
import { originOfDestination } from '../../oidc/sign-in-origins.ts';
import { identityOfSession } from '../../authn/session-identity.ts';
import { signInPaths, type SignInOptions } from '../../oidc/sign-in-options.ts';
import { formToken, isValidFormToken } from '../../oidc/form-token.ts';
import {
  endAllOwnSessions,
  endOwnSession,
  listOwnSessions,
  type OwnSessionsDependencies,
} from '../../oidc/own-sessions.ts';
import { isSameOriginPost, signOutFormActions } from '../../oidc/sign-out.ts';
import { forbiddenPage, type SignedInAs } from '../pages.ts';
import { themeOf, type PageOptions } from './page-branding.ts';
import { portalPage, signInErrorPage } from './pages.ts';
import { readFormBody, redirect, requestIdOf, sendPage, singleParam } from './respond.ts';
import { perSignInHost } from './sign-in-host.ts';

/**
 * The portal (`GET <prefix>/`) and gatehouse's 403 page for proxies that show their own
 * (`GET <prefix>/forbidden`). Both are for people, so they are HTML under the strict CSP of
 * http/pages.ts, never cached (they describe one session or one denial).
 */

/** `forbiddenContact` omitted: the configuration schema's default text. */
export type PortalOptions = SignInOptions<unknown> & PageOptions;

/** Mounts `<prefix>`, `<prefix>/` and `<prefix>/forbidden`; called from routes.ts. */
export function mountPortal(
  router: Router,
  options: PortalOptions,
  sessions: SessionCookieAuthenticator,
): void {
  const { prefix } = signInPaths(options);
  const portal = perSignInHost(options, (view) => portalHandler(view, sessions));
  // @koa/router matches `<prefix>` and `<prefix>/` with one route; the handler tells them apart.
  router.get(prefix, async (ctx, next) => {
    if (ctx.path === prefix) {
      // Relative, so it works behind any host; the portal's relative links need the slash.
      redirect(ctx, `${prefix}/`);
      return;
    }
    await portal(ctx, next);
  });
  router.get(`${prefix}/forbidden`, forbiddenHandler(options, sessions));
  router.post(
    `${prefix}/sessions/end`,
    perSignInHost(options, (view) => endSessionsHandler(view, sessions)),
  );
}

/** The store's listing role, when it has one (every store gatehouse builds does). */
function directoryOf(store: unknown): OwnSessionsDependencies['store'] | null {
  const candidate = store as Partial<OwnSessionsDependencies['store']> | null;
  return typeof candidate?.listByUser === 'function' &&
    typeof candidate.listKeysByUser === 'function'
    ? (store as OwnSessionsDependencies['store'])
    : null;
}

const FORM_LIMIT_BYTES = 4096;

/**
 * `POST <prefix>/sessions/end` from the portal's "Your sessions" (issue #20): `session=<key>`
 * ends one of the person's other sessions, `all=others` every other one. The same defences as
 * sign-out: a same-origin POST (Fetch Metadata / Origin) carrying the portal's token, which an
 * HMAC under the session's own ticket secret makes unforgeable from another site
 * (oidc/form-token.ts). A key that is not one of this person's sessions ends nothing and reads
 * like an already ended one (oidc/own-sessions.ts), so the form cannot probe for sessions.
 */
export function endSessionsHandler(
  options: PortalOptions,
  sessions: SessionCookieAuthenticator,
): Middleware {
  const paths = signInPaths(options);
  const theme = themeOf(options);
  const directory = directoryOf(options.store);
  return async (ctx) => {
    const requestId = requestIdOf(ctx);
    const refuse = (status: number, message: string): void => {
      sendPage(
        ctx,
        status,
        signInErrorPage({
          title: 'Sessions not ended',
          message,
          requestId,
          retryHref: `${paths.prefix}/`,
          stylesheetHref: paths.stylesheetHref,
          theme,
        }),
        [],
        theme,
      );
    };
    if (directory === null) {
      refuse(404, 'This gatehouse cannot list sessions.');
      return;
    }
    const sameOrigin = isSameOriginPost(
      {
        origin: ctx.get('origin') || undefined,
        secFetchSite: ctx.get('sec-fetch-site') || undefined,
      },
      options.publicUrl,
    );
    if (!sameOrigin) {
      refuse(
        403,
        'The request did not come from this site. Please use the buttons on your account page.',
      );
      return;
    }
    const form = await readFormBody(ctx, FORM_LIMIT_BYTES);
    const found = await sessions.findSession(ctx.get('cookie') || undefined);
    if (found === null) {
      redirect(ctx, `${paths.prefix}/`);
      return;
    }
    if (!isValidFormToken('own-sessions', form.get('csrf'), found.ticket, found.session.key)) {
      refuse(403, 'The form has expired. Please open your account page again.');
      return;
    }
    const dependencies = { store: directory, metrics: options.metrics, audit: options.audit };
    const key = form.getAll('session');
    const all = form.getAll('all');
    let ended: number;
    if (key.length === 1 && all.length === 0 && key[0] !== undefined) {
      ended = (await endOwnSession(dependencies, found.session, key[0], requestId)) ? 1 : 0;
    } else if (key.length === 0 && all.length === 1 && all[0] === 'others') {
      ended = await endAllOwnSessions(dependencies, found.session, requestId, {
        keepCurrent: true,
      });
    } else {
      refuse(400, 'Choose one session to end, or "Sign out everywhere else".');
      return;
    }
    // 303: the browser reloads the portal with GET, which shows what is left (RFC 9110 §15.4.4).
    ctx.status = 303;
    ctx.redirect(`${paths.prefix}/?${new URLSearchParams({ ended: String(ended) }).toString()}`);
  };
}

/**
 * `GET <prefix>/`: who the session cookie names (as `<prefix>/userinfo` does), or, without a
 * session, a sign-in that comes back here.
 */
export function portalHandler(
  options: PortalOptions,
  sessions: SessionCookieAuthenticator,
): Middleware {
  const paths = signInPaths(options);
  const theme = themeOf(options);
  const portalUrl = `${paths.publicBase}${paths.prefix}/`;
  const signIn = `${paths.prefix}/start?${new URLSearchParams({ rd: portalUrl }).toString()}`;
  return async (ctx) => {
    const found = await sessions.findSession(ctx.get('cookie') || undefined);
    if (found === null) {
      redirect(ctx, signIn);
      return;
    }
    const { session, ticket } = found;
    const identity = identityOfSession(session);
    const directory = directoryOf(options.store);
    const endedParam = Number(singleParam(ctx, 'ended'));
    sendPage(
      ctx,
      200,
      portalPage({
        view: {
          user: identity.user,
          email: identity.email ?? null,
          name: identity.name ?? null,
          groups: identity.groups,
          roles: options.rolesOf(identity),
          provider: providerDisplayName(options, session.provider),
          createdAt: session.createdAt,
          idleExpiresAt: session.idleExpiresAt,
          absoluteExpiresAt: session.absoluteExpiresAt,
          now: options.now(),
        },
        signOutAction: `${paths.prefix}/sign_out`,
        csrfToken: formToken('sign-out', ticket, session.key),
        userinfoHref: `${paths.prefix}/userinfo`,
        stylesheetHref: paths.stylesheetHref,
        theme,
        sessions:
          directory === null
            ? undefined
            : {
                list: (await listOwnSessions(directory, session)).map((listing) => ({
                  ...listing,
                  provider:
                    listing.provider === null
                      ? null
                      : providerDisplayName(options, listing.provider),
                })),
                endAction: `${paths.prefix}/sessions/end`,
                csrfToken: formToken('own-sessions', ticket, session.key),
                ended: Number.isSafeInteger(endedParam) && endedParam >= 0 ? endedParam : undefined,
              },
      }),
      signOutFormActions(options, session),
      theme,
    );
  };
}

/** The provider's name for people (`providers[].displayName`), else its configured name. */
function providerDisplayName(options: SignInOptions<unknown>, name: string): string {
  const configured = options.providers.enabled().find((provider) => provider.name === name);
  return configured?.displayName ?? name;
}

const defaultContact = ((): string => {
  const value: unknown = ConfigSchema.properties.pages.properties.forbiddenContact.default;
  return typeof value === 'string' ? value : '';
})();

const knownReasons: ReadonlySet<string> = new Set(allReasons);

/** The trusted ingress's well-formed `X-Request-ID`, set by main-app.ts; absent otherwise. */
function proxyRequestIdOf(ctx: Context): string | undefined {
  const value: unknown = ctx.state['proxyRequestId'];
  return typeof value === 'string' ? value : undefined;
}

/**
 * `GET <prefix>/forbidden?rd=<denied URL>&reason=<code>`: the 403 page for proxies that replace
 * the auth service's 403 body with their own (nginx `auth_request` does: proxy-protocols.md
 * §1.2), reached through nginx `error_page 403` (docs/operator-guide.md).
 *
 * Anyone can craft this URL, so nothing in it is echoed unchecked: the reason must be one of the
 * reason codes, and host and path come only from an `rd` that passes the same redirect check as
 * sign-in (allowed domains; security invariant 4). The request id shown is the trusted ingress's
 * `X-Request-ID` when there is one (`ctx.state.proxyRequestId`, http/request-id.ts): nginx sends
 * the same `$req_id` with the auth subrequest and with this error page, so it is the
 * `proxyRequestId` of the denial on the audit trail. Otherwise it is this request's own id. The
 * page then says nothing an attacker could not say, and reveals no policy.
 */
export function forbiddenHandler(
  options: PortalOptions,
  sessions: SessionCookieAuthenticator,
): Middleware {
  const paths = signInPaths(options);
  const theme = themeOf(options);
  const contact = options.forbiddenContact ?? defaultContact;
  const defaultHome = `${paths.publicBase}${paths.prefix}`;
  return async (ctx) => {
    const rawReason = singleParam(ctx, 'reason');
    const reason = rawReason !== undefined && knownReasons.has(rawReason) ? rawReason : 'unknown';
    const target = validateRedirect(singleParam(ctx, 'rd'), redirectPolicyOf(options));
    const denied = target.ok ? new URL(target.url) : null;
    // Signing out (then in as someone else) is what a person on the wrong account needs; a new
    // sign-in alone would come back as the same user through the provider's single sign-on.
    // Absolute: nginx shows this page on the application's host, not on gatehouse's. With
    // several cookie domains, on the sign-in host of the application's domain: only there is
    // its session cookie sent and cleared (oidc/sign-in-origins.ts).
    const origin =
      denied === null || options.signInOrigins === undefined
        ? undefined
        : originOfDestination(options.signInOrigins, denied.href);
    const home = origin === undefined ? defaultHome : `${origin.publicUrl}${paths.prefix}`;
    const signOutHref =
      denied === null
        ? `${home}/sign_out`
        : `${home}/sign_out?${new URLSearchParams({ rd: denied.href }).toString()}`;
    // The session cookie reaches this page when its domain covers the application's host (as
    // nginx's auth_request needs it to): then the page says whose account was refused.
    const found = await sessions.findSession(ctx.get('cookie') || undefined);
    const signedInAs: SignedInAs | undefined =
      found === null
        ? undefined
        : {
            user: found.session.identity.email ?? found.session.identity.user,
            provider: providerDisplayName(options, found.session.provider),
          };
    sendPage(
      ctx,
      403,
      forbiddenPage({
        host: denied?.host ?? '',
        path: denied?.pathname ?? '',
        reason,
        requestId: proxyRequestIdOf(ctx) ?? requestIdOf(ctx),
        contact,
        portalHref: `${home}/`,
        signOutHref,
        signedInAs,
        theme,
      }),
      [],
      theme,
    );
  };
}
