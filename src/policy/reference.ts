/**
 * Renders the field reference of the custom resources (docs/policy-reference.md) from the one
 * definition in resources.ts, like the configuration reference: written once, checked for drift
 * by a unit test, rewritten by `make docs`.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import {
  AccessPolicySpecSchema,
  apiVersion,
  crdKinds,
  HostDelegationSpecSchema,
  RoleMappingSpecSchema,
} from './resources.ts';

interface Row {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly constraints: string;
  readonly description: string;
}

export function policyReference(examples: readonly { title: string; yaml: string }[]): string {
  const kindRows = crdKinds
    .map(
      (info) =>
        `| \`${info.kind}\` | ${info.scope === 'Namespaced' ? 'namespaced' : 'cluster'} | \`${info.plural}\` | ${info.shortNames.map((name) => `\`${name}\``).join(', ')} |`,
    )
    .join('\n');
  return `<!-- Generated from src/policy/resources.ts by \`make docs\`. Do not edit by hand. -->

# Policy reference

Access to every protected host is described by four custom resources of \`${apiVersion}\`. In a
cluster they are watched through the Kubernetes API; for local runs and \`gatehouse check\` the
same manifests are read from a folder. A fifth, \`HostDelegation\`, is tenancy only (cluster
sources; docs/kubernetes.md).

| kind | scope | plural | short names |
| --- | --- | --- | --- |
${kindRows}

## How a request is decided

1. **Facts**: method, scheme, host (lower-cased, default port dropped) and the path in the form
   policies match on (unreserved characters percent-decoded, repeated slashes merged); for the
   conditions of a \`match\`, the request headers and query parameters the proxy passes to
   gatehouse and the client address a trusted proxy reports. The fragment never takes part, and
   the query only through \`queryParams\`. The facts are those of the request the proxy routes to the upstream;
   a check gatehouse cannot tie to it is refused (400), never repaired (docs/security.md). A path
   whose meaning depends on who reads it — literal or encoded dot-segments (\`/a/../b\`,
   \`/a/%2e%2e/b\`: nginx and Caddy pass them to the upstream raw, and many upstreams route
   \`/admin/../public\` under \`/admin\`), encoded \`/\` or \`\\\`, \`;\` path parameters, NUL or
   control characters, invalid UTF-8 — is denied (403 \`ambiguous-path\`).
2. **Guardrails first**: the \`ClusterAccessPolicy\` rules with \`enforcement: Guardrail\` whose
   hosts match are ranked by the precedence below and the first matching one is checked before
   any other rule: a guardrail \`Deny\` refuses everyone (403 \`deny-rule\`); a guardrail with
   \`roles\` needs one of them from a ClusterRoleMapping, or the super role (else 401/403
   \`missing-role\`). A request that passes is then decided by the other rules, steps 3–8: a
   guardrail never grants. \`mode: Audit\` does not apply to guardrails.
3. **CORS preflights**: an \`OPTIONS\` request with \`Origin\` and \`Access-Control-Request-Method\`
   passes anonymously (200 \`cors-preflight\`, no identity headers) when a policy listing the most
   specific of the request's host patterns (the exact host before any wildcard) sets
   \`preflight: Allow\`, whatever rule would match; the upstream answers it, gatehouse adds no CORS
   header. Browsers send preflights without cookies or tokens, so without this a rule that needs
   a role answers them 401 and the cross-origin call fails. Guardrails (step 2) still apply: a
   guardrail \`Deny\` refuses the preflight too (a path closed to everyone needs no CORS, and the
   \`OPTIONS\` would reach the upstream), and a guardrail with roles asks for them (a tenant's
   setting never loosens a guardrail; leave \`OPTIONS\` out of the guardrail's \`methods\` to let
   preflights through it). The proxy must pass both headers to gatehouse (Envoy:
   \`allowed_headers\`).
4. **Candidates**: every other rule of every policy whose \`hosts\` match the host, and of those,
   the matches whose every condition holds: path, methods, \`headers\`, \`queryParams\` and
   \`sourceCIDRs\` (Gateway API's HTTPRouteMatch: conditions are ANDed, any match of a rule
   suffices). Header names are case-insensitive and a missing header never matches; query
   names are case-sensitive and compared decoded (\`%61\` is \`a\`, \`+\` a space). A query that
   repeats a parameter a candidate tests, spells it in another case, or holds \`;\`, \`#\` or a bad
   escape is refused (403 \`ambiguous-query\`): upstreams read such queries differently, and
   gatehouse does not guess which reading is the upstream's. The client address for
   \`sourceCIDRs\` is the one a trusted proxy reports (\`trustedProxies\`); when gatehouse cannot
   know it, an \`Allow\` rule's match with \`sourceCIDRs\` does not match and a \`Deny\` rule's
   does. Regular expressions are RE2 (linear time, full match: \`^\` and \`$\` are implied).
5. **Precedence** (Gateway API's, extended, total): exact host over wildcard, longer wildcard
   over shorter; \`Exact\` path over \`PathPrefix\` over \`RegularExpression\`; longer prefix over
   shorter, longer pattern over shorter; a match with \`methods\` over one without (\`GET\` also
   covers \`HEAD\`, as nginx \`limit_except\` does; a method no match lists falls through to the
   next rule); more \`headers\` conditions over fewer; more \`queryParams\` conditions over fewer; a
   match with \`sourceCIDRs\` over one without; \`ClusterAccessPolicy\` over \`AccessPolicy\`; older
   \`creationTimestamp\`; then \`namespace/name\`; then rule and match order. A pattern never
   overrides a path a prefix names, so a broad \`/.*\` cannot reopen a \`Deny\` on \`/admin\`; to let
   patterns decide below a catch-all, write the catch-all as the pattern \`/.*\`.
6. **No rule matches**: 403 \`no-matching-rule\` (configuration \`authz.noMatch\` can choose
   \`authenticate\` or \`allow\` instead).
7. **Roles**: everyone holds \`guest\`; a signed-in caller also holds \`authenticated\` and the
   roles of the ClusterRoleMappings and of the RoleMappings in the matched policy's namespace. The
   super role (\`authz.superRole\`, default \`admin\`) satisfies every rule except \`action: Deny\`.
   A subject matches only identities of the sources it names (\`sources: [provider/corp]\`,
   \`issuer/<name>\`, \`preauth\`, \`basic\`); a subject without \`sources\` matches only the sources
   of configuration \`authz.unqualifiedSubjectSources\` (default: the first OpenID provider), so a
   partner IdP's \`bob\`, a token with \`sub: bob\` and a pre-authenticated \`bob\` are not the
   corporate \`bob\`. A bearer token must name one of the matched policy's
   \`authentication.bearer.audiences\` in its \`aud\`, when the policy names any (else 401
   \`invalid-credentials\`, whatever the rule).
8. **Outcome**: allowed → 200 with identity headers; a rule \`guest\` does not satisfy and no
   signed-in caller → 401 (sign in); a signed-in caller without a role → 403.
9. **Tenancy**: a namespaced \`AccessPolicy\` governs a host only if its namespace owns it (the
   earliest Ingress of a protected class or HTTPRoute accepted by a protected Gateway declaring
   the host is in that namespace) or a \`HostDelegation\` names the namespace (below its
   \`pathPrefix\`, when set: then none of its rules may use a \`RegularExpression\` path, which
   may reach anywhere, nor may it set \`preflight: Allow\`); a \`RoleMapping\` grants roles only
   inside its namespace.

## Exact matching and spelling variants

Matching is exact: case-sensitive, \`Exact /secret\` does not cover \`/secret/\`, and a prefix
matches whole segments (\`/admin\` covers \`/admin\` and \`/admin/x\`, not \`/admin.json\`).
gatehouse does not guess what the upstream does with other spellings, because a guess that is
wrong is a bypass. But if the upstream routes case-insensitively (\`/ADMIN\` serves \`/admin\`),
trims trailing slashes (\`/secret/\` serves \`/secret\`) or matches suffixes (\`/secret.json\` serves
\`/secret\`), those spellings fall to another rule — often a catch-all — and reach the page a
\`Deny\` or a protected \`Exact\` rule meant to close. Either add matches for the spellings your
upstream accepts, or make the upstream strict. \`gatehouse check\` decides the variants of the
checked path too and prints a \`warning:\` line (JSON: \`variants\`) when one of them is refused
more strictly than the path you asked about:

\`\`\`text
$ gatehouse check --policies examples/policies GET http://app.localhost/METRICS
warning:        /METRICS is judged more leniently than /metrics, which is forbidden (rule demo/app/metrics): an upstream that ignores case serves /metrics here; …
\`\`\`

## \`AccessPolicy\` and \`ClusterAccessPolicy\` — \`spec\`

${table(rowsOf(AccessPolicySpecSchema))}
## \`RoleMapping\` and \`ClusterRoleMapping\` — \`spec\`

${table(rowsOf(RoleMappingSpecSchema))}
## \`HostDelegation\` — \`spec\`

${table(rowsOf(HostDelegationSpecSchema))}
## Examples

${examples.map((example) => `### ${example.title}\n\n\`\`\`yaml\n${example.yaml.trimEnd()}\n\`\`\`\n`).join('\n')}`;
}

function rowsOf(spec: TSchema): Row[] {
  const rows: Row[] = [];
  collect('', spec, true, rows);
  return rows;
}

function collect(path: string, schema: TSchema, required: boolean, rows: Row[]): void {
  if (schema[Kind] === 'Object') {
    const properties = schema['properties'] as Record<string, TSchema>;
    const requiredNames = new Set((schema['required'] as string[] | undefined) ?? []);
    for (const [name, child] of Object.entries(properties)) {
      collect(path === '' ? name : `${path}.${name}`, child, requiredNames.has(name), rows);
    }
    return;
  }
  rows.push({
    path,
    type: typeOf(schema),
    required,
    constraints: constraintsOf(schema),
    description: typeof schema.description === 'string' ? schema.description : '',
  });
  if (schema[Kind] === 'Array') {
    const items = schema['items'] as TSchema;
    if (items[Kind] === 'Object') collect(`${path}[]`, items, true, rows);
  }
}

function typeOf(schema: TSchema): string {
  switch (schema[Kind]) {
    case 'Union':
      return (schema['anyOf'] as TSchema[])
        .map((member) => `\`${String(member['const'])}\``)
        .join(' \\| ');
    case 'Array': {
      const items = schema['items'] as TSchema;
      return items[Kind] === 'Object' ? 'list of objects' : `list of ${typeOf(items)}`;
    }
    case 'Integer':
      return 'integer';
    default:
      return 'string';
  }
}

function constraintsOf(schema: TSchema): string {
  const parts: string[] = [];
  const number = (key: string): number | undefined =>
    typeof schema[key] === 'number' ? schema[key] : undefined;
  const minItems = number('minItems');
  const maxItems = number('maxItems');
  if (minItems !== undefined || maxItems !== undefined) {
    parts.push(`${minItems ?? 0}–${maxItems ?? '∞'} items`);
  }
  const maxLength = number('maxLength');
  if (maxLength !== undefined) parts.push(`at most ${maxLength} characters`);
  if (schema['default'] !== undefined) parts.push(`default \`${String(schema['default'])}\``);
  const items = schema['items'] as TSchema | undefined;
  const itemMax = items === undefined ? undefined : (items['maxLength'] as number | undefined);
  if (itemMax !== undefined) parts.push(`each at most ${itemMax} characters`);
  return parts.join('; ');
}

function table(rows: readonly Row[]): string {
  const escape = (text: string) => text.replaceAll('|', '\\|');
  const lines = rows.map(
    (row) =>
      `| \`${row.path}\` | ${row.type} | ${row.required ? 'yes' : 'no'} | ${row.constraints} | ${escape(row.description)} |`,
  );
  return `| field | type | required | constraints | description |\n| --- | --- | --- | --- | --- |\n${lines.join('\n')}\n`;
}
