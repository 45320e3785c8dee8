/**
 * `gatehouse check`: asks the policy the question a proxy would ask ("may this request pass, and
 * as whom?") without a running service, and explains the answer: outcome, matched policy and rule,
 * roles held and required, reason. The decision is decide()'s own, over a snapshot built the way
 * the service builds it, so the answer is the service's.
 */
import { resolve } from 'node:path';
import { subjectSource } from '../../authz/identity.ts';
import type { AuthRequest } from '../../authz/auth-request.ts';
import { isAuditOverride } from '../../authz/audit-mode.ts';
import {
  cliIdentity,
  cliRequest,
  cliUnqualifiedSources,
  defaultCliSource,
  describeMatch,
  parseHeaderOption,
  parseSignedInAgo,
  ruleKey,
  sourceProblem,
  type CliAuthentication,
  type CliSubject,
} from '../decision-inputs.ts';
import { operatorExplanations } from '../../authz/reason-explanations.ts';
import { decide } from '../../authz/decide.ts';
import type { DecideOptions } from '../../authz/decide.ts';
import type {
  Decision,
  MatchDescription,
  Outcome,
  PolicyMode,
  PolicyRef,
} from '../../authz/decision.ts';
import type { Reason } from '../../authz/reasons.ts';
import { SubjectSources } from '../../authz/roles.ts';
import { loadConfig } from '../../config/load.ts';
import { formatProblems } from '../../config/problems.ts';
import { parseCommandLine, type CliCommand, type CliIo } from '../command.ts';
import { describeVariant, stricterVariants } from '../path-variants.ts';
import type { PathVariant } from '../path-variants.ts';
import {
  reportPolicyLoad,
  kubeconfigLister,
  loadPoliciesFromCluster,
  loadPoliciesFromDirectory,
} from '../policy-loading.ts';
import type { PolicyLoadResult } from '../policy-loading.ts';
import { definedFields } from '../../defined-fields.ts';

/** Exit statuses of `gatehouse check`, one per outcome, so scripts can branch on them. */
export const checkExitStatus = {
  allow: 0,
  usageOrLoadError: 2,
  unauthenticated: 3,
  forbidden: 4,
} as const;

const usage = `Usage: gatehouse check [policy] [identity] [options] METHOD URL

Decides one request against the policy, offline, and explains the answer.

Policy (one of):
  --policies DIR          a folder of CRD manifests (*.yaml, *.yml), as the file source reads it
  --kubeconfig FILE       the live cluster: lists AccessPolicy, ClusterAccessPolicy, RoleMapping
    [--context NAME]      and ClusterRoleMapping once; invalid objects are left out (warned)
  --config FILE           gatehouse configuration: authz.superRole and authz.noMatch, and the
                          policy folder when policy.source is "files" and --policies is not given

Identity (default: anonymous):
  --user NAME             user name; an e-mail address also sets --email
  --email ADDR            e-mail address (EmailDomain subjects); alone, it is the user too
  --group G               a group (repeatable)
  --claim K=V             a claim (repeatable; a repeated K makes a list)
  --organisation ORG      the organisation (Organisation subjects)
  --source SOURCE         where the identity comes from: provider/NAME (browser sign-in),
                          issuer/NAME (bearer token), preauth (pre-authentication front) or
                          basic (htpasswd user). Default: the source of unqualified subjects
                          (authz.unqualifiedSubjectSources, else the first provider of
                          --config; without --config, "provider/default", which is also the
                          only source unqualified subjects then match)
  --audience AUD          a bearer token's aud (repeatable; --source issuer/NAME only)
  --signed-in-ago AGE     how long ago the caller signed in (auth_time; 90s, 20m, 1h), for
                          rules with authentication.maxAge (step-up). Omitted: unknown, which
                          meets no maxAge, as a session from before step-up
  --acr VALUE             the sign-in's acr (rules with authentication.acr)
  --amr VALUE             a method of the sign-in's amr (repeatable; authentication.amr)
  --anonymous             no identity (the default; refuses identity options)

Request (besides METHOD and URL, whose query counts for queryParams conditions):
  --header 'NAME: VALUE'  a request header, as the proxy passes it to gatehouse (repeatable;
                          a name given twice is refused). A CORS preflight is
                          OPTIONS with --header 'Origin: …' --header
                          'Access-Control-Request-Method: …'
  --client-address ADDR   the client address a trusted proxy reports (sourceCIDRs). Omitted:
                          unknown, as when the check does not come from a trusted proxy

Options:
  --output text|json      text (default) or one JSON object with the fields outcome, status,
                          reason, mode, auditOverride, policy {kind, namespace, name}, rule,
                          rolesHeld, rolesRequired, match (the conditions that selected the
                          rule), preflight (the policy whose preflight: Allow passed it),
                          ambiguity {policy, rule, problem} (ambiguous-query), method, scheme,
                          host, path, pathProblem, query, clientAddress, headers,
                          identity, explanation, variants (spellings of the path that an
                          upstream ignoring case, trimming slashes or matching suffixes may
                          serve as this one, and that the policy refuses more strictly)
  --strict-audit          exit by the would-be outcome when an Audit policy decided
  -h, --help              this text

Exit status: 0 allow, 3 unauthenticated (401), 4 forbidden (403), 2 usage or load error.
A refusal by a policy in Audit mode is answered as allowed by the service, so it exits 0 unless
--strict-audit is given (then 3 or 4, as when enforced).

Host ownership (tenancy: a namespaced AccessPolicy governs only hosts its namespace declares in
an Ingress or HTTPRoute) is NOT applied: the answer is what the policies say, as on a
single-tenant installation.

Examples:
  gatehouse check --policies ./policies --user alice@example.com --group sales \\
    GET https://shop.example.com/admin
  gatehouse check --policies ./policies --header 'X-Api-Version: 2' --client-address 10.1.2.3 \\
    GET 'https://api.example.com/v2/items?format=json'
`;

