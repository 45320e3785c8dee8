/**
 * The application behind nginx in `make demo`: a page that shows who gatehouse says you are (the
 * identity headers nginx copied from the auth answer) and links to every kind of path of the
 * example policy, so a newcomer can click through allow, sign-in, 403 and sign-out.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { escapeHtml, renderPage } from '../../src/http/pages.ts';

/** The `x-auth-request` profile (docs/architecture.md, Identity), as the example policy uses. */
export const demoIdentityHeaders = [
  'X-Auth-Request-User',
  'X-Auth-Request-Email',
  'X-Auth-Request-Groups',
  'X-Auth-Request-Preferred-Username',
  'X-Auth-Request-Roles',
] as const;

export interface DemoPageRequest {
  readonly path: string;
  /** As node:http parses them: lower-case names. */
  readonly headers: IncomingHttpHeaders;
  /** gatehouse's sign-in prefix on this host, `/oauth2`. */
  readonly routesPrefix: string;
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The page for one request; pure, so what it shows is easy to test. */
export function renderDemoPage(request: DemoPageRequest): string {
  const { headers, routesPrefix } = request;
  const user = header(headers, 'X-Auth-Request-User');
  const email = header(headers, 'X-Auth-Request-Email');
  const host = header(headers, 'host');
  const who =
    user === ''
      ? '<p id="who">You are not signed in: gatehouse let you in as a <code>guest</code>.</p>'
      : `<p id="who">You are signed in as <strong>${escapeHtml(user)}</strong>${email === '' ? '' : ` (${escapeHtml(email)})`}.</p>`;
  const rows = demoIdentityHeaders
    .map(
      (name) =>
        `<dt>${escapeHtml(name)}</dt><dd><code>${escapeHtml(header(headers, name)) || '&nbsp;'}</code></dd>`,
    )
    .join('\n');
  const signOut = `${routesPrefix}/sign_out?${new URLSearchParams({ rd: `http://${host}/public/` }).toString()}`;
  const links: readonly (readonly [string, string])[] = [
    ['/public/', 'open to everyone'],
    ['/', 'any signed-in user'],
    ['/admin', 'app-admin only (alice)'],
    ['/metrics', 'closed to everyone'],
    [`${routesPrefix}/userinfo`, 'what gatehouse knows about you (JSON)'],
    [signOut, 'sign out'],
  ];
  const items = links
    .map(
      ([href, what]) =>
        `<li><a href="${escapeHtml(href)}">${escapeHtml(href.split('?')[0] ?? href)}</a>: ${escapeHtml(what)}</li>`,
    )
    .join('\n');
  return renderPage({
    title: 'gatehouse demo app',
    stylesheetHref: `${routesPrefix}/static/gatehouse.css`,
    body: `<h1>Demo app: <code>${escapeHtml(request.path)}</code></h1>
${who}
<h2>Identity headers that reached this app</h2>
<dl>
${rows}
</dl>
<h2>Try</h2>
<ul>
${items}
</ul>`,
  });
}

export interface DemoApp {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

export async function startDemoApp(options: { readonly routesPrefix: string }): Promise<DemoApp> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://demo').pathname;
    response.setHeader('Content-Type', 'text/html; charset=utf-8');
    response.setHeader('Cache-Control', 'no-store');
    response.end(
      renderDemoPage({ path, headers: request.headers, routesPrefix: options.routesPrefix }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
