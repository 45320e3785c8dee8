/**
 * `gatehouse test FILE`: policy unit tests. FILE lists requests, identities and the outcome each
 * must get; every case is decided by decide() over the policy folder, as `gatehouse check` does,
 * and reported like a test runner. Meant for CI next to the manifests: a change that opens or
 * closes access by accident fails the build before it reaches a cluster.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { Identity } from '../../authz/identity.ts';
import type { AuthRequest } from '../../authz/auth-request.ts';
import { decide } from '../../authz/decide.ts';
import type { DecideOptions } from '../../authz/decide.ts';
import type { Decision, Outcome } from '../../authz/decision.ts';
import { allReasons } from '../../authz/reasons.ts';
import type { Reason } from '../../authz/reasons.ts';
import { parseCommandLine, type CliCommand } from '../command.ts';
import { loadPoliciesFromDirectory, reportPolicyLoad } from '../policy-loading.ts';
import { SubjectSources } from '../../authz/roles.ts';
import { isAuditOverride } from '../../authz/audit-mode.ts';
import {
  cliIdentity,
  cliRequest,
  cliUnqualifiedSources,
  defaultCliSource,
  describeMatch,
  parseSignedInAgo,
  ruleKey,
  sourceProblem,
} from '../decision-inputs.ts';
import { isRecord } from '../../is-record.ts';
import { definedFields } from '../../defined-fields.ts';

export const policyTestExitStatus = { passed: 0, failed: 1, badFile: 2 } as const;

const usage = `Usage: gatehouse test FILE [--policies DIR] [--output text|json]

Runs the policy test cases in FILE (YAML) and reports each as passed (✓) or failed (✗).

FILE:
  policies: ./policies          # folder of CRD manifests, relative to FILE
  settings:                     # optional: the service's authz settings
    superRole: admin            # null or "" disables the super role
    noMatch: deny               # deny | authenticate | allow
    unqualifiedSubjectSources: [provider/corp]  # what subjects without sources match;
                                # default [provider/default], the default identity source
  cases:
    - name: anonymous visitors must sign in
      request: { method: GET, url: https://app.example.com/ }
                                # also: headers: { X-Api-Version: "2" } (one entry per name),
                                #   clientAddress: 10.1.2.3 (as a trusted proxy reports it;
                                #   omitted: unknown); the url's query counts for queryParams
      identity: null            # or { user, email, groups: [...], claims: {...}, organisation,
                                #   source: provider/NAME | issuer/NAME | preauth | basic,
                                #   audiences: [...] (issuer/NAME only), signedInAgo: 20m,
                                #   acr, amr: [...] (how the caller signed in, for rules with
                                #   authentication: step-up) }; omitted: anonymous.
                                #   source defaults to the first unqualifiedSubjectSources entry
      expect:
        outcome: unauthenticated          # allow | unauthenticated | forbidden
        reason: authentication-required   # optional
        rule: shop/app/app                # optional: namespace/policy/rule (policy/rule if cluster-wide)

Cases expect the outcome decide() returns: a case decided by a policy in Audit mode expects what
the policy would do once enforced (the line notes that the service allows it while in audit).

Options:
  --policies DIR          overrides FILE's policies (relative to the current directory)
  --output text|json      text (default) or one JSON object: { passed, failed, cases: [...] }
  -h, --help              this text

Exit status: 0 every case passed, 1 a case failed, 2 the file or the policy has problems
(every problem is listed, by case index and field).
`;

const httpMethod = /^[A-Za-z]+$/;
const outcomes: readonly Outcome[] = ['allow', 'unauthenticated', 'forbidden'];
const noMatchValues: readonly DecideOptions['noMatch'][] = ['deny', 'authenticate', 'allow'];

export interface PolicyTestCase {
  readonly name: string;
  readonly request: AuthRequest;
  readonly identity: Identity | null;
  readonly expect: {
    readonly outcome: Outcome;
    readonly reason?: Reason;
    /** `namespace/policy/rule`; null: no rule may match. */
    readonly rule?: string | null;
  };
}

