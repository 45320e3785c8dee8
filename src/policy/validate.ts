/**
 * Validation of one policy object, with every problem reported at once and located by a field
 * path (`spec.rules[2].match[0].path.value`) and an actionable message.
 *
 * Three layers: the TypeBox schema (what the CRD's OpenAPI schema lets the API server reject),
 * the TypeScript twins of the CRD's CEL rules (files never pass through an API server), and
 * semantic checks that no schema can express. In a cluster the last layer's findings set
 * `Ready=False` on the object instead (docs/architecture.md "Custom resources").
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { ValueError } from '@sinclair/typebox/errors';
import type { TSchema } from '@sinclair/typebox';
import { isIPv4, isIPv6 } from 'node:net';
import { normalisePath } from '../authz/path.ts';
import { compileLinearRegex } from '../authz/regex.ts';
import { parseMaxAge } from '../authz/step-up.ts';
import {
  apiVersion,
  isResourceKind,
  kinds,
  patternMessages,
  resourceKinds,
  forbiddenTokenHeaderPrefixes,
  forbiddenTokenHeaders,
  hostDelegationKind,
  hostDelegationValidations,
  maxAgePattern,
  maxPatternLength,
  sourceCidrValidations,
  unmatchableHeaderPrefixes,
  unmatchableHeaders,
  ruleValidations,
  subjectValidations,
} from './resources.ts';
import type { HostDelegation, PolicyResource, ResourceKind } from './resources.ts';
import { isRecord } from '../is-record.ts';

export interface Problem {
  /** Field path from the object root, e.g. `spec.rules[2].match[0].path.value`; "" for the object itself. */
  readonly path: string;
  readonly message: string;
}

export type ValidationResult =
  | { readonly ok: true; readonly resource: PolicyResource }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * Special-use names (RFC 6761 §6.2–6.4, RFC 8375, and ICANN's 2024 reservation of `internal`)
 * that never reach the public DNS, so a one-label wildcard over them (`*.localhost`) is a
 * sensible local fallback rather than a typo covering a whole public TLD (`*.com`).
 */
const privateTopLevelDomains = new Set([
  'localhost',
  'test',
  'example',
  'invalid',
  'internal',
  'local',
]);

const compiled = new Map<ResourceKind, TypeCheck<TSchema>>();
function checkerFor(kind: ResourceKind): TypeCheck<TSchema> {
  let checker = compiled.get(kind);
  if (checker === undefined) {
    checker = TypeCompiler.Compile(kinds[kind].schema);
    compiled.set(kind, checker);
  }
  return checker;
}

/** `/spec/rules/2/name` → `spec.rules[2].name` (JSON Pointer, RFC 6901). */
export function pointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(token)) path += `[${token}]`;
    else path += path === '' ? token : `.${token}`;
  }
  return path;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function literalValues(schema: TSchema): string[] | null {
  const anyOf: unknown = schema.anyOf;
  if (!Array.isArray(anyOf)) return null;
  const values: string[] = [];
  for (const member of anyOf as unknown[]) {
    if (!isRecord(member) || typeof member.const !== 'string') return null;
    values.push(member.const);
  }
  return values;
}

