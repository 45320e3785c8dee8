import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './load.ts';
import type { LoadConfigOptions } from './load.ts';
import { formatProblems } from './problems.ts';
import type { ConfigProblem } from './problems.ts';
import type { Config } from './schema.ts';

const projectRoot = join(import.meta.dirname, '..', '..');

/** Loads `yaml` as the file `gatehouse.yaml` with no environment unless given. */
function load(yaml: string | undefined, options: Omit<LoadConfigOptions, 'file'> = {}) {
  const files: Record<string, string> =
    yaml === undefined ? {} : { '/etc/gh/gatehouse.yaml': yaml };
  return loadConfig({
    env: {},
    cwd: '/etc/gh',
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
      return text;
    },
    ...(yaml === undefined ? {} : { file: 'gatehouse.yaml' }),
    ...options,
  });
}

function loaded(yaml: string | undefined, options?: Omit<LoadConfigOptions, 'file'>): Config {
  const result = load(yaml, options);
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.config;
}

function problemsOf(
  yaml: string | undefined,
  options?: Omit<LoadConfigOptions, 'file'>,
): readonly ConfigProblem[] {
  const result = load(yaml, options);
  if (result.ok) throw new Error('expected the configuration to be rejected');
  return result.problems;
}

function lines(problems: readonly ConfigProblem[]): string[] {
  return problems.map((problem) => `${problem.path}: ${problem.message}`);
}

describe('loadConfig defaults', () => {
  it('loads every default without a file, durations in milliseconds', () => {
    const config = loaded(undefined);
    expect(config.publicUrl).toBe('http://auth.localhost:8080');
    expect(config.listeners.main).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.listeners.operations.port).toBe(9090);
    expect(config.server).toEqual({
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      keepAliveTimeout: 65_000,
      maxHeaderSize: 16384,
      shutdownDelay: 5_000,
      shutdownTimeout: 20_000,
    });
    expect(config.trustedProxies).toEqual([]);
    expect(config.authz).toEqual({
      noMatch: 'deny',
      superRole: 'admin',
      unqualifiedSubjectSources: [],
    });
    expect(config.routes.prefix).toBe('/oauth2');
    expect(config.sessions.store).toBe('memory');
    expect(config.sessions.cookie).toEqual({
      name: '_gatehouse',
      domain: undefined,
      domains: [],
      signInUrls: [],
      secure: true,
      sameSite: 'lax',
    });
    expect(config.sessions.idleTimeout).toBe(8 * 3_600_000);
    expect(config.sessions.absoluteLifetime).toBe(7 * 86_400_000);
    expect(config.sessions.redis.keyPrefix).toBe('gatehouse:');
    expect(config.identityHeaders.assertion.ttl).toBe(60_000);
    expect(config.providers).toEqual([]);
    expect(config.devIdentityProvider).toEqual({ enabled: false, port: 9400 });
  });

  it('fills the defaults inside list entries', () => {
    const config = loaded(`
providers:
  - { name: corp, issuer: https://login.example.com, clientId: gh }
bearer:
  issuers:
    - { name: ci, issuer: https://ci.example.com, audiences: [gatehouse] }
`);
    expect(config.providers[0]).toMatchObject({
      scopes: ['openid', 'email', 'profile'],
      claims: { username: 'preferred_username', groups: 'groups' },
      clientSecret: undefined,
      enabled: true,
    });
    expect(config.bearer.issuers[0]).toMatchObject({
      algorithms: ['RS256', 'ES256'],
      clockSkew: 30_000,
      claims: { username: 'sub' },
    });
    expect(config.bearer.issuers[0]).not.toHaveProperty('jwksUri');
  });

  it('treats an empty file as all defaults', () => {
    expect(loaded('# nothing yet\n').listeners.main.port).toBe(8080);
  });
});

