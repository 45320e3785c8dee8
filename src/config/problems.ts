/**
 * A configuration problem, reported to the operator as `path: message`, with where the bad
 * value came from when known (`gatehouse.yaml:12:9`, `environment GATEHOUSE_…`). Loading
 * collects every problem before failing, so one run shows them all.
 */
export interface ConfigProblem {
  /** Dotted setting path (`listeners.main.port`, `providers[0].name`); empty for the whole file. */
  readonly path: string;
  readonly message: string;
  readonly source?: string;
}

/** One key of a setting path: an object key or an array index. */
export type PathSegment = string | number;

/** A problem found while loading, before its source is located and its path rendered. */
export interface PendingProblem {
  readonly segments: readonly PathSegment[];
  readonly message: string;
  readonly source?: string;
}

/** Renders `['providers', 0, 'name']` as `providers[0].name`; odd keys are quoted. */
export function formatPath(segments: readonly PathSegment[]): string {
  let text = '';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment))
      text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** One line per problem under a heading, ready for stderr or `gatehouse check`. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  const count = problems.length;
  return [
    `Invalid configuration (${count} problem${count === 1 ? '' : 's'}):`,
    ...listProblems(problems),
  ].join('\n');
}

/** One `  - setting: message (file:line)` line per problem or warning. */
export function listProblems(problems: readonly ConfigProblem[]): string[] {
  return problems.map((problem) => {
    const where = problem.source === undefined ? '' : ` (${problem.source})`;
    const what = problem.path === '' ? problem.message : `${problem.path}: ${problem.message}`;
    return `  - ${what}${where}`;
  });
}