export interface PolicyTestFile {
  /** Absolute folder of the policy, or undefined when the file names none. */
  readonly policies?: string;
  readonly settings: DecideOptions;
  readonly cases: readonly PolicyTestCase[];
}

export interface FileProblem {
  /** `cases[2].expect.outcome`, or "" for the whole file. */
  readonly field: string;
  readonly line?: number;
  readonly message: string;
}

export type ParsedTestFile =
  | { readonly ok: true; readonly file: PolicyTestFile }
  | { readonly ok: false; readonly problems: readonly FileProblem[] };

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * Reads a test file's text. Pure: `baseDirectory` resolves `policies`. Every problem is reported
 * at once, by field path and line, so one run shows everything to fix.
 */
export function parsePolicyTestFile(text: string, baseDirectory: string): ParsedTestFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => ({
        field: '',
        ...(error.linePos === undefined ? {} : { line: error.linePos[0].line }),
        message: `YAML syntax error: ${error.message}`,
      })),
    };
  }
  const problems: FileProblem[] = [];
  const report = (keys: readonly (string | number)[], message: string): void => {
    // A missing or wrong field is reported at the deepest node that exists.
    let line: number | undefined;
    for (let depth = keys.length; depth >= 0 && line === undefined; depth--) {
      const node: unknown =
        depth === 0 ? document.contents : document.getIn(keys.slice(0, depth), true);
      if (isNode(node) && node.range) line = lineCounter.linePos(node.range[0]).line;
    }
    const field = keys.reduce<string>(
      (path, key) =>
        typeof key === 'number' ? `${path}[${String(key)}]` : path === '' ? key : `${path}.${key}`,
      '',
    );
    problems.push({ field, ...(line === undefined ? {} : { line }), message });
  };

  const root: unknown = document.toJS({ maxAliasCount: 100 });
  if (!isRecord(root)) {
    report([], 'must be a mapping with policies, settings and cases');
    return { ok: false, problems };
  }
  for (const key of Object.keys(root)) {
    if (!['policies', 'settings', 'cases'].includes(key)) {
      report([key], 'unknown field; known fields here: policies, settings, cases');
    }
  }

  let policies: string | undefined;
  if (root.policies !== undefined) {
    if (typeof root.policies === 'string' && root.policies !== '')
      policies = resolve(baseDirectory, root.policies);
    else report(['policies'], 'must be the path of a folder of manifests, relative to this file');
  }

  const settings = parseSettings(root.settings, report);
  const defaultSource = settings.unqualifiedSources?.list[0] ?? defaultCliSource;
  const cases: PolicyTestCase[] = [];
  if (!Array.isArray(root.cases) || root.cases.length === 0) {
    report(['cases'], 'must be a non-empty list of cases');
  } else {
    const names = new Set<string>();
    (root.cases as unknown[]).forEach((item, index) => {
      const parsed = parseCase(item, index, defaultSource, report);
      if (parsed === null) return;
      if (names.has(parsed.name))
        report(['cases', index, 'name'], `duplicate case name "${parsed.name}"`);
      names.add(parsed.name);
      cases.push(parsed);
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, file: { ...(policies === undefined ? {} : { policies }), settings, cases } };
}

type Report = (keys: readonly (string | number)[], message: string) => void;

function parseSettings(value: unknown, report: Report): DecideOptions {
  const settings: {
    superRole: string | null;
    noMatch: DecideOptions['noMatch'];
    unqualifiedSources: SubjectSources;
  } = {
    superRole: 'admin',
    noMatch: 'deny',
    unqualifiedSources: SubjectSources.of(cliUnqualifiedSources(null)),
  };
  if (value === undefined || value === null) return settings;
  if (!isRecord(value)) {
    report(['settings'], 'must be a mapping with superRole and noMatch');
    return settings;
  }
  for (const [key, setting] of Object.entries(value)) {
    if (key === 'superRole') {
      if (setting === null || setting === '') settings.superRole = null;
      else if (typeof setting === 'string') settings.superRole = setting;
      else
        report(['settings', 'superRole'], 'must be a role name, or null to disable the super role');
    } else if (key === 'noMatch') {
      if (noMatchValues.includes(setting as DecideOptions['noMatch'])) {
        settings.noMatch = setting as DecideOptions['noMatch'];
      } else report(['settings', 'noMatch'], `must be one of ${noMatchValues.join(', ')}`);
    } else if (key === 'unqualifiedSubjectSources') {
      const problems = isStringList(setting)
        ? setting.map(sourceProblem).filter((problem) => problem !== null)
        : ['must be a list of sources (provider/NAME, issuer/NAME, preauth, basic)'];
      for (const problem of problems) report(['settings', key], problem);
      if (problems.length === 0 && isStringList(setting)) {
        settings.unqualifiedSources = SubjectSources.of(setting);
      }
    } else
      report(
        ['settings', key],
        'unknown field; known fields here: superRole, noMatch, unqualifiedSubjectSources',
      );
  }
  return settings;
}

function parseCase(
  item: unknown,
  index: number,
  defaultSource: string,
  report: Report,
): PolicyTestCase | null {
  const at = (...keys: (string | number)[]): (string | number)[] => ['cases', index, ...keys];
  if (!isRecord(item)) {
    report(at(), 'must be a mapping with name, request, identity and expect');
    return null;
  }
  // A counter the linter can see change: closures assigning a `let` confuse its flow analysis.
  const found = { problems: 0 };
  const fail = (keys: (string | number)[], message: string): void => {
    found.problems++;
    report(at(...keys), message);
  };
  for (const key of Object.keys(item)) {
    if (!['name', 'request', 'identity', 'expect'].includes(key)) {
      fail([key], 'unknown field; known fields here: name, request, identity, expect');
    }
  }
  const name =
    typeof item.name === 'string' && item.name !== '' ? item.name : `case ${String(index + 1)}`;
  if (typeof item.name !== 'string' || item.name === '')
    fail(['name'], 'is required: a short description');

  let request: AuthRequest | null = null;
  if (!isRecord(item.request)) fail(['request'], 'is required: { method, url }');
  else {
    const { method, url, headers, clientAddress } = item.request;
    for (const key of Object.keys(item.request)) {
      if (!requestFields.includes(key)) {
        fail(['request', key], `unknown field; known fields here: ${requestFields.join(', ')}`);
      }
    }
    if (typeof method !== 'string')
      fail(['request', 'method'], 'is required: an HTTP method such as GET');
    if (typeof url !== 'string')
      fail(['request', 'url'], 'is required: an absolute http:// or https:// URL');
    const headerList: [string, string][] = [];
    if (headers !== undefined) {
      if (!isRecord(headers)) fail(['request', 'headers'], 'must be a mapping of names to values');
      else {
        for (const [name, value] of Object.entries(headers)) {
          // YAML reads `X-Api-Version: 2` as a number: accept scalars, as a proxy sends text.
          if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
            headerList.push([name, String(value)]);
          else fail(['request', 'headers', name], 'must be a text value');
        }
      }
    }
    if (clientAddress !== undefined && typeof clientAddress !== 'string')
      fail(['request', 'clientAddress'], 'must be an IP address such as 10.1.2.3');
    if (typeof method === 'string' && typeof url === 'string') {
      const built = cliRequest(method, url, {
        headers: headerList,
        ...(typeof clientAddress === 'string' ? { clientAddress } : {}),
      });
      if (built.ok) request = built.request;
      else
        fail(['request', requestProblemField(built.problem, method, clientAddress)], built.problem);
    }
  }

  const identity = parseIdentity(item.identity, defaultSource, (keys, message) => {
    fail(['identity', ...keys], message);
  });

  let expected: PolicyTestCase['expect'] | null = null;
  if (!isRecord(item.expect)) fail(['expect'], 'is required: { outcome, reason?, rule? }');
  else {
    const { outcome, reason, rule } = item.expect;
    for (const key of Object.keys(item.expect)) {
      if (!['outcome', 'reason', 'rule'].includes(key)) {
        fail(['expect', key], 'unknown field; known fields here: outcome, reason, rule');
      }
    }
    if (!outcomes.includes(outcome as Outcome))
      fail(['expect', 'outcome'], `must be one of ${outcomes.join(', ')}`);
    if (reason !== undefined && !allReasons.includes(reason as Reason)) {
      fail(['expect', 'reason'], `must be a reason code: ${allReasons.join(', ')}`);
    }
    const ruleShape = /^([a-z0-9-]+\/)?[a-z0-9.-]+\/[a-z0-9-]+$/;
    if (
      rule !== undefined &&
      rule !== null &&
      (typeof rule !== 'string' || !ruleShape.test(rule))
    ) {
      fail(
        ['expect', 'rule'],
        'must be namespace/policy/rule (policy/rule for a ClusterAccessPolicy), or null for no rule',
      );
    }
    expected = {
      outcome: outcome as Outcome,
      ...(reason === undefined ? {} : { reason: reason as Reason }),
      ...(rule === undefined ? {} : { rule: rule as string | null }),
    };
  }
  if (found.problems > 0 || request === null || expected === null || identity === undefined)
    return null;
  return { name, request, identity, expect: expected };
}

const requestFields = ['method', 'url', 'headers', 'clientAddress'];

/** Which request field a cliRequest() problem is about, for the problem's location. */
function requestProblemField(problem: string, method: string, clientAddress: unknown): string {
  if (!httpMethod.test(method)) return 'method';
  if (typeof clientAddress === 'string' && problem.startsWith(`"${clientAddress}" is not an IP`))
    return 'clientAddress';
  if (problem.includes('header')) return 'headers';
  return 'url';
}

/** null or omitted: anonymous. undefined: invalid (problems reported). */
function parseIdentity(
  value: unknown,
  defaultSource: string,
  fail: (keys: string[], message: string) => void,
): Identity | null | undefined {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) {
    fail([], 'must be null (anonymous) or { user, email, groups, claims }');
    return undefined;
  }
  const found = { problems: 0 };
  const problem = (keys: string[], message: string): void => {
    found.problems++;
    fail(keys, message);
  };
  for (const key of Object.keys(value)) {
    if (!identityFields.includes(key)) {
      problem([key], `unknown field; known fields here: ${identityFields.join(', ')}`);
    }
  }
  const { user, email, groups, claims, organisation, source, audiences, signedInAgo, acr, amr } =
    value;
  let ago: number | undefined;
  if (signedInAgo !== undefined) {
    const parsedAgo =
      typeof signedInAgo === 'string' || typeof signedInAgo === 'number'
        ? parseSignedInAgo(String(signedInAgo))
        : 'must be a duration such as 20m';
    if (typeof parsedAgo === 'string') problem(['signedInAgo'], parsedAgo);
    else ago = parsedAgo;
  }
  if (acr !== undefined && (typeof acr !== 'string' || acr === ''))
    problem(['acr'], "must be a non-empty string (the sign-in's acr)");
  if (amr !== undefined && !isStringList(amr))
    problem(['amr'], "must be a list of authentication methods (the sign-in's amr)");
  if (organisation !== undefined && (typeof organisation !== 'string' || organisation === ''))
    problem(['organisation'], 'must be a non-empty string');
  if (source !== undefined) {
    const sourceIssue =
      typeof source === 'string'
        ? sourceProblem(source)
        : 'must be provider/NAME, issuer/NAME, preauth or basic';
    if (sourceIssue !== null) problem(['source'], sourceIssue);
  }
  if (audiences !== undefined) {
    if (!isStringList(audiences)) problem(['audiences'], 'must be a list of audiences');
    else if (typeof source !== 'string' || !source.startsWith('issuer/'))
      problem(['audiences'], 'needs source: issuer/NAME (only bearer tokens have audiences)');
  }
  if (user !== undefined && (typeof user !== 'string' || user === ''))
    problem(['user'], 'must be a non-empty string');
  if (email !== undefined && (typeof email !== 'string' || !email.includes('@'))) {
    problem(['email'], 'must be an e-mail address');
  }
  if (user === undefined && email === undefined)
    problem(['user'], 'is required (or email): who is asking');
  if (groups !== undefined && !isStringList(groups))
    problem(['groups'], 'must be a list of group names');
  if (claims !== undefined && !isRecord(claims))
    problem(['claims'], 'must be a mapping of claim names to values');
  if (found.problems > 0) return undefined;
  const authentication = {
    ...(ago === undefined ? {} : { signedInAgo: ago }),
    ...(typeof acr === 'string' ? { acr } : {}),
    ...(isStringList(amr) ? { amr } : {}),
  };
  return cliIdentity(
    {
      ...(typeof user === 'string' ? { user } : {}),
      ...(typeof email === 'string' ? { email } : {}),
      ...(isStringList(groups) ? { groups } : {}),
      ...(isRecord(claims) ? { claims } : {}),
      ...(typeof organisation === 'string' ? { organisation } : {}),
      source: typeof source === 'string' ? source : defaultSource,
      ...(isStringList(audiences) ? { audiences } : {}),
      ...(Object.keys(authentication).length === 0 ? {} : { authentication }),
    },
    caseInstantMs,
  );
}