describe('loadConfig problems', () => {
  it('reports every problem of a bad file at once, each with its path and line', () => {
    const problems = problemsOf(`publicUrl: not a url
listeners:
  main:
    port: 70000
trustedProxies: [10.0.0.1, 10.0.0.0/33]
log:
  level: loud
authz:
  noMatch: maybe
sessions:
  idleTimeout: 5 minutes
  cookei: x
routes:
  prefix: /oauth2/
bearer:
  issuers:
    - name: ci
      issuer: https://ci.example.com
      audiences: []
      algorithms: [HS256]
providers:
  - name: Corp
    issuer: https://login.example.com
`);
    expect(lines(problems)).toEqual([
      'publicUrl: must be an absolute http(s) URL',
      'listeners.main.port: must be a port number (1-65535)',
      'trustedProxies[1]: "10.0.0.0/33" is not an IP address or CIDR',
      'log.level: must be one of fatal, error, warn, info, debug, trace, silent',
      'authz.noMatch: must be one of deny, authenticate, allow',
      'routes.prefix: must start with "/" and not end with "/" (e.g. /oauth2)',
      'bearer.issuers[0].audiences: must list at least 1 item',
      'bearer.issuers[0].algorithms[0]: must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (never HS* or none)',
      'sessions.cookei: unknown setting',
      'sessions.idleTimeout: "5 minutes" is not a duration (e.g. 500ms, 30s, 10m, 8h, 7d)',
      'providers[0].clientId: is required',
      'providers[0].name: must be a DNS label (lower-case letters, digits, inner hyphens)',
    ]);
    const where = Object.fromEntries(problems.map((p) => [p.path, p.source]));
    expect(where['listeners.main.port']).toBe('gatehouse.yaml:4:11');
    expect(where['trustedProxies[1]']).toBe('gatehouse.yaml:5:28');
    expect(where['sessions.cookei']).toBe('gatehouse.yaml:12:11');
    // A missing setting points at the entry that lacks it.
    expect(where['providers[0].clientId']).toBe('gatehouse.yaml:22:5');
  });

  it('reports unknown settings at any depth, including inside list entries', () => {
    const problems = problemsOf(`
sesions: {}
sessions:
  cookie:
    nmae: sid
providers:
  - { name: a, issuer: https://a.example.com, clientId: a, scope: [openid] }
`);
    expect(lines(problems)).toEqual([
      'sesions: unknown setting',
      'sessions.cookie.nmae: unknown setting',
      'providers[0].scope: unknown setting',
    ]);
  });

  it('reports YAML syntax errors with line and column and nothing else', () => {
    const problems = problemsOf('listeners:\n  main:\n    port: [8080\nlog: {level: info}\n');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]?.message).toMatch(/^invalid YAML: /);
    expect(problems[0]?.source).toMatch(/^gatehouse\.yaml:\d+:\d+$/);
  });

  it('reports a duplicated key as a YAML error', () => {
    const problems = problemsOf(
      'publicUrl: https://a.example.com\npublicUrl: https://b.example.com\n',
    );
    expect(problems[0]?.message).toMatch(/^invalid YAML: .*unique/i);
    expect(problems[0]?.source).toBe('gatehouse.yaml:2:1');
  });

  it('says when the file cannot be read', () => {
    const problems = loadConfig({
      file: 'missing.yaml',
      env: {},
      readFile: () => {
        throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      },
    });
    expect(problems).toEqual({
      ok: false,
      problems: [{ path: '', message: 'cannot read missing.yaml: no such file' }],
    });
  });

  it('rejects a file that is not a mapping', () => {
    expect(problemsOf('- a\n- b\n')[0]?.message).toBe(
      'the file must be a mapping of settings (key: value)',
    );
  });

  it('never echoes a secret in a message', () => {
    const problems = problemsOf(`
sessions:
  redis:
    password: 12345
`);
    expect(lines(problems)).toEqual(['sessions.redis.password: must be a string']);
    expect(formatProblems(problems)).not.toContain('12345');
  });
});