function schemaMessage(error: ValueError): string {
  const { schema, value } = error;
  if (value === undefined) return 'is required';
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.StringPattern: {
      const pattern = typeof schema.pattern === 'string' ? schema.pattern : '';
      return `${patternMessages[pattern] ?? `must match ${pattern}`} (got ${shown(value)})`;
    }
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(schema.maxLength)} characters long`;
    case ValueErrorType.StringMinLength:
      return `must be at least ${String(schema.minLength)} character(s) long`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(schema.minItems)} item(s)`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(schema.maxItems)} items`;
    case ValueErrorType.String:
      return `must be a string (got ${shown(value)})`;
    case ValueErrorType.Array:
      return `must be a list (got ${shown(value)})`;
    case ValueErrorType.Object:
      return `must be a mapping of fields (got ${shown(value)})`;
    case ValueErrorType.Integer:
      return `must be an integer (got ${shown(value)})`;
    case ValueErrorType.IntegerMinimum:
      return `must be at least ${String(schema.minimum)}`;
    case ValueErrorType.Union: {
      const values = literalValues(schema);
      return values === null
        ? error.message
        : `must be one of ${values.join(', ')} (got ${shown(value)})`;
    }
    default:
      return error.message;
  }
}

function schemaProblems(checker: TypeCheck<TSchema>, object: unknown): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const error of checker.Errors(object)) {
    // One problem per field: a missing field also fails its type check, which adds nothing.
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    problems.push({ path: pointerToPath(error.path), message: schemaMessage(error) });
  }
  return problems;
}

/**
 * Fields the schema does not declare. The API server prunes them silently (structural schemas),
 * which hides typos such as `role:` for `roles:`; in files we say so. `metadata` and `status`
 * belong to Kubernetes and may carry anything (labels, annotations, managedFields...).
 */
function unknownFields(schema: TSchema, value: unknown, path: string, problems: Problem[]): void {
  if (Array.isArray(value)) {
    const items: unknown = schema.items;
    if (isRecord(items)) {
      value.forEach((item, index) => {
        unknownFields(items as TSchema, item, `${path}[${String(index)}]`, problems);
      });
    }
    return;
  }
  const properties: unknown = schema.properties;
  if (!isRecord(value) || !isRecord(properties)) return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = path === '' ? key : `${path}.${key}`;
    const childSchema = properties[key];
    if (childSchema === undefined) {
      problems.push({
        path: childPath,
        message: `unknown field; known fields here: ${Object.keys(properties).join(', ')}`,
      });
    } else if (path !== '' || (key !== 'metadata' && key !== 'status')) {
      unknownFields(childSchema as TSchema, child, childPath, problems);
    }
  }
}

function asRecords(value: unknown): (Record<string, unknown> | undefined)[] {
  return Array.isArray(value) ? value.map((item) => (isRecord(item) ? item : undefined)) : [];
}

/*
 * The semantic checks below also run when the schema failed, on whatever parts have the right
 * shape, so that one pass reports every problem. Fields of the wrong type were already reported.
 */

/** An address as a bit string of its family's width, or null when it is not one. */
function addressBits(address: string): string | null {
  if (isIPv4(address)) {
    return address
      .split('.')
      .map((octet) => Number(octet).toString(2).padStart(8, '0'))
      .join('');
  }
  if (!isIPv6(address)) return null;
  let text = address.toLowerCase();
  // An embedded IPv4 tail (`::ffff:10.0.0.0`) is two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const bits = addressBits(v4[1]) ?? '';
    text = `${text.slice(0, -v4[1].length)}${parseInt(bits.slice(0, 16), 2).toString(16)}:${parseInt(bits.slice(16), 2).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [
    ...headGroups,
    ...Array<string>(tail === undefined ? 0 : missing).fill('0'),
    ...tailGroups,
  ];
  return groups.map((group) => parseInt(group, 16).toString(2).padStart(16, '0')).join('');
}

/** Twin of sourceCidrValidations (CEL `isCIDR` and host bits zero). */
function cidrProblem(cidr: string): string | null {
  const slash = cidr.indexOf('/');
  const bits = slash === -1 ? null : addressBits(cidr.slice(0, slash));
  const prefixText = cidr.slice(slash + 1);
  const message = `${sourceCidrValidations[0].message} (got ${shown(cidr)})`;
  if (bits === null || !/^\d{1,3}$/.test(prefixText)) return message;
  const prefix = Number(prefixText);
  if (prefix > bits.length) return message;
  return bits.slice(prefix).includes('1') ? message : null;
}

function isUnmatchableHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    (unmatchableHeaders as readonly string[]).includes(lower) ||
    unmatchableHeaderPrefixes.some((prefix) => lower.startsWith(prefix))
  );
}