/**
 * The instant every case is decided at. Cases give a sign-in's age (`signedInAgo`), never a
 * timestamp, so one fixed instant makes a case at the edge of a rule's `maxAge` decide the same
 * way on every run.
 */
const caseInstantMs = Date.UTC(2026, 0, 1);

const identityFields = [
  'user',
  'email',
  'groups',
  'claims',
  'organisation',
  'source',
  'audiences',
  'signedInAgo',
  'acr',
  'amr',
];

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  readonly expected: PolicyTestCase['expect'];
  readonly actual: {
    readonly outcome: Outcome;
    readonly reason: Reason;
    readonly rule: string | null;
    readonly mode: 'Enforce' | 'Audit' | null;
    readonly auditOverride: boolean;
    /** True when a guardrail (ClusterAccessPolicy, `enforcement: Guardrail`) refused the request. */
    readonly guardrail: boolean;
    /**
     * The conditions of the match that selected the rule (`describeMatch`) when it has more than
     * a plain path and methods (a pattern, headers, query parameters, client ranges); else absent.
     */
    readonly match?: string;
    /** Why the query made the request ambiguous (`ambiguous-query`); else absent. */
    readonly problem?: string;
    /** `namespace/policy` (or `policy`) whose `preflight: Allow` passed the request; else absent. */
    readonly preflight?: string;
  };
}