describe('loadConfig cross-field rules', () => {
  // Issue 15, finding 2: a typo here would silently move unqualified roles to nobody, or to a
  // source added later.
  it('requires authz.unqualifiedSubjectSources to name configured sources', () => {
    expect(
      lines(
        problemsOf(
          'authz: { unqualifiedSubjectSources: [provider/corp, issuer/ci, preauth, basic, partner] }',
        ),
      ),
    ).toEqual([
      'authz.unqualifiedSubjectSources[4]: must be provider/<name>, issuer/<name>, preauth or basic',
    ]);
    expect(
      lines(
        problemsOf(
          'authz: { unqualifiedSubjectSources: [provider/corp, issuer/ci, preauth, basic] }',
        ),
      ),
    ).toEqual([
      'authz.unqualifiedSubjectSources[0]: names provider "corp", which is not configured',
      'authz.unqualifiedSubjectSources[1]: names bearer issuer "ci", which is not configured',
      'authz.unqualifiedSubjectSources[2]: is preauth, but preAuthentication is not enabled',
      'authz.unqualifiedSubjectSources[3]: is basic, but basicAuth is not enabled',
    ]);
  });

  it('requires secure cookies for SameSite=None', () => {
    expect(lines(problemsOf('sessions: { cookie: { sameSite: none, secure: false } }'))).toContain(
      'sessions.cookie.sameSite: none requires sessions.cookie.secure: true',
    );
  });

  it('requires https for secure cookies, except on localhost', () => {
    expect(lines(problemsOf('publicUrl: http://auth.example.com'))).toEqual([
      'publicUrl: must be https when sessions.cookie.secure is true (browsers drop Secure cookies sent over http)',
    ]);
    expect(
      loaded('publicUrl: http://auth.example.com\nsessions: { cookie: { secure: false } }')
        .publicUrl,
    ).toBe('http://auth.example.com');
    for (const url of ['http://localhost:8080', 'http://auth.localhost', 'http://127.0.0.1:8080']) {
      expect(loaded(`publicUrl: ${url}`).publicUrl).toBe(url);
    }
  });

  it('requires unique provider and issuer names', () => {
    const problems = problemsOf(`
providers:
  - { name: corp, issuer: https://a.example.com, clientId: a }
  - { name: corp, issuer: https://b.example.com, clientId: b }
bearer:
  issuers:
    - { name: ci, issuer: https://ci.example.com, audiences: [x] }
    - { name: ci, issuer: https://ci2.example.com, audiences: [x] }
`);
    expect(lines(problems)).toEqual([
      'bearer.issuers[1].name: "ci" is already used by entry 0',
      'providers[1].name: "corp" is already used by entry 0',
    ]);
  });

  it('requires the Redis endpoints the chosen mode needs', () => {
    expect(lines(problemsOf('sessions: { store: redis, redis: { url: "" } }'))).toEqual([
      'sessions.redis.url: is required when sessions.store is redis (standalone)',
    ]);
    expect(lines(problemsOf('sessions: { store: redis, redis: { mode: sentinel } }'))).toEqual([
      'sessions.redis.sentinels: must list at least one sentinel (mode: sentinel)',
    ]);
    expect(lines(problemsOf('sessions: { store: redis, redis: { mode: cluster } }'))).toEqual([
      'sessions.redis.clusterNodes: must list at least one node (mode: cluster)',
    ]);
    const sentinel = loaded(
      'sessions: { store: redis, redis: { mode: sentinel, sentinels: [{ host: redis-a }] } }',
    );
    expect(sentinel.sessions.redis.sentinels).toEqual([{ host: 'redis-a', port: 26379 }]);
  });

  it('bounds the bearer clock skew to five minutes', () => {
    expect(
      lines(
        problemsOf(`
bearer:
  issuers: [{ name: ci, issuer: https://ci.example.com, audiences: [x], clockSkew: 1h }]
`),
      ),
    ).toEqual(['bearer.issuers[0].clockSkew: must be at most 5m (is 1h)']);
  });

  it('rejects settings that only fail together', () => {
    const problems = problemsOf(`
server: { headersTimeout: 20s, requestTimeout: 10s }
listeners: { operations: { port: 8080 } }
sessions: { idleTimeout: 8d, cookie: { domain: example.org } }
identityHeaders: { profile: custom, assertion: { enabled: true } }
providers: [{ name: a, issuer: https://a.example.com, clientId: a, scopes: [email] }]
`);
    expect(lines(problems)).toEqual([
      'sessions.cookie.domain: must be auth.localhost or a parent domain of it (publicUrl)',
      'server.headersTimeout: must not be longer than server.requestTimeout',
      'listeners.operations.port: must differ from listeners.main.port',
      'identityHeaders.custom: must name at least one header when profile is custom',
      'identityHeaders.assertion.signingKeyFile: is required when the assertion is enabled (or set generateKey: true for a single-replica local run)',
      'sessions.idleTimeout: must not be longer than sessions.absoluteLifetime',
      'providers[0].scopes: must include openid',
    ]);
  });
});

