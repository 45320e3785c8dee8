/**
 * `gatehouse diff`: what a policy change does to access, for a reviewer or a CI bot — per host,
 * the requests and callers that gain or lose access, with the rule on each side
 * (cli/access-diff.ts). The exit status says whether access widened, so a pipeline can ask for
 * a second review exactly then.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DecideOptions } from '../../authz/decide.ts';
import { defaultDecideOptions } from '../../authz/decide.ts';
import { formatProblems } from '../../config/problems.ts';
import { definedFields } from '../../defined-fields.ts';
import { describeCaller, diffAccess, type AccessChange, type AccessDiff } from '../access-diff.ts';
import { loadCommandConfig, type CliCommand, type CliIo } from '../command.ts';
import {
  kubeconfigLister,
  loadPoliciesFromCluster,
  loadPoliciesFromDirectory,
  reportPolicyLoad,
  type PolicyLoadResult,
} from '../policy-loading.ts';

/** Exit statuses of `gatehouse diff`. */
export const diffExitStatus = {
  /** Nobody gains access (access may have narrowed). */
  notWidened: 0,
  /** Some caller gains access somewhere: worth a second look. */
  widened: 1,
  usageOrLoadError: 2,
} as const;

const usage = `Usage: gatehouse diff (--from DIR | --from-cluster) --to DIR [options]

Compares two policy sets and lists, per host, the requests (paths × methods) and callers
(everyone, any signed-in caller, each role, each mapped subject) that gain or lose access,
with the deciding rule on each side.

  --from DIR              the policy as it is: a folder of CRD manifests
  --from-cluster          the policy as it is: the live cluster (--kubeconfig FILE, --context NAME)
  --kubeconfig FILE       with --from-cluster (default: $KUBECONFIG, then ~/.kube/config)
  --context NAME          with --from-cluster
  --to DIR                the policy as proposed: a folder of CRD manifests
  --config FILE           gatehouse configuration: authz.superRole and authz.noMatch
  --output text|json      text (default) or one JSON object {widened, changes, notEnumerated}

Exit status: 0 nobody gains access, 1 someone gains access, 2 usage or load error.
Paths: "/admin" is that path exactly, "/admin/…" anything else below it, "/admin (and below)"
both, "/…" anything else on the host; method "*" is every method no rule names.
`;

interface ParsedDiff {
  readonly from?: string;
  readonly fromCluster: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly to?: string;
  readonly config?: string;
  readonly output: 'text' | 'json';
}