export function runCase(testCase: PolicyTestCase, decision: Decision): CaseResult {
  const rule = ruleKey(decision);
  const { expect: expected } = testCase;
  const passed =
    decision.outcome === expected.outcome &&
    (expected.reason === undefined || decision.reason === expected.reason) &&
    (expected.rule === undefined || rule === expected.rule);
  return {
    name: testCase.name,
    passed,
    expected,
    actual: {
      outcome: decision.outcome,
      reason: decision.reason,
      rule,
      mode: decision.rule?.mode ?? null,
      auditOverride: isAuditOverride(decision),
      guardrail: decision.rule?.enforcement === 'Guardrail',
      ...definedFields({
        match:
          decision.match === undefined ||
          (decision.match.path.type !== 'RegularExpression' &&
            decision.match.headers === undefined &&
            decision.match.queryParams === undefined &&
            decision.match.sourceCIDRs === undefined)
            ? undefined
            : describeMatch(decision.match),
        problem: decision.ambiguity?.problem,
        preflight:
          decision.preflight === undefined
            ? undefined
            : [decision.preflight.namespace, decision.preflight.policy]
                .filter((part) => part !== '')
                .join('/'),
      }),
    },
  };
}

/** `✓ name` or `✗ name — expected forbidden/missing-role, got allow/role-granted (rule demo/app/public)`. */
export function formatCaseResult(result: CaseResult): string {
  const audit = result.actual.auditOverride ? ' [audit: allowed while in audit]' : '';
  if (result.passed) return `✓ ${result.name}${audit}\n`;
  const { expected, actual } = result;
  let wanted =
    expected.reason === undefined ? expected.outcome : `${expected.outcome}/${expected.reason}`;
  if (expected.rule !== undefined)
    wanted += expected.rule === null ? ' by no rule' : ` by rule ${expected.rule}`;
  const by =
    actual.rule === null
      ? actual.preflight !== undefined
        ? `preflight: Allow of policy ${actual.preflight}`
        : (actual.problem ?? 'no rule matched')
      : `${actual.guardrail ? 'guardrail' : 'rule'} ${actual.rule}${actual.match === undefined ? '' : ` on ${actual.match}`}`;
  const got = `${actual.outcome}/${actual.reason} (${by})`;
  return `✗ ${result.name} — expected ${wanted}, got ${got}${audit}\n`;
}