describe('sessions.cookie.domain', () => {
  const withDomain = (publicUrl: string, domain: string): string =>
    `publicUrl: ${publicUrl}\nsessions: { cookie: { domain: "${domain}" } }\n`;

  // RFC 6265 §5.3 step 5 and RFC 6265bis §5.7: a user agent ignores a Domain attribute naming a
  // public suffix, and browsers drop one naming a single label, so the sign-in would loop forever.
  it('refuses a single-label domain such as localhost', () => {
    expect(lines(problemsOf(withDomain('http://auth.localhost:8080', 'localhost')))).toEqual([
      'sessions.cookie.domain: "localhost" is a single label: browsers drop such a cookie and sign-in loops; use a parent with at least two labels (demo.localhost for auth.demo.localhost and app.demo.localhost), or leave it empty',
    ]);
    expect(lines(problemsOf(withDomain('https://auth.internal', '.internal')))).toEqual([
      'sessions.cookie.domain: "internal" is a single label: browsers drop such a cookie and sign-in loops; use a parent with at least two labels (demo.localhost for auth.demo.localhost and app.demo.localhost), or leave it empty',
    ]);
  });

  it('refuses a public suffix from the Public Suffix List (ICANN and private sections)', () => {
    for (const [url, domain, suffix] of [
      ['https://auth.example.co.uk', 'co.uk', 'co.uk'],
      ['https://me.github.io', '.github.io', 'github.io'],
      ['https://d111.cloudfront.net', 'cloudfront.net', 'cloudfront.net'],
    ] as const) {
      expect(lines(problemsOf(withDomain(url, domain)))).toEqual([
        `sessions.cookie.domain: "${suffix}" is a public suffix (Public Suffix List): browsers refuse the cookie, and if they did not, every site under it would receive it; use your own registrable domain`,
      ]);
    }
  });

  it('accepts a registrable domain or a subdomain of one, and two-label *.localhost parents', () => {
    expect(
      loaded(withDomain('https://auth.example.co.uk', 'example.co.uk')).sessions.cookie.domain,
    ).toBe('example.co.uk');
    expect(loaded(withDomain('https://me.github.io', 'me.github.io')).sessions.cookie.domain).toBe(
      'me.github.io',
    );
    expect(
      loaded(withDomain('https://auth.apps.example.com', '.apps.example.com')).sessions.cookie
        .domain,
    ).toBe('.apps.example.com');
    expect(
      loaded(withDomain('http://auth.demo.localhost:8080', 'demo.localhost')).sessions.cookie
        .domain,
    ).toBe('demo.localhost');
  });

  it('must contain the publicUrl host (RFC 6265 §5.3 step 6)', () => {
    // badexample.com ends with "example.com" but is not a parent domain of it.
    for (const domain of ['example.org', 'badexample.com']) {
      expect(lines(problemsOf(withDomain('https://auth.example.com', domain)))).toEqual([
        'sessions.cookie.domain: must be auth.example.com or a parent domain of it (publicUrl)',
      ]);
    }
  });
});

describe('start-up warnings', () => {
  const provider = 'providers: [{ name: corp, issuer: https://idp.example.com, clientId: a }]\n';
  /** The warnings of a configuration that has a provider (unless `withoutProvider`). */
  function warningsOf(yaml: string, withoutProvider = false): string[] {
    const result = load(withoutProvider ? yaml : `${yaml}${provider}`);
    if (!result.ok) throw new Error(formatProblems(result.problems));
    return lines(result.warnings);
  }

  it('warns about Secure cookies under an http:// publicUrl (localhost), naming the setting', () => {
    expect(warningsOf('publicUrl: http://auth.localhost:8080\n')).toEqual([
      'sessions.cookie.secure: is true but publicUrl is http://: Chrome and Firefox keep Secure cookies from localhost, but Safari and most HTTP clients drop them, so sign-in loops there; serve https, or set secure: false for a local run',
    ]);
    expect(
      warningsOf('publicUrl: http://127.0.0.1:8080\nsessions: { cookie: { secure: true } }\n'),
    ).toHaveLength(1);
    expect(
      warningsOf(
        'publicUrl: http://auth.localhost:8080\nsessions: { cookie: { secure: false } }\n',
      ),
    ).toEqual([]);
    expect(warningsOf('publicUrl: https://auth.example.com\n')).toEqual([]);
  });

  it('warns when no provider is configured or enabled: nobody can sign in with a browser', () => {
    const noProvider = warningsOf('publicUrl: https://auth.example.com\n', true);
    expect(noProvider).toEqual([
      expect.stringMatching(/^providers: no OpenID provider is configured/),
    ]);
    const disabled = warningsOf(
      'publicUrl: https://auth.example.com\nproviders: [{ name: corp, issuer: https://idp.example.com, clientId: a, enabled: false }]\n',
      true,
    );
    expect(disabled).toEqual(noProvider);
  });

  it('locates a warning like a problem', () => {
    const result = load(
      `publicUrl: http://auth.localhost:8080\n${provider}sessions:\n  cookie:\n    secure: true\n`,
    );
    expect(result.ok && result.warnings).toEqual([
      expect.objectContaining({ path: 'sessions.cookie.secure', source: 'gatehouse.yaml:5:13' }),
    ]);
  });
});

