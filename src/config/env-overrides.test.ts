import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.ts';
import { formatProblems } from './problems.ts';
import type { Config } from './schema.ts';

function withEnv(env: Record<string, string>, yaml?: string): Config {
  const result = loadConfig({
    env,
    cwd: '/etc/gh',
    ...(yaml === undefined ? {} : { file: 'gatehouse.yaml', readFile: () => yaml }),
  });
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.config;
}

function envProblems(env: Record<string, string>): string[] {
  const result = loadConfig({ env });
  return result.ok
    ? []
    : result.problems.map((p) => `${p.path}: ${p.message} (${p.source ?? '?'})`);
}

describe('GATEHOUSE_* environment overrides', () => {
  it('sets nested settings, SCREAMING_SNAKE levels mapping to camelCase keys', () => {
    const config = withEnv({
      GATEHOUSE_PUBLIC_URL: 'https://auth.example.com',
      GATEHOUSE_LISTENERS__MAIN__PORT: '8081',
      GATEHOUSE_SESSIONS__COOKIE__NAME: '__Host-gh',
      GATEHOUSE_SESSIONS__IDLE_TIMEOUT: '30m',
      GATEHOUSE_IDENTITY_HEADERS__ASSERTION__TTL: '45',
    });
    expect(config.publicUrl).toBe('https://auth.example.com');
    expect(config.listeners.main.port).toBe(8081);
    expect(config.sessions.cookie.name).toBe('__Host-gh');
    expect(config.sessions.idleTimeout).toBe(1_800_000);
    expect(config.identityHeaders.assertion.ttl).toBe(45_000);
  });

  it('reads numbers, booleans and flow lists as YAML, strings verbatim', () => {
    const config = withEnv({
      GATEHOUSE_SESSIONS__COOKIE__SECURE: 'false',
      GATEHOUSE_PUBLIC_URL: 'http://auth.localhost',
      GATEHOUSE_TRUSTED_PROXIES: '[10.0.0.0/8, "::1"]',
      GATEHOUSE_REDIRECTS__ALLOWED_DOMAINS: '[.example.com]',
      GATEHOUSE_SERVER__MAX_HEADER_SIZE: '32768',
      GATEHOUSE_SESSIONS__REDIS__PASSWORD: 'p#ss: "word" ',
      GATEHOUSE_AUTHZ__SUPER_ROLE: '123',
    });
    expect(config.sessions.cookie.secure).toBe(false);
    expect(config.trustedProxies).toEqual(['10.0.0.0/8', '::1']);
    expect(config.redirects.allowedDomains).toEqual(['.example.com']);
    expect(config.server.maxHeaderSize).toBe(32768);
    expect(config.sessions.redis.password).toBe('p#ss: "word" ');
    expect(config.authz.superRole).toBe('123');
  });

  it('overrides the file, and addresses list entries by index', () => {
    const config = withEnv(
      {
        GATEHOUSE_PROVIDERS__0__CLIENT_SECRET: 'from-env',
        GATEHOUSE_PROVIDERS__0__SCOPES: '[openid, groups]',
        GATEHOUSE_PROVIDERS__1__NAME: 'backup',
        GATEHOUSE_PROVIDERS__1__ISSUER: 'https://backup.example.com',
        GATEHOUSE_PROVIDERS__1__CLIENT_ID: 'gh',
        GATEHOUSE_LOG__LEVEL: 'debug',
      },
      `
log: { level: warn }
providers:
  - { name: corp, issuer: https://login.example.com, clientId: gh, clientSecret: from-file }
`,
    );
    expect(config.log.level).toBe('debug');
    expect(config.providers.map((p) => [p.name, p.clientSecret, p.scopes])).toEqual([
      ['corp', 'from-env', ['openid', 'groups']],
      ['backup', undefined, ['openid', 'email', 'profile']],
    ]);
  });

  it('applies a whole value before the variables that refine it', () => {
    const config = withEnv({
      GATEHOUSE_PROVIDERS__0__CLIENT_ID: 'refined',
      GATEHOUSE_PROVIDERS: '[{name: corp, issuer: "https://login.example.com", clientId: x}]',
    });
    expect(config.providers[0]?.clientId).toBe('refined');
  });

  it('turns header-map keys into header names', () => {
    const config = withEnv({
      GATEHOUSE_IDENTITY_HEADERS__PROFILE: 'custom',
      GATEHOUSE_IDENTITY_HEADERS__CUSTOM__X_USER: 'user',
      GATEHOUSE_IDENTITY_HEADERS__CUSTOM__X_DEPT: 'claim:department',
    });
    expect(config.identityHeaders.custom).toEqual({
      'x-user': 'user',
      'x-dept': 'claim:department',
    });
  });

  it('keeps a setting whose own name ends in _FILE a plain value', () => {
    const config = withEnv({
      GATEHOUSE_IDENTITY_HEADERS__ASSERTION__ENABLED: 'true',
      GATEHOUSE_IDENTITY_HEADERS__ASSERTION__SIGNING_KEY_FILE: '/run/keys/current.pem',
    });
    expect(config.identityHeaders.assertion.signingKeyFile).toBe('/run/keys/current.pem');
  });

  it('reports unknown and invalid variables, naming the variable', () => {
    expect(
      envProblems({
        GATEHOUSE_SESSIONS__COOKEI__NAME: 'x',
        GATEHOUSE_LISTENERS__MAIN__PORT: 'http',
        GATEHOUSE_PROVIDERS__3__NAME: 'gap',
        GATEHOUSE_LISTENERS____PORT: '1',
      }),
    ).toEqual([
      'listeners: has an empty level (levels are separated by "__") (environment GATEHOUSE_LISTENERS____PORT)',
      'sessions.cookei: unknown setting (environment GATEHOUSE_SESSIONS__COOKEI__NAME)',
      'providers[3].name: index 3 leaves a gap: the list has 0 entries (environment GATEHOUSE_PROVIDERS__3__NAME)',
      'listeners.main.port: must be a port number (1-65535) (environment GATEHOUSE_LISTENERS__MAIN__PORT)',
    ]);
  });

  it('ignores Kubernetes service links and the config file variable', () => {
    const config = withEnv({
      GATEHOUSE_PORT: 'tcp://10.96.0.12:8080',
      GATEHOUSE_SERVICE_HOST: '10.96.0.12',
      GATEHOUSE_REDIS_SERVICE_PORT_REDIS: '6379',
      GATEHOUSE_REDIS_PORT_6379_TCP_ADDR: '10.96.0.13',
      GATEHOUSE_CONFIG: '/etc/gatehouse/gatehouse.yaml',
    });
    expect(config.listeners.main.port).toBe(8080);
  });

  it('reports a value that is not valid YAML', () => {
    expect(envProblems({ GATEHOUSE_TRUSTED_PROXIES: '[10.0.0.1' })[0]).toMatch(
      /^trustedProxies: is not a valid YAML value/,
    );
  });
});

describe('development variables', () => {
  it('ignores the tools-cache and test variables CI exports for every command', () => {
    const result = loadConfig({
      env: { GATEHOUSE_TOOLS_DIR: '/root/.cache/gatehouse/tools', GATEHOUSE_SKIP_KUBE: '1' },
    });
    expect(result.ok).toBe(true);
  });
});
