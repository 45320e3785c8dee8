/**
 * Policy manifests come from people (a tenant's `kubectl apply`, a ConfigMap, a file being edited),
 * so loading must never crash on any text: YAML syntax errors, tags, anchors and alias bombs
 * (billion laughs, CVE-2013-0269-style), nesting deep enough to exhaust the stack, numbers beyond
 * a double, objects of the wrong shape. Every such input must come back as located problems, and
 * "no problems" must mean the objects passed validation (a source that threw instead would keep
 * the last snapshot forever without saying why, or crash the process).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicyDocuments } from '../../src/policy/sources/files/load-policy-documents.ts';
import { runs, timeoutFor } from './runs.ts';

/** YAML parsing costs more than the other properties' cases: a fifth of the budget each. */
const CASES = runs(0.2);

/** Building blocks of YAML text: structure, tags, anchors, directives, hostile scalars. */
const token = fc.constantFrom(
  '\n',
  '\n  ',
  '\n    ',
  '\n- ',
  '---\n',
  '...\n',
  '%YAML 1.2\n',
  '%TAG !g! tag:gatehouse.dev,2025:\n',
  'apiVersion: gatehouse.dev/v1alpha1\n',
  'kind: AccessPolicy\n',
  'kind: ClusterAccessPolicy\n',
  'kind: RoleMapping\n',
  'kind: List\nitems:\n',
  'metadata: {name: shop, namespace: shop}\n',
  'spec:\n',
  'hosts: [shop.test]',
  'rules:',
  'match: [{path: {type: PathPrefix, value: /}}]',
  'roles: [guest]',
  'action: Deny',
  '&a ',
  '*a',
  '<<: *a',
  '!!str ',
  '!!binary ',
  '!!js/function ',
  '!!python/object:os.system ',
  '!g!x ',
  '!<tag:yaml.org,2002:int> ',
  '? ',
  ': ',
  '- ',
  '[',
  ']',
  '{',
  '}',
  ',',
  '|',
  '>-',
  '"',
  "'",
  '#',
  '\t',
  '1e400',
  '-.inf',
  '.nan',
  '0x',
  '0o777',
  '123456789012345678901234567890',
  'null',
  '~',
  'yes',
  '2025-01-01T00:00:00Z',
  '\u0000',
  '\ufeff',
  '\u2028',
);

const tokenSoup = fc.array(token, { maxLength: 60 }).map((tokens) => tokens.join(''));

/** A deeply nested flow collection placed where a policy field is expected. */
const deepNesting = fc
  .tuple(fc.integer({ min: 1, max: 1200 }), fc.constantFrom('[', '{a: '), fc.boolean())
  .map(([depth, open, closed]) => {
    const close = open === '[' ? ']' : '}';
    const nested = open.repeat(depth) + '1' + (closed ? close.repeat(depth) : '');
    return `apiVersion: gatehouse.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: a}\nspec:\n  hosts: ${nested}\n`;
  });

/** Alias bombs: each level refers to the previous one several times. */
const aliasBomb = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 10 }))
  .map(([levels, width]) => {
    const lines = ['a0: &a0 [lol]'];
    for (let level = 1; level <= levels; level++) {
      lines.push(
        `a${String(level)}: &a${String(level)} [${Array(width)
          .fill(`*a${String(level - 1)}`)
          .join(', ')}]`,
      );
    }
    return `${lines.join('\n')}\nkind: AccessPolicy\nspec: *a${String(levels)}\n`;
  });

/** A value as YAML flow text (JSON is YAML); `undefined` and functions have none: `null`. */
function flow(value: unknown): string {
  const text: unknown = JSON.stringify(value);
  return typeof text === 'string' ? text : 'null';
}

/** Resource-shaped documents whose fields hold values of any type. */
const strangeValue = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.bigInt().map((value) => value.toString()),
  fc.double().map(String),
);
const wrongShape = fc
  .record({
    kind: fc.oneof(
      fc.constantFrom(
        'AccessPolicy',
        'ClusterAccessPolicy',
        'RoleMapping',
        'ClusterRoleMapping',
        'List',
      ),
      strangeValue,
    ),
    name: strangeValue,
    hosts: strangeValue,
    rules: strangeValue,
    roles: strangeValue,
  })
  .map(
    (doc) =>
      `apiVersion: gatehouse.dev/v1alpha1\nkind: ${flow(doc.kind)}\n` +
      `metadata: {name: ${flow(doc.name)}}\n` +
      `spec: {hosts: ${flow(doc.hosts)}, rules: ${flow(doc.rules)}, roles: ${flow(doc.roles)}}\n`,
  );

/** Deep nesting is by far the slowest case (the parser recovers from a stack overflow): rarer. */
const manifest = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 500 }) },
  { weight: 3, arbitrary: tokenSoup },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: aliasBomb },
  { weight: 2, arbitrary: wrongShape },
);

describe('loadPolicyDocuments (property)', () => {
  it(
    `never throws on any text: it returns located problems instead (${String(CASES)} cases)`,
    () => {
      fc.assert(
        fc.property(fc.array(manifest, { minLength: 1, maxLength: 3 }), (texts) => {
          const files = texts.map((text, index) => ({
            path: `policy-${String(index)}.yaml`,
            text,
          }));
          const loaded = loadPolicyDocuments(files);
          expect(loaded.keys).toHaveLength(loaded.resources.length);
          for (const problem of loaded.problems) {
            expect(files.map((file) => file.path)).toContain(problem.file);
            expect(problem.message).toEqual(expect.any(String));
            expect(problem.message).not.toBe('');
          }
          for (const resource of loaded.resources) {
            expect([
              'AccessPolicy',
              'ClusterAccessPolicy',
              'RoleMapping',
              'ClusterRoleMapping',
            ]).toContain(resource.kind);
          }
        }),
        { numRuns: CASES },
      );
    },
    timeoutFor(CASES, 20),
  );
});
