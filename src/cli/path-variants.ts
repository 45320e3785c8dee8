/**
 * Spelling variants of a checked path that another rule would judge more strictly. Matching is
 * exact on purpose (case-sensitive; `Exact /secret` is not `/secret/`; prefixes match whole
 * segments): guessing what every upstream does is how auth layers get bypassed. But many
 * upstreams do more: case-insensitive routing (`/ADMIN` serves `/admin`), trailing-slash
 * trimming (`/secret/` serves `/secret`), suffix pattern matching (`/secret.json` serves
 * `/secret`, Spring's CVE-2016-5007 family). `gatehouse check` therefore decides the variants too
 * and warns when one of them is refused where the checked path passes: the checked spelling may
 * reach a page the policy means to protect.
 */
import type { AuthRequest } from '../authz/auth-request.ts';
import type { Decision, Outcome } from '../authz/decision.ts';

export interface PathVariant {
  /** The variant path, as the upstream might read the checked one. */
  readonly path: string;
  /** What kind of upstream reads it so: `case`, `trailing-slash` or `suffix`. */
  readonly upstream: 'case' | 'trailing-slash' | 'suffix';
  readonly outcome: Outcome;
  /** `namespace/policy/rule` that decided the variant, or null. */
  readonly rule: string | null;
}

const strictness: Readonly<Record<Outcome, number>> = {
  allow: 0,
  unauthenticated: 1,
  forbidden: 2,
};

/** The spellings an upstream might treat as `path`, each with the kind of upstream that does. */
function spellingsOf(path: string): [string, PathVariant['upstream']][] {
  const spellings: [string, PathVariant['upstream']][] = [];
  if (path !== '/') {
    spellings.push([path.endsWith('/') ? path.slice(0, -1) : `${path}/`, 'trailing-slash']);
  }
  const lower = path.toLowerCase();
  if (lower !== path) spellings.push([lower, 'case']);
  const suffix = /^(.*[^/])\.[^./]+$/.exec(path);
  if (suffix?.[1] !== undefined) spellings.push([suffix[1], 'suffix']);
  return spellings;
}

/**
 * The variants of the request's path that `decideFor` refuses more strictly than `decision`.
 * Pure: `decideFor` is decide() over the same snapshot, identity and options.
 */
export function stricterVariants(
  request: AuthRequest,
  decision: Decision,
  decideFor: (request: AuthRequest) => Decision,
  ruleKeyOf: (decision: Decision) => string | null,
): PathVariant[] {
  if (!request.path.ok) return [];
  const variants: PathVariant[] = [];
  for (const [path, upstream] of spellingsOf(request.path.value)) {
    const variant = decideFor({ ...request, path: { ok: true, value: path } });
    if (strictness[variant.outcome] > strictness[decision.outcome]) {
      variants.push({ path, upstream, outcome: variant.outcome, rule: ruleKeyOf(variant) });
    }
  }
  return variants;
}

const upstreamKinds: Readonly<Record<PathVariant['upstream'], string>> = {
  case: 'ignores case',
  'trailing-slash': 'trims or adds a trailing slash',
  suffix: 'matches suffixes (".json", ".html")',
};

/** One warning line per variant, for the text report. */
export function describeVariant(checkedPath: string, variant: PathVariant): string {
  return (
    `${checkedPath} is judged more leniently than ${variant.path}, which is ${variant.outcome} ` +
    `(rule ${variant.rule ?? '(none)'}): an upstream that ${upstreamKinds[variant.upstream]} ` +
    `serves ${variant.path} here; add a match for this spelling or make the upstream strict ` +
    '(docs/policy-reference.md, "Exact matching and spelling variants")'
  );
}