/** One line per reason code, for `gatehouse check` and `gatehouse test` output. */
export const reasonExplanations = operatorExplanations;

export const outcomeStatus: Readonly<Record<Outcome, number>> = {
  allow: 200,
  unauthenticated: 401,
  forbidden: 403,
};

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

export interface CheckReport {
  readonly outcome: Outcome;
  readonly status: number;
  readonly reason: Reason;
  readonly explanation: string;
  /** Mode of the matched rule's policy; null when no rule matched. */
  readonly mode: PolicyMode | null;
  /** True when the service answers 200 only because the deciding policy is in Audit mode. */
  readonly auditOverride: boolean;
  readonly policy: {
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
  } | null;
  readonly rule: string | null;
  /**
   * The guardrail (a ClusterAccessPolicy rule with `enforcement: Guardrail`) that was checked
   * first: `decided` when it refused the request (it is then also `policy`/`rule`), else the
   * request passed it and `rule` decided. Null when no guardrail matched.
   */
  readonly guardrail: {
    readonly policy: string;
    readonly rule: string;
    readonly decided: boolean;
  } | null;
  readonly rolesHeld: readonly string[];
  readonly rolesRequired: readonly string[];
  /** The conditions of the `match` entry that selected the rule; null when no rule matched. */
  readonly match: MatchDescription | null;
  /** `cors-preflight`: the policy whose `preflight: Allow` let the preflight through. */
  readonly preflight: PolicyRef | null;
  /** `ambiguous-query`: the rule whose query conditions the request makes ambiguous, and why. */
  readonly ambiguity: {
    readonly policy: PolicyRef;
    readonly rule: string;
    readonly problem: string;
  } | null;
  readonly method: string;
  readonly scheme: 'http' | 'https';
  readonly host: string;
  /** Normalised path; null when ambiguous (see pathProblem). */
  readonly path: string | null;
  readonly pathProblem: string | null;
  /** The raw query; null when the URL has none. */
  readonly query: string | null;
  /** The client address given (`--client-address`); null: unknown to gatehouse. */
  readonly clientAddress: string | null;
  /** The request headers given (`--header`), lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly identity: {
    readonly user: string;
    readonly email: string | null;
    readonly groups: readonly string[];
    readonly claims: Readonly<Record<string, unknown>>;
    /** `provider/<name>`, `issuer/<name>`, `preauth` or `basic`. */
    readonly source: string;
    readonly organisation: string | null;
  } | null;
  /** Spellings of the path that an upstream may serve as this one, refused more strictly. */
  readonly variants: readonly PathVariant[];
}