/** Twins of the CEL and list rules on headers, queryParams and sourceCIDRs, plus RE2 syntax. */
function checkMatchConditions(
  match: Record<string, unknown>,
  matchPath: string,
  problems: Problem[],
): void {
  const checkValues = (field: 'headers' | 'queryParams', caseless: boolean): void => {
    const seen = new Map<string, number>();
    asRecords(match[field]).forEach((entry, index) => {
      if (entry === undefined) return;
      const entryPath = `${matchPath}.${field}[${String(index)}]`;
      const { name, value, type } = entry;
      if (typeof name === 'string') {
        const key = caseless ? name.toLowerCase() : name;
        const first = seen.get(key);
        if (first !== undefined) {
          problems.push({
            path: `${entryPath}.name`,
            message: `names the same ${field === 'headers' ? 'header' : 'query parameter'} as ${field}[${String(first)}]${caseless ? ' (header names are case-insensitive)' : ''}: give each one condition`,
          });
        } else seen.set(key, index);
        if (field === 'headers' && isUnmatchableHeader(name)) {
          problems.push({
            path: `${entryPath}.name`,
            message: `"${name}" says where the request goes or who sent it, and proxies overwrite it on the check: use hosts, path or sourceCIDRs instead`,
          });
        }
      }
      if (type === 'RegularExpression' && typeof value === 'string') {
        if (value.length > maxPatternLength) {
          problems.push({
            path: `${entryPath}.value`,
            message: `a RegularExpression must be at most ${String(maxPatternLength)} characters`,
          });
          return;
        }
        const compiled = compileLinearRegex(value);
        if (!compiled.ok) problems.push({ path: `${entryPath}.value`, message: compiled.problem });
      }
    });
  };
  checkValues('headers', true);
  checkValues('queryParams', false);

  const cidrs: unknown[] = Array.isArray(match.sourceCIDRs) ? match.sourceCIDRs : [];
  const seen = new Set<string>();
  cidrs.forEach((cidr, index) => {
    if (typeof cidr !== 'string') return;
    const path = `${matchPath}.sourceCIDRs[${String(index)}]`;
    const problem = cidrProblem(cidr);
    if (problem !== null) problems.push({ path, message: problem });
    if (seen.has(cidr)) problems.push({ path, message: `duplicate range "${cidr}"` });
    seen.add(cidr);
  });
}

/** Twins of the step-up CEL rules (ruleValidations[2..4]), and `maxAge`'s bounds. */
function checkRuleAuthentication(
  rule: Record<string, unknown>,
  rulePath: string,
  deny: boolean,
  problems: Problem[],
): void {
  const written = rule.authentication;
  if (!isRecord(written)) return;
  const path = `${rulePath}.authentication`;
  if (deny) problems.push({ path: rulePath, message: ruleValidations[2].message });
  if (Array.isArray(rule.roles) && rule.roles.includes('guest')) {
    problems.push({ path: rulePath, message: ruleValidations[3].message });
  }
  if (written.maxAge === undefined && written.acr === undefined && written.amr === undefined) {
    problems.push({ path: rulePath, message: ruleValidations[4].message });
  }
  // The schema's pattern reports a malformed value; the bounds are checked here.
  if (typeof written.maxAge === 'string' && new RegExp(maxAgePattern).test(written.maxAge)) {
    const seconds = parseMaxAge(written.maxAge);
    if (typeof seconds === 'string') problems.push({ path: `${path}.maxAge`, message: seconds });
  }
}

