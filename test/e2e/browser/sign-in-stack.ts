/**
 * Everything a browser sign-in goes through, all real and on loopback: nginx (ingress-nginx
 * rendition, dev/demo/app-ingress.ts) serving `app.localhost:<port>` in front of the echo
 * application, with gatehouse's `/oauth2/` routes on the same host; gatehouse (in-process, the
 * example policies of examples/policies/); and two development OpenID Providers, so the sign-in
 * starts at gatehouse's provider chooser.
 *
 * Chromium treats http://*.localhost as a secure context, so gatehouse keeps its default
 * `Secure` session cookie over plain http here, exactly as configured in production.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAppIngress, type RunningAppIngress } from '../../../dev/demo/app-ingress.ts';
import { startDevIdentityProvider } from '../../../dev/identity-provider.ts';
import type { DevIdentityProvider } from '../../../dev/identity-provider.ts';
import { findFreePort } from '../../fixtures/gatehouse/free-port.ts';
import { startTestGatehouse, type TestGatehouse } from '../../fixtures/gatehouse/start.ts';
import { identityHeaders } from '../harness/auth-stack.ts';
import { startEchoUpstream, type EchoUpstream } from '../harness/echo-upstream.ts';

export const appHost = 'app.localhost';
const routesPrefix = '/oauth2';
const examplePolicies = fileURLToPath(new URL('../../../examples/policies', import.meta.url));

export interface Provider {
  readonly name: string;
  /** On the chooser's button: "Sign in with <displayName>". */
  readonly displayName: string;
  /**
   * RP-initiated logout: signing out of gatehouse also ends the provider session, so the next
   * sign-in asks for a password again. Off (the default) for one provider, on for the other.
   */
  readonly endSession: boolean;
}

/** The two providers on the chooser. */
export const providers = {
  dev: { name: 'dev', displayName: 'Development sign-in', endSession: false },
  partner: { name: 'partner', displayName: 'Partner sign-in', endSession: true },
} as const satisfies Record<string, Provider>;

export interface SignInStack {
  /** `http://app.localhost:<port>`: the app, and gatehouse's public URL. */
  readonly origin: string;
  readonly gatehouse: TestGatehouse;
  readonly upstream: EchoUpstream;
  readonly ingress: RunningAppIngress;
  readonly idp: DevIdentityProvider;
  /** The second provider (`providers.partner`). */
  readonly partnerIdp: DevIdentityProvider;
  close(): Promise<void>;
}

export interface SignInStackOptions {
  /** Policy manifests (YAML) served beside the example policies. */
  readonly extraPolicies?: string;
  /** The pages' branding (configuration `pages`); the logo is written to a file (`logoFile`). */
  readonly branding?: StackBranding;
}

export interface StackBranding {
  readonly title: string;
  readonly colour: string;
  readonly footer: string;
  /** An SVG document, served as `pages.logoFile`. */
  readonly logoSvg: string;
}

export async function startSignInStack(options: SignInStackOptions = {}): Promise<SignInStack> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    let policies = examplePolicies;
    if (options.extraPolicies !== undefined) {
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-browser-policies-'));
      closers.push(() => rm(dir, { recursive: true, force: true }));
      await cp(examplePolicies, dir, { recursive: true });
      await writeFile(join(dir, 'extra.yaml'), options.extraPolicies);
      policies = dir;
    }
    // nginx's port is part of gatehouse's public URL and of the redirect URIs registered at the
    // providers, so it is chosen first and everything else is configured with it.
    const port = await findFreePort();
    const origin = `http://${appHost}:${String(port)}`;
    const client = {
      clientId: 'gatehouse-browser-test',
      clientSecret: 'browser-test-secret',
      clientName: 'the browser test app',
      redirectUris: [`${origin}${routesPrefix}/callback`],
      postLogoutRedirectUris: [`${origin}${routesPrefix}/signed-out`],
    };
    const idp = await startDevIdentityProvider({ clients: [client] });
    closers.push(() => idp.close());
    const partnerIdp = await startDevIdentityProvider({ clients: [client] });
    closers.push(() => partnerIdp.close());

    const upstream = await startEchoUpstream();
    closers.push(() => upstream.close());

    const provider = (entry: Provider, issuer: string) => `
  - name: ${entry.name}
    displayName: ${entry.displayName}
    issuer: ${issuer}
    clientId: ${client.clientId}
    clientSecret: ${client.clientSecret}
    endSession: ${String(entry.endSession)}`;
    let pages = '';
    if (options.branding !== undefined) {
      const { logoSvg, ...texts } = options.branding;
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-browser-branding-'));
      closers.push(() => rm(dir, { recursive: true, force: true }));
      const logoFile = join(dir, 'logo.svg');
      await writeFile(logoFile, logoSvg);
      // JSON is YAML: every text arrives exactly as written.
      pages = `pages: ${JSON.stringify({ ...texts, logoFile })}\n`;
    }
    const gatehouse = await startTestGatehouse({
      policies,
      publicUrl: origin,
      logLevel: 'info',
      configYaml: `
routes: { prefix: ${routesPrefix} }
redirects: { allowedDomains: [${appHost}] }
providers:${provider(providers.dev, idp.issuer)}${provider(providers.partner, partnerIdp.issuer)}
${pages}`,
    });
    closers.push(() => gatehouse.close());

    const ingress = await startAppIngress({
      host: appHost,
      port,
      gatehouseUrl: gatehouse.url(''),
      upstreamUrl: upstream.url,
      routesPrefix,
      responseHeaders: identityHeaders,
    });
    closers.push(() => ingress.stop());

    return { origin, gatehouse, upstream, ingress, idp, partnerIdp, close };
  } catch (error) {
    await close();
    throw error;
  }
}