export function checkReport(
  request: AuthRequest,
  decision: Decision,
  variants: readonly PathVariant[] = [],
): CheckReport {
  const { rule, identity } = decision;
  return {
    outcome: decision.outcome,
    status: outcomeStatus[decision.outcome],
    reason: decision.reason,
    explanation:
      decision.stepUp === undefined
        ? reasonExplanations[decision.reason]
        : `${reasonExplanations[decision.reason]} (not met: ${decision.stepUp.join(', ')})`,
    mode: rule?.mode ?? null,
    auditOverride: isAuditOverride(decision),
    policy:
      rule === null ? null : { kind: rule.kind, namespace: rule.namespace, name: rule.policy },
    rule: rule?.rule ?? null,
    guardrail: guardrailOf(decision),
    rolesHeld: decision.roles,
    rolesRequired: rule?.requiredRoles ?? [],
    match: decision.match ?? null,
    preflight: decision.preflight ?? null,
    ambiguity:
      decision.ambiguity === undefined
        ? null
        : {
            policy: {
              kind: decision.ambiguity.rule.kind,
              namespace: decision.ambiguity.rule.namespace,
              policy: decision.ambiguity.rule.policy,
            },
            rule: decision.ambiguity.rule.rule,
            problem: decision.ambiguity.problem,
          },
    method: request.method,
    scheme: request.scheme,
    host: request.host,
    path: request.path.ok ? request.path.value : null,
    pathProblem: request.path.ok ? null : request.path.problem,
    query: request.query ?? null,
    clientAddress: request.sourceAddress ?? null,
    headers: request.credentials.headers,
    identity:
      identity === null
        ? null
        : {
            user: identity.user,
            email: identity.email ?? null,
            groups: identity.groups,
            claims: identity.claims,
            source: subjectSource(identity),
            organisation: identity.organisation ?? null,
          },
    variants,
  };
}

function guardrailOf(decision: Decision): CheckReport['guardrail'] {
  const { rule, guardrail } = decision;
  if (rule?.enforcement === 'Guardrail')
    return { policy: rule.policy, rule: rule.rule, decided: true };
  if (guardrail === undefined) return null;
  return { policy: guardrail.policy, rule: guardrail.rule, decided: false };
}

/** The service answers a refusal of an Audit policy as allowed (authz/audit-mode.ts). */
export { isAuditOverride };

function list(values: readonly string[]): string {
  return values.length === 0 ? '(none)' : values.join(', ');
}

export function formatCheckReport(report: CheckReport): string {
  const lines: [string, string][] = [
    ['outcome', `${report.outcome} (${String(report.status)})`],
    ['reason', `${report.reason}: ${report.explanation}`],
  ];
  const named = (policy: PolicyRef): string =>
    `${policy.kind} ${policy.namespace === '' ? policy.policy : `${policy.namespace}/${policy.policy}`}`;
  if (report.preflight !== null) {
    lines.push(['policy', `${named(report.preflight)} (preflight: Allow; no rule decided)`]);
  } else if (report.ambiguity !== null) {
    lines.push(['policy', '(no rule decided)']);
    lines.push([
      'ambiguous',
      `rule ${named(report.ambiguity.policy)}/${report.ambiguity.rule} tests the query, and ${report.ambiguity.problem}`,
    ]);
  } else if (report.policy === null) {
    lines.push(['policy', '(no rule matched)']);
  } else {
    const { kind, namespace, name } = report.policy;
    lines.push(['policy', `${kind} ${namespace === '' ? name : `${namespace}/${name}`}`]);
    lines.push(['rule', report.rule ?? '']);
  }
  if (report.match !== null) lines.push(['matched', describeMatch(report.match)]);
  const { guardrail } = report;
  if (guardrail !== null) {
    lines.push([
      'guardrail',
      guardrail.decided
        ? `${guardrail.policy}/${guardrail.rule} decided (checked before every other rule; audit mode does not apply)`
        : `${guardrail.policy}/${guardrail.rule} passed (its roles are held); the rule above decided`,
    ]);
  }
  if (report.mode === 'Audit') {
    lines.push([
      'mode',
      report.auditOverride
        ? `Audit (would ${report.outcome}; allowed while in audit)`
        : 'Audit (allowed, as when enforced)',
    ]);
  }
  lines.push(['roles held', list(report.rolesHeld)]);
  if (report.policy !== null) lines.push(['roles required', list(report.rolesRequired)]);
  lines.push(['request', `${report.method} ${report.scheme}://${report.host}`]);
  lines.push(['path', report.path ?? `ambiguous: ${report.pathProblem ?? ''}`]);
  if (report.query !== null) lines.push(['query', report.query]);
  for (const [name, value] of Object.entries(report.headers)) {
    lines.push(['header', `${name}: ${value ?? ''}`]);
  }
  if (report.clientAddress !== null) lines.push(['client', report.clientAddress]);
  const { identity } = report;
  if (identity === null) lines.push(['identity', 'anonymous']);
  else {
    const details = [
      ...(identity.email === null || identity.email === identity.user
        ? []
        : [`email ${identity.email}`]),
      ...(identity.groups.length === 0 ? [] : [`groups ${identity.groups.join(', ')}`]),
      ...(identity.organisation === null ? [] : [`organisation ${identity.organisation}`]),
      ...Object.entries(identity.claims).map(
        ([key, value]) => `claim ${key}=${JSON.stringify(value)}`,
      ),
    ];
    lines.push([
      'identity',
      details.length === 0 ? identity.user : `${identity.user} (${details.join('; ')})`,
    ]);
    lines.push(['source', identity.source]);
  }
  for (const variant of report.variants) {
    lines.push(['warning', describeVariant(report.path ?? '', variant)]);
  }
  const width = Math.max(...lines.map(([label]) => label.length)) + 1;
  return lines.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}\n`).join('');
}

export function exitStatusOf(decision: Decision, strictAudit: boolean): number {
  if (isAuditOverride(decision) && !strictAudit) return checkExitStatus.allow;
  return checkExitStatus[decision.outcome];
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

class UsageError extends Error {}

function parseClaims(pairs: readonly string[]): Record<string, string | string[]> {
  const claims: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--claim "${pair}" must be KEY=VALUE`);
    const key = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    const previous = claims[key];
    claims[key] =
      previous === undefined
        ? value
        : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return claims;
}