describe('loadConfig result', () => {
  it('is deeply frozen: a consumer cannot change it', () => {
    const config = loaded(`
providers: [{ name: corp, issuer: https://a.example.com, clientId: a }]
`);
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config.listeners.main as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.providers as unknown[]).push({});
    }).toThrow(TypeError);
    expect(() => {
      (config.providers[0]!.scopes as string[])[0] = 'admin';
    }).toThrow(TypeError);
    expect(config.listeners.main.port).toBe(8080);
  });
});

// Issue #21: an empty value means "unset", decoded once by the schema, so no reader compares a
// setting with ''. Written empty in the file, empty in the environment, or left out: the same.
describe('settings that may be unset', () => {
  it('decode an empty value, in the file or the environment, as unset', () => {
    const fromFile = loaded(
      `sessions:\n  cookie:\n    domain: ""\nauthz:\n  superRole: ""\npages:\n  title: ""\n`,
    );
    expect(fromFile.sessions.cookie.domain).toBeUndefined();
    expect(fromFile.authz.superRole).toBeUndefined();
    expect(fromFile.pages.title).toBeUndefined();
    const fromEnv = loaded(undefined, {
      env: { GATEHOUSE_AUTHZ__SUPER_ROLE: '', GATEHOUSE_PREAUTHENTICATION__GROUPS_HEADER: '' },
    });
    expect(fromEnv.authz.superRole).toBeUndefined();
    expect(fromEnv.preAuthentication.groupsHeader).toBeUndefined();
  });

  it('keep their defaults when left out, and a value when given one', () => {
    const config = loaded(
      'publicUrl: https://auth.example.com\nsessions:\n  cookie:\n    domain: example.com\n',
    );
    expect(config.sessions.cookie.domain).toBe('example.com');
    expect(config.authz.superRole).toBe('admin');
    expect(config.preAuthentication.groupsHeader).toBe('preauth-groups');
    expect(config.policy.kubernetes.kubeconfig).toBeUndefined();
  });
});

describe('examples/gatehouse.yaml', () => {
  it('loads cleanly as the embedded default for a local run', () => {
    const result = loadConfig({ file: 'examples/gatehouse.yaml', cwd: projectRoot, env: {} });
    if (!result.ok) throw new Error(formatProblems(result.problems));
    const { config } = result;
    expect(config.publicUrl).toBe('http://auth.localhost:8080');
    expect(config.sessions.store).toBe('memory');
    expect(config.sessions.cookie.secure).toBe(false);
    expect(config.policy.files.directory).toBe(join(projectRoot, 'examples/policies'));
    expect(config.redirects.allowedDomains).toEqual(['.localhost']);
    expect(config.trustedProxies).toEqual(['127.0.0.1/32', '::1/128']);
    expect(config.devIdentityProvider.enabled).toBe(true);
    expect(config.providers).toEqual([
      expect.objectContaining({
        name: 'dev',
        issuer: 'http://127.0.0.1:9400',
        clientId: 'gatehouse-dev',
        clientSecret: 'dev-secret-not-for-production',
      }),
    ]);
  });
});