export const diffCommand: CliCommand = {
  name: 'diff',
  summary: 'What a policy change does to access: who gains and loses it, where (exit 1: widened)',
  async run(args, io) {
    let values;
    try {
      ({ values } = parseArgs({
        args: [...args],
        options: {
          from: { type: 'string' },
          'from-cluster': { type: 'boolean' },
          kubeconfig: { type: 'string' },
          context: { type: 'string' },
          to: { type: 'string' },
          config: { type: 'string', short: 'c' },
          output: { type: 'string', short: 'o' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      }));
    } catch (error) {
      io.stderr(`gatehouse diff: ${(error as Error).message}\n\n${usage}`);
      return diffExitStatus.usageOrLoadError;
    }
    if (values.help === true) {
      io.stdout(usage);
      return diffExitStatus.notWidened;
    }
    const output = values.output ?? 'text';
    const fromCluster = values['from-cluster'] === true;
    const problem =
      output !== 'text' && output !== 'json'
        ? `--output must be text or json, not "${output}"`
        : (values.from === undefined) === !fromCluster
          ? 'give exactly one of --from DIR and --from-cluster'
          : values.to === undefined
            ? 'give the proposed policy: --to DIR'
            : !fromCluster && (values.kubeconfig !== undefined || values.context !== undefined)
              ? '--kubeconfig and --context go with --from-cluster'
              : null;
    if (problem !== null) {
      io.stderr(`gatehouse diff: ${problem}\n\n${usage}`);
      return diffExitStatus.usageOrLoadError;
    }
    const parsed: ParsedDiff = {
      ...definedFields({
        from: values.from,
        kubeconfig: values.kubeconfig,
        context: values.context,
        to: values.to,
        config: values.config,
      }),
      fromCluster,
      output: output as 'text' | 'json',
    };
    return runDiff(parsed, io);
  },
};

async function runDiff(parsed: ParsedDiff, io: CliIo): Promise<number> {
  let options: DecideOptions = defaultDecideOptions;
  if (parsed.config !== undefined) {
    const { loaded } = loadCommandConfig(parsed.config, io);
    if (!loaded.ok) {
      io.stderr(
        `gatehouse diff: the configuration in ${parsed.config} has ${String(loaded.problems.length)} problem(s):\n${formatProblems(loaded.problems)}\n`,
      );
      return diffExitStatus.usageOrLoadError;
    }
    const { authz } = loaded.config;
    options = {
      superRole: authz.superRole ?? null,
      noMatch: authz.noMatch,
    };
  }
  const before = await loadSide(parsed, io);
  const after = await loadPoliciesFromDirectory(resolve(io.cwd, parsed.to ?? ''));
  if (!reportPolicyLoad(before, io, 'diff') || !reportPolicyLoad(after, io, 'diff')) {
    return diffExitStatus.usageOrLoadError;
  }
  if (!before.ok || !after.ok) return diffExitStatus.usageOrLoadError;
  const diff = diffAccess(before.snapshot, after.snapshot, options);
  io.stdout(
    parsed.output === 'json'
      ? `${JSON.stringify(diff, null, 2)}\n`
      : formatDiff(diff, before.origin, after.origin),
  );
  return diff.widened ? diffExitStatus.widened : diffExitStatus.notWidened;
}

async function loadSide(parsed: ParsedDiff, io: CliIo): Promise<PolicyLoadResult> {
  if (!parsed.fromCluster) return loadPoliciesFromDirectory(resolve(io.cwd, parsed.from ?? ''));
  const kubeconfig =
    parsed.kubeconfig ?? io.env['KUBECONFIG'] ?? join(homedir(), '.kube', 'config');
  const lister = await kubeconfigLister({
    kubeconfig: resolve(io.cwd, kubeconfig),
    ...definedFields({ context: parsed.context }),
  });
  return loadPoliciesFromCluster(lister);
}

export function formatDiff(diff: AccessDiff, from: string, to: string): string {
  const lines = [`gatehouse diff: ${from} → ${to}`];
  if (diff.changes.length === 0) lines.push('', 'No caller gains or loses access anywhere.');
  let host: string | null = null;
  for (const change of diff.changes) {
    if (change.host !== host) {
      host = change.host;
      lines.push('', `host ${host}`);
    }
    lines.push(...formatChange(change));
  }
  if (diff.notEnumerated.length > 0) {
    lines.push('', 'Not compared exactly (judge these by hand):');
    for (const note of diff.notEnumerated) lines.push(`  ${note}`);
  }
  lines.push(
    '',
    diff.widened
      ? 'Access WIDENED: some caller gains access (exit status 1).'
      : 'Access did not widen (exit status 0).',
  );
  return `${lines.join('\n')}\n`;
}

function formatChange(change: AccessChange): string[] {
  const rule = (key: string | null) => key ?? 'no rule (authz.noMatch)';
  const lines = [`  ${change.methods.join(', ')} ${change.path}`];
  lines.push(
    change.before === change.after
      ? `    rule: ${rule(change.before)}`
      : `    rule: ${rule(change.before)} → ${rule(change.after)}`,
  );
  if (change.gained.length > 0) {
    lines.push(`    + gains access: ${change.gained.map(describeCaller).join('; ')}`);
  }
  if (change.lost.length > 0) {
    lines.push(`    - loses access: ${change.lost.map(describeCaller).join('; ')}`);
  }
  return lines;
}