interface ParsedCheck {
  readonly request: AuthRequest;
  /** The identity once its default source is known (setUp), or null: anonymous. */
  readonly subject: CliSubject | null;
  readonly json: boolean;
  readonly strictAudit: boolean;
  readonly policies?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly config?: string;
}

function parseCheckArgs(args: readonly string[]): ParsedCheck | 'help' {
  const { values, positionals } = parseCommandLine(args, {
    policies: { type: 'string' },
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    config: { type: 'string', short: 'c' },
    user: { type: 'string' },
    email: { type: 'string' },
    group: { type: 'string', multiple: true },
    claim: { type: 'string', multiple: true },
    organisation: { type: 'string' },
    source: { type: 'string' },
    audience: { type: 'string', multiple: true },
    'signed-in-ago': { type: 'string' },
    acr: { type: 'string' },
    amr: { type: 'string', multiple: true },
    anonymous: { type: 'boolean' },
    header: { type: 'string', multiple: true },
    'client-address': { type: 'string' },
    output: { type: 'string', short: 'o' },
    'strict-audit': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) return 'help';
  if (positionals.length !== 2) throw new UsageError('expected METHOD and URL');
  const [method = '', url = ''] = positionals;
  if (values.policies !== undefined && values.kubeconfig !== undefined) {
    throw new UsageError('--policies and --kubeconfig are exclusive: give one policy source');
  }
  if (values.context !== undefined && values.kubeconfig === undefined) {
    throw new UsageError('--context needs --kubeconfig');
  }
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError('--output must be text or json');

  const groups = values.group ?? [];
  const claims = parseClaims(values.claim ?? []);
  const audiences = values.audience ?? [];
  const amr = values.amr ?? [];
  let signedInAgo: number | undefined;
  if (values['signed-in-ago'] !== undefined) {
    const ago = parseSignedInAgo(values['signed-in-ago']);
    if (typeof ago === 'string') throw new UsageError(`--signed-in-ago ${ago}`);
    signedInAgo = ago;
  }
  const authentication: CliAuthentication | undefined =
    signedInAgo === undefined && values.acr === undefined && amr.length === 0
      ? undefined
      : {
          ...definedFields({ signedInAgo, acr: values.acr }),
          ...(amr.length === 0 ? {} : { amr }),
        };
  const named = values.user !== undefined || values.email !== undefined;
  const hasIdentityOptions =
    named ||
    groups.length > 0 ||
    Object.keys(claims).length > 0 ||
    values.organisation !== undefined ||
    values.source !== undefined ||
    audiences.length > 0 ||
    authentication !== undefined;
  if (values.anonymous === true && hasIdentityOptions) {
    throw new UsageError(
      '--anonymous cannot be combined with --user, --email, --group, --claim, --organisation, --source, --audience, --signed-in-ago, --acr or --amr',
    );
  }
  if (!named && hasIdentityOptions)
    throw new UsageError(
      '--group, --claim, --organisation, --source, --audience, --signed-in-ago, --acr and --amr need --user or --email',
    );
  if (values.source !== undefined) {
    const problem = sourceProblem(values.source);
    if (problem !== null) throw new UsageError(`--source ${problem}`);
  }
  if (audiences.length > 0 && !(values.source ?? '').startsWith('issuer/')) {
    throw new UsageError('--audience needs --source issuer/NAME (only bearer tokens have one)');
  }

  const headers: [string, string][] = [];
  for (const text of values.header ?? []) {
    const header = parseHeaderOption(text);
    if (typeof header === 'string') throw new UsageError(header);
    headers.push(header);
  }
  const built = cliRequest(method, url, {
    headers,
    ...definedFields({ clientAddress: values['client-address'] }),
  });
  if (!built.ok) throw new UsageError(built.problem);
  return {
    request: built.request,
    subject: named
      ? {
          ...definedFields({
            user: values.user,
            email: values.email,
            organisation: values.organisation,
            source: values.source,
          }),
          ...(audiences.length === 0 ? {} : { audiences }),
          ...definedFields({ authentication }),
          groups,
          claims,
        }
      : null,
    json: output === 'json',
    strictAudit: values['strict-audit'] === true,
    ...definedFields({
      policies: values.policies,
      kubeconfig: values.kubeconfig,
      context: values.context,
      config: values.config,
    }),
  };
}

interface Setup {
  readonly options: DecideOptions;
  /** The source of an identity that names none: the first source of unqualified subjects. */
  readonly defaultSource: string;
  readonly policies: PolicyLoadResult;
}

async function setUp(parsed: ParsedCheck, io: CliIo): Promise<Setup | string> {
  let unqualified = cliUnqualifiedSources(null);
  let options: DecideOptions = {
    superRole: 'admin',
    noMatch: 'deny',
    unqualifiedSources: SubjectSources.of(unqualified),
  };
  let policyDirectory = parsed.policies;
  if (parsed.config !== undefined) {
    const loaded = loadConfig({ file: parsed.config, env: io.env, cwd: io.cwd });
    if (!loaded.ok) {
      return `the configuration in ${parsed.config} has ${String(loaded.problems.length)} problem(s):\n${formatProblems(loaded.problems)}\n`;
    }
    const { authz, policy, providers } = loaded.config;
    unqualified = cliUnqualifiedSources({
      configured: authz.unqualifiedSubjectSources,
      providers: providers.map((provider) => provider.name),
    });
    options = {
      superRole: authz.superRole ?? null,
      noMatch: authz.noMatch,
      unqualifiedSources: SubjectSources.of(unqualified),
    };
    if (
      policyDirectory === undefined &&
      parsed.kubeconfig === undefined &&
      policy.source === 'files'
    ) {
      policyDirectory = policy.files.directory;
    }
  }
  const defaultSource = unqualified[0] ?? defaultCliSource;
  if (parsed.kubeconfig !== undefined) {
    const lister = await kubeconfigLister({
      kubeconfig: resolve(io.cwd, parsed.kubeconfig),
      ...definedFields({ context: parsed.context }),
    });
    return { options, defaultSource, policies: await loadPoliciesFromCluster(lister) };
  }
  if (policyDirectory === undefined) {
    return 'give the policy: --policies DIR, --kubeconfig FILE, or --config FILE with policy.source "files"\n';
  }
  return {
    options,
    defaultSource,
    policies: await loadPoliciesFromDirectory(resolve(io.cwd, policyDirectory)),
  };
}

export const checkCommand: CliCommand = {
  name: 'check',
  summary: 'Decide one request against the policy and explain why',
  async run(args, io) {
    let parsed: ParsedCheck | 'help';
    let setup: Setup | string;
    try {
      parsed = parseCheckArgs(args);
      if (parsed === 'help') {
        io.stdout(usage);
        return 0;
      }
      setup = await setUp(parsed, io);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      io.stderr(`gatehouse check: ${message}\nRun "gatehouse check --help" for the options.\n`);
      return checkExitStatus.usageOrLoadError;
    }
    if (typeof setup === 'string') {
      io.stderr(`gatehouse check: ${setup}`);
      return checkExitStatus.usageOrLoadError;
    }
    if (!reportPolicyLoad(setup.policies, io, 'check') || !setup.policies.ok) {
      return checkExitStatus.usageOrLoadError;
    }
    const { snapshot } = setup.policies;
    // One instant for the identity's auth_time and the decision's clock (step-up maxAge).
    const now = Date.now();
    const identity =
      parsed.subject === null
        ? null
        : cliIdentity({ source: setup.defaultSource, ...parsed.subject }, now);
    const options = { ...setup.options, now: () => now };
    const decideFor = (request: AuthRequest) => decide(request, identity, snapshot, options);
    const decision = decideFor(parsed.request);
    const variants = stricterVariants(parsed.request, decision, decideFor, ruleKey);
    const report = checkReport(parsed.request, decision, variants);
    io.stdout(parsed.json ? `${JSON.stringify(report)}\n` : formatCheckReport(report));
    return exitStatusOf(decision, parsed.strictAudit);
  },
};
