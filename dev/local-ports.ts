/**
 * `make run` on other ports. The example configuration names its own addresses twice: `publicUrl`
 * (`http://auth.localhost:8080`, from which gatehouse builds the OIDC redirect URI) repeats the
 * main listener's port, and the `dev` provider's issuer (`http://127.0.0.1:9400`) repeats the
 * development identity provider's. Moving a listener with `GATEHOUSE_LISTENERS__MAIN__PORT=8081`
 * alone would leave sign-in sending browsers back to :8080, and moving the identity provider
 * would leave gatehouse discovering it at :9400. For a local run, where both ends are on this
 * machine, the addresses follow the ports, unless the variable for the address itself is set
 * (then the person running it has said where it is, e.g. behind a local proxy).
 */
import type { Config } from '../src/config/schema.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface FollowedPorts {
  /** Extra `GATEHOUSE_*` variables to load the configuration with. */
  readonly env: Readonly<Record<string, string>>;
  /** One line per address that moved, to print at start. */
  readonly notes: readonly string[];
}

/** The environment without the variables that move the ports: what the file alone says. */
export function withoutPortOverrides(env: Env): Env {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) =>
        !name.startsWith('GATEHOUSE_LISTENERS') &&
        !name.startsWith('GATEHOUSE_DEV_IDENTITY_PROVIDER'),
    ),
  );
}

/** Loopback names a browser and this process both reach on this machine (RFC 6761 §6.3). */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return (
    host === 'localhost' || host.endsWith('.localhost') || host === '127.0.0.1' || host === '[::1]'
  );
}

function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * Compares the configuration as the file gives it (`asFiled`, loaded without the port variables)
 * with the one this run uses (`asRun`), and returns the variables that make the addresses follow
 * the ports that moved.
 */
export function followPorts(asFiled: Config, asRun: Config, env: Env): FollowedPorts {
  const extra: Record<string, string> = {};
  const notes: string[] = [];

  const filedMain = asFiled.listeners.main.port;
  const runMain = asRun.listeners.main.port;
  const publicUrl = new URL(asFiled.publicUrl);
  if (
    env['GATEHOUSE_PUBLIC_URL'] === undefined &&
    runMain !== filedMain &&
    runMain !== 0 &&
    isLoopbackHost(publicUrl.hostname) &&
    effectivePort(publicUrl) === filedMain
  ) {
    publicUrl.port = String(runMain);
    // URL.href adds a trailing slash to a bare origin; keep the file's spelling otherwise.
    const moved = asFiled.publicUrl.endsWith('/')
      ? publicUrl.href
      : publicUrl.href.replace(/\/$/, '');
    extra['GATEHOUSE_PUBLIC_URL'] = moved;
    notes.push(
      `publicUrl follows the main listener to port ${String(runMain)}: ${moved} (set GATEHOUSE_PUBLIC_URL to choose it)`,
    );
  }

  const filedIdp = asFiled.devIdentityProvider.port;
  const runIdp = asRun.devIdentityProvider.port;
  if (asRun.devIdentityProvider.enabled && runIdp !== filedIdp && runIdp !== 0) {
    // startDevIdentityProvider's issuer is http://127.0.0.1:<port> (dev/identity-provider.ts).
    const filedIssuer = `http://127.0.0.1:${String(filedIdp)}`;
    const runIssuer = `http://127.0.0.1:${String(runIdp)}`;
    asFiled.providers.forEach((provider, index) => {
      const variable = `GATEHOUSE_PROVIDERS__${String(index)}__ISSUER`;
      const overridden =
        env['GATEHOUSE_PROVIDERS'] !== undefined ||
        env[`GATEHOUSE_PROVIDERS__${String(index)}`] !== undefined ||
        env[variable] !== undefined;
      if (overridden || provider.issuer.replace(/\/+$/, '') !== filedIssuer) return;
      extra[variable] = runIssuer;
      notes.push(
        `provider "${provider.name}" follows the development identity provider to ${runIssuer} (set ${variable} to choose it)`,
      );
    });
  }
  return { env: extra, notes };
}