describe('secret files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads <secret>File keys and _FILE variables from disk, without the trailing newline', () => {
    writeFileSync(join(dir, 'oidc'), 's3cret: with # odd chars\n');
    writeFileSync(join(dir, 'redis'), 'redis-pass\r\n');
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      `providers:
  - name: corp
    issuer: https://login.example.com
    clientId: gh
    clientSecretFile: oidc
`,
    );
    const result = loadConfig({
      file: 'gatehouse.yaml',
      cwd: dir,
      env: { GATEHOUSE_SESSIONS__REDIS__PASSWORD_FILE: join(dir, 'redis') },
    });
    if (!result.ok) throw new Error(formatProblems(result.problems));
    expect(result.config.providers[0]?.clientSecret).toBe('s3cret: with # odd chars');
    expect(result.config.providers[0]).not.toHaveProperty('clientSecretFile');
    expect(result.config.sessions.redis.password).toBe('redis-pass');
  });

  it('lets a secret file win over the value from the file and the environment', () => {
    writeFileSync(join(dir, 'override'), 'from-file\n');
    writeFileSync(join(dir, 'layers.yaml'), 'sessions: { redis: { password: from-yaml } }\n');
    const result = loadConfig({
      file: 'layers.yaml',
      cwd: dir,
      env: {
        GATEHOUSE_SESSIONS__REDIS__PASSWORD: 'from-env',
        GATEHOUSE_SESSIONS__REDIS__PASSWORD_FILE: 'override',
      },
    });
    expect(result.ok && result.config.sessions.redis.password).toBe('from-file');
  });

  it('reports an unreadable secret file at the setting it was meant for', () => {
    const result = loadConfig({
      cwd: dir,
      env: { GATEHOUSE_PROVIDERS__0__CLIENT_SECRET_FILE: join(dir, 'absent') },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]).toEqual({
      path: 'providers[0].clientSecret',
      message: `cannot read file ${join(dir, 'absent')}: no such file`,
      source: 'environment GATEHOUSE_PROVIDERS__0__CLIENT_SECRET_FILE',
    });
  });

  it('rejects a secret given both inline and as a file', () => {
    expect(
      lines(problemsOf('sessions: { redis: { password: a, passwordFile: /run/secrets/redis } }')),
    ).toEqual(['sessions.redis.passwordFile: set either password or passwordFile, not both']);
  });

  it('does not read <name>File keys of settings that are not secrets', () => {
    expect(lines(problemsOf('publicUrlFile: /etc/url'))).toEqual([
      'publicUrlFile: unknown setting',
    ]);
  });
});

// Issue 18: relative paths in the configuration file are read from the file's folder, so the
// Dockerfile's `docker run -v $PWD/examples:/etc/gatehouse` example finds examples/policies.
describe('relative paths in a configuration file', () => {
  const folder = mkdtempSync(join(tmpdir(), 'gatehouse-config-paths-'));
  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('are read from the file’s folder; absolute ones and variables keep their meaning', () => {
    writeFileSync(join(folder, 'client-secret'), 's3cret\n');
    writeFileSync(
      join(folder, 'gatehouse.yaml'),
      `
publicUrl: https://auth.example.com
policy: { files: { directory: policies } }
basicAuth: { htpasswdFile: /etc/gatehouse/htpasswd }
identityHeaders:
  assertion: { signingKeyFile: keys/current.pem, previousKeyFiles: [keys/old.pem, /abs/old.pem] }
providers:
  - { name: corp, issuer: 'https://idp.example.com', clientId: gatehouse, clientSecretFile: client-secret }
`,
    );
    const result = loadConfig({
      file: join(folder, 'gatehouse.yaml'),
      cwd: '/somewhere/else',
      env: {},
    });
    if (!result.ok) throw new Error(formatProblems(result.problems));
    const { config } = result;
    expect(config.policy.files.directory).toBe(join(folder, 'policies'));
    expect(config.basicAuth.htpasswdFile).toBe('/etc/gatehouse/htpasswd');
    expect(config.identityHeaders.assertion.signingKeyFile).toBe(join(folder, 'keys/current.pem'));
    expect(config.identityHeaders.assertion.previousKeyFiles).toEqual([
      join(folder, 'keys/old.pem'),
      '/abs/old.pem',
    ]);
    expect(config.providers[0]?.clientSecret).toBe('s3cret');

    const fromEnv = loadConfig({
      file: join(folder, 'gatehouse.yaml'),
      cwd: '/work',
      env: { GATEHOUSE_POLICY__FILES__DIRECTORY: 'mine' },
    });
    expect(fromEnv.ok && fromEnv.config.policy.files.directory).toBe('mine');
  });

  it('the example configuration finds its policies from any working directory', () => {
    const result = loadConfig({
      file: join(projectRoot, 'examples/gatehouse.yaml'),
      cwd: tmpdir(),
      env: {},
    });
    expect(result.ok && result.config.policy.files.directory).toBe(
      join(projectRoot, 'examples/policies'),
    );
  });
});