function formatFileProblem(file: string, problem: FileProblem): string {
  const where = problem.line === undefined ? file : `${file}:${String(problem.line)}`;
  return `  ${where} ${problem.field === '' ? '' : `${problem.field}: `}${problem.message}\n`;
}

export const policyTestCommand: CliCommand = {
  name: 'test',
  summary: 'Run policy test cases from a YAML file',
  async run(args, io) {
    let file: string;
    let policiesOverride: string | undefined;
    let json: boolean;
    try {
      const { values, positionals } = parseCommandLine(args, {
        policies: { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      });
      if (values.help === true) {
        io.stdout(usage);
        return 0;
      }
      if (positionals.length !== 1 || positionals[0] === undefined)
        throw new Error('expected one FILE');
      const output = values.output ?? 'text';
      if (output !== 'text' && output !== 'json') throw new Error('--output must be text or json');
      file = resolve(io.cwd, positionals[0]);
      policiesOverride =
        values.policies === undefined ? undefined : resolve(io.cwd, values.policies);
      json = output === 'json';
    } catch (error) {
      io.stderr(
        `gatehouse test: ${error instanceof Error ? error.message : String(error)}\nRun "gatehouse test --help" for the options.\n`,
      );
      return policyTestExitStatus.badFile;
    }

    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      io.stderr(
        `gatehouse test: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      return policyTestExitStatus.badFile;
    }
    const parsed = parsePolicyTestFile(text, dirname(file));
    const problems = parsed.ok ? [] : [...parsed.problems];
    const policies = policiesOverride ?? (parsed.ok ? parsed.file.policies : undefined);
    if (parsed.ok && policies === undefined) {
      problems.push({ field: 'policies', message: 'is required (or give --policies DIR)' });
    }
    if (!parsed.ok || problems.length > 0 || policies === undefined) {
      io.stderr(
        `gatehouse test: ${file} has ${String(problems.length)} problem(s):\n` +
          problems.map((problem) => formatFileProblem(file, problem)).join(''),
      );
      return policyTestExitStatus.badFile;
    }

    const loaded = await loadPoliciesFromDirectory(policies);
    if (!reportPolicyLoad(loaded, io, 'test') || !loaded.ok) return policyTestExitStatus.badFile;

    const results = parsed.file.cases.map((testCase) =>
      runCase(
        testCase,
        decide(testCase.request, testCase.identity, loaded.snapshot, {
          ...parsed.file.settings,
          now: () => caseInstantMs,
        }),
      ),
    );
    const failed = results.filter((result) => !result.passed).length;
    const passed = results.length - failed;
    if (json) {
      io.stdout(`${JSON.stringify({ passed, failed, cases: results })}\n`);
    } else {
      io.stdout(
        `${results.map(formatCaseResult).join('')}\n${String(passed)} passed, ${String(failed)} failed\n`,
      );
    }
    return failed === 0 ? policyTestExitStatus.passed : policyTestExitStatus.failed;
  },
};
