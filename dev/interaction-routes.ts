import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { Router } from '@koa/router';
import type { Interaction, Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import { authenticateUser, signInMethodsOf, type DevUser } from './demo-users.ts';
import { renderErrorPage, renderLoginPage } from './pages.ts';

/** Where oidc-provider sends the browser when it needs a login or consent. */
export function interactionPath(uid: string): string {
  return `/interaction/${encodeURIComponent(uid)}`;
}

export interface InteractionRoutesOptions {
  readonly provider: Provider;
  readonly users: readonly DevUser[];
  readonly logger?: Logger | undefined;
}

// A login form is tiny; anything larger is not a browser submitting it.
const MAX_FORM_BYTES = 8 * 1024;

/**
 * The login and consent interactions of the development identity provider,
 * replacing oidc-provider's devInteractions (which accept any login name):
 *
 * - `GET /interaction/:uid`: the login form, or, for the consent prompt, an
 *   automatic consent to everything the client asked for (the dev clients are
 *   first-party; a consent page would only slow tests and newcomers down);
 * - `POST /interaction/:uid/login`: checks username and password; a wrong
 *   pair shows the form again with an error (200, no redirect);
 * - `GET /interaction/:uid/abort`: the user cancels; the client receives
 *   `error=access_denied` (OIDC Core 1.0 §3.1.2.6).
 */
export function interactionRoutes(options: InteractionRoutesOptions): Middleware {
  const { provider, users, logger } = options;
  const router = new Router({ prefix: '/interaction' });
  const knownUsernames = users.slice(0, 8).map((user) => user.username);

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (error) {
      // oidc-provider's errors (e.g. SessionNotFound when the interaction
      // cookie is missing or expired) carry an HTTP status and are safe to show.
      const status = statusOf(error);
      logger?.warn({ status, err: messageOf(error) }, 'dev identity provider: interaction failed');
      ctx.status = status;
      ctx.type = 'html';
      ctx.body = renderErrorPage(
        status >= 500
          ? { error: 'server_error' }
          : { error: 'invalid_request', error_description: messageOf(error) },
      );
    }
  });

  router.get('/:uid', async (ctx) => {
    const interaction = await currentInteraction(provider, ctx.req, ctx.res, ctx.params.uid);
    if (interaction.prompt.name === 'login') {
      ctx.type = 'html';
      ctx.body = renderLoginPage({
        action: `${interactionPath(interaction.uid)}/login`,
        abortUrl: `${interactionPath(interaction.uid)}/abort`,
        clientName: await clientNameOf(provider, interaction),
        username: loginHintOf(interaction),
        knownUsernames,
      });
      return;
    }
    if (interaction.prompt.name === 'consent') {
      const grantId = await grantEverythingRequested(provider, interaction);
      redirect(ctx, await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }));
      return;
    }
    ctx.throw(501, `unsupported prompt ${interaction.prompt.name}`);
  });

  router.post('/:uid/login', async (ctx) => {
    const interaction = await currentInteraction(provider, ctx.req, ctx.res, ctx.params.uid);
    if (interaction.prompt.name !== 'login')
      ctx.throw(400, 'this interaction does not expect a login');
    const form = await readForm(ctx.req);
    const username = form.get('username') ?? '';
    const user = authenticateUser(users, username, form.get('password') ?? '');
    if (user === undefined) {
      logger?.info({ username }, 'dev identity provider: wrong username or password');
      ctx.type = 'html';
      ctx.body = renderLoginPage({
        action: `${interactionPath(interaction.uid)}/login`,
        abortUrl: `${interactionPath(interaction.uid)}/abort`,
        clientName: await clientNameOf(provider, interaction),
        username,
        error: 'Wrong username or password.',
        knownUsernames,
      });
      return;
    }
    logger?.info(
      { username: user.username, sub: user.subject },
      'dev identity provider: signed in',
    );
    // `acr` and `amr` (RFC 8176 §2: "pwd", and "hwk" for a strongSignIn user) go into the ID
    // token, `auth_time` is now (oidc-provider's default `ts`): step-up rules read them.
    const login = { accountId: user.subject, ...signInMethodsOf(user) };
    const returnTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login },
      { mergeWithLastSubmission: false },
    );
    redirect(ctx, returnTo);
  });

  router.get('/:uid/abort', async (ctx) => {
    await currentInteraction(provider, ctx.req, ctx.res, ctx.params.uid);
    const returnTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { error: 'access_denied', error_description: 'End-User cancelled the sign-in' },
      { mergeWithLastSubmission: false },
    );
    redirect(ctx, returnTo);
  });

  return router.routes() as Middleware;
}

async function currentInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: Parameters<Provider['interactionDetails']>[1],
  uid: string | undefined,
): Promise<Interaction> {
  const interaction = await provider.interactionDetails(req, res);
  // The interaction cookie decides which interaction this is; a URL naming
  // another one is a stale tab or a forged link.
  if (interaction.uid !== uid)
    throw Object.assign(new Error('interaction mismatch'), { status: 400 });
  return interaction;
}

async function grantEverythingRequested(
  provider: Provider,
  interaction: Interaction,
): Promise<string> {
  const { details } = interaction.prompt;
  const accountId = interaction.session?.accountId;
  if (accountId === undefined)
    throw Object.assign(new Error('consent without a signed-in user'), { status: 400 });
  const existing =
    interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId);
  const grant =
    existing ?? new provider.Grant({ accountId, clientId: String(interaction.params.client_id) });
  if (details.missingOIDCScope !== undefined)
    grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims !== undefined) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  return grant.save();
}

async function clientNameOf(provider: Provider, interaction: Interaction): Promise<string> {
  const clientId = String(interaction.params.client_id);
  const client = await provider.Client.find(clientId);
  return client?.clientName ?? clientId;
}

function loginHintOf(interaction: Interaction): string | undefined {
  const hint = interaction.params.login_hint;
  return typeof hint === 'string' ? hint : undefined;
}

// 303 so the browser follows with GET after the form POST (RFC 9110 §15.4.4).
function redirect(ctx: { status: number; redirect(url: string): void }, location: string): void {
  ctx.redirect(location);
  ctx.status = 303;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw Object.assign(new Error('expected an application/x-www-form-urlencoded form'), {
      status: 415,
    });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw Object.assign(new Error('form too large'), { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function statusOf(error: unknown): number {
  if (
    typeof error === 'object' &&
    error !== null &&
    'status' in error &&
    typeof error.status === 'number'
  ) {
    return error.status >= 400 && error.status < 600 ? error.status : 500;
  }
  return 500;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