function checkAccessPolicy(
  spec: Record<string, unknown>,
  problems: Problem[],
  cluster: boolean,
): void {
  const hosts = new Set<string>();
  const hostList: unknown[] = Array.isArray(spec.hosts) ? spec.hosts : [];
  hostList.forEach((host, index) => {
    if (typeof host !== 'string') return;
    const path = `spec.hosts[${String(index)}]`;
    if (hosts.has(host)) problems.push({ path, message: `duplicate host "${host}"` });
    hosts.add(host);
    const tld = host.slice(2);
    if (host.startsWith('*.') && !tld.includes('.') && !privateTopLevelDomains.has(tld)) {
      problems.push({
        path,
        message: `wildcard "${host}" covers a whole top-level domain; name a domain such as "*.example.${tld}"`,
      });
    }
  });

  if (isRecord(spec.upstreamTokens)) {
    for (const token of ['accessToken', 'idToken'] as const) {
      const entry = spec.upstreamTokens[token];
      if (!isRecord(entry) || typeof entry.header !== 'string') continue;
      const header = entry.header.toLowerCase();
      if (
        (forbiddenTokenHeaders as readonly string[]).includes(header) ||
        forbiddenTokenHeaderPrefixes.some((prefix) => header.startsWith(prefix))
      ) {
        problems.push({
          path: `spec.upstreamTokens.${token}.header`,
          message: `"${entry.header}" must not carry a token: it is a routing, hop-by-hop or credential header, or an identity header`,
        });
      }
    }
  }

  const ruleNames = new Set<string>();
  asRecords(spec.rules).forEach((rule, ruleIndex) => {
    if (rule === undefined) return;
    const rulePath = `spec.rules[${String(ruleIndex)}]`;
    if (typeof rule.name === 'string') {
      if (ruleNames.has(rule.name)) {
        problems.push({ path: `${rulePath}.name`, message: `duplicate rule name "${rule.name}"` });
      }
      ruleNames.add(rule.name);
    }
    if (rule.enforcement === 'Guardrail' && !cluster) {
      // A guardrail outranks every tenant rule; only platform admins may write one.
      problems.push({
        path: `${rulePath}.enforcement`,
        message:
          'Guardrail is only allowed in a ClusterAccessPolicy (guardrails bind every tenant, so only platform admins write them)',
      });
    }
    // Twins of ruleValidations (CEL).
    const deny = rule.action === 'Deny';
    if (rule.roles !== undefined && deny) {
      problems.push({ path: rulePath, message: ruleValidations[0].message });
    } else if (rule.roles === undefined && !deny) {
      problems.push({ path: rulePath, message: ruleValidations[1].message });
    }
    checkRuleAuthentication(rule, rulePath, deny, problems);
    asRecords(rule.match).forEach((match, matchIndex) => {
      if (match !== undefined) {
        checkMatchConditions(match, `${rulePath}.match[${String(matchIndex)}]`, problems);
      }
      const pathMatch = match?.path;
      if (!isRecord(pathMatch) || typeof pathMatch.value !== 'string') return;
      const { value } = pathMatch;
      const valuePath = `${rulePath}.match[${String(matchIndex)}].path.value`;
      if (pathMatch.type === 'RegularExpression') {
        if (value.startsWith('^')) {
          problems.push({
            path: valuePath,
            message:
              'a RegularExpression path matches the whole path, "^" and "$" are implied: write "/public/.*" rather than "^/public/"',
          });
          return;
        }
        if (!value.startsWith('/')) return; // reported by the schema
        // The path is matched after normalisation, never with its query (oauth2-proxy once
        // matched --skip-auth-regex against the query too: `/private?x=/public/`).
        const compiled = compileLinearRegex(value);
        if (!compiled.ok) problems.push({ path: valuePath, message: compiled.problem });
        return;
      }
      if (!value.startsWith('/')) return; // reported by the schema
      if (value.includes('?') || value.includes('#')) {
        problems.push({
          path: valuePath,
          message: 'must not contain "?" or "#": query and fragment never take part in matching',
        });
        return;
      }
      const normalised = normalisePath(value);
      if (!normalised.ok) {
        problems.push({ path: valuePath, message: `is ambiguous: ${normalised.problem}` });
      } else if (normalised.value !== value) {
        // Requests are matched after normalisation, so a non-canonical value would never match.
        problems.push({
          path: valuePath,
          message: `must be written in normalised form "${normalised.value}" (requests are normalised before matching)`,
        });
      }
    });
  });
}

function checkRoleMapping(spec: Record<string, unknown>, problems: Problem[]): void {
  asRecords(spec.subjects).forEach((subject, index) => {
    if (subject === undefined) return;
    const path = `spec.subjects[${String(index)}]`;
    // Twin of subjectValidations (CEL).
    if ((subject.kind === 'Claim') !== (subject.values !== undefined)) {
      problems.push({ path, message: subjectValidations[0].message });
    }
    const { name } = subject;
    if (
      subject.kind === 'EmailDomain' &&
      typeof name === 'string' &&
      (name.includes('@') || !name.includes('.'))
    ) {
      problems.push({
        path: `${path}.name`,
        message: `must be a mail domain such as "example.com", without "@" (got ${shown(name)})`,
      });
    }
  });
}

function checkMetadata(
  kind: ResourceKind,
  metadata: Record<string, unknown>,
  problems: Problem[],
): void {
  const namespaced = kinds[kind].scope === 'Namespaced';
  if (namespaced && metadata.namespace === undefined) {
    problems.push({ path: 'metadata.namespace', message: `is required for ${kind}` });
  }
  if (!namespaced && metadata.namespace !== undefined) {
    problems.push({
      path: 'metadata.namespace',
      message: `must not be set: ${kind} is cluster-scoped (did you mean ${kind.replace('Cluster', '')}?)`,
    });
  }
  const created = metadata.creationTimestamp;
  if (typeof created === 'string' && !Number.isFinite(Date.parse(created))) {
    problems.push({
      path: 'metadata.creationTimestamp',
      message: `must be an RFC 3339 time such as "2025-01-31T12:00:00Z" (got ${shown(created)})`,
    });
  }
}

/** Validates one decoded object (from YAML or the Kubernetes API). */
export function validateResource(object: unknown): ValidationResult {
  if (!isRecord(object)) {
    return {
      ok: false,
      problems: [
        {
          path: '',
          message: `must be a mapping with apiVersion, kind, metadata and spec (got ${shown(object)})`,
        },
      ],
    };
  }
  const problems: Problem[] = [];
  if (object.apiVersion !== apiVersion) {
    problems.push({
      path: 'apiVersion',
      message: `must be "${apiVersion}" (got ${shown(object.apiVersion)})`,
    });
  }
  if (!isResourceKind(object.kind)) {
    problems.push({
      path: 'kind',
      message: `must be one of ${resourceKinds.join(', ')} (got ${shown(object.kind)})`,
    });
  }
  if (problems.length > 0 || !isResourceKind(object.kind)) return { ok: false, problems };

  const { kind } = object;
  const checker = checkerFor(kind);
  unknownFields(kinds[kind].schema, object, '', problems);
  const schemaOk = checker.Check(object);
  if (!schemaOk) problems.push(...schemaProblems(checker, object));
  if (isRecord(object.metadata)) checkMetadata(kind, object.metadata, problems);
  if (isRecord(object.spec)) {
    if (kind === 'AccessPolicy' || kind === 'ClusterAccessPolicy') {
      checkAccessPolicy(object.spec, problems, kind === 'ClusterAccessPolicy');
    } else {
      checkRoleMapping(object.spec, problems);
    }
  }
  return schemaOk && problems.length === 0
    ? { ok: true, resource: object as PolicyResource }
    : { ok: false, problems };
}

let delegationChecker: TypeCheck<TSchema> | null = null;

/**
 * Validates a HostDelegation (cluster-scoped, from the Kubernetes API): the schema and the
 * TypeScript twins of its CEL rules, so an object the API server let through with older CRDs
 * is still refused here rather than half-applied.
 */
export function validateHostDelegation(
  object: unknown,
): { ok: true; delegation: HostDelegation } | { ok: false; problems: readonly Problem[] } {
  if (!isRecord(object))
    return { ok: false, problems: [{ path: '', message: 'must be a mapping' }] };
  delegationChecker ??= TypeCompiler.Compile(hostDelegationKind.schema);
  const problems: Problem[] = [];
  unknownFields(hostDelegationKind.schema, object, '', problems);
  const schemaOk = delegationChecker.Check(object);
  if (!schemaOk) problems.push(...schemaProblems(delegationChecker, object));
  const spec = isRecord(object.spec) ? object.spec : {};
  if (
    typeof spec.host === 'string' &&
    spec.host.startsWith('*.') &&
    !spec.host.slice(2).includes('.')
  ) {
    problems.push({ path: 'spec.host', message: hostDelegationValidations[0].message });
  }
  if (typeof spec.pathPrefix === 'string' && spec.pathPrefix.startsWith('/')) {
    const normalised = normalisePath(spec.pathPrefix);
    if (!normalised.ok) {
      problems.push({ path: 'spec.pathPrefix', message: `is ambiguous: ${normalised.problem}` });
    } else if (normalised.value !== spec.pathPrefix) {
      problems.push({
        path: 'spec.pathPrefix',
        message: `must be written in normalised form "${normalised.value}" (requests are normalised before matching)`,
      });
    }
  }
  return schemaOk && problems.length === 0
    ? { ok: true, delegation: object as HostDelegation }
    : { ok: false, problems };
}
