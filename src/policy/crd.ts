/**
 * The CustomResourceDefinitions of `gatehouse.dev/v1alpha1`, generated from the TypeBox
 * definitions in resources.ts so the API server, the file source and the TypeScript types can
 * never disagree (docs/architecture.md "Custom resources": one schema generates the CRD manifests, and a
 * check fails when the committed files drift). `node scripts/generate-crds.ts` writes crdYaml() to
 * charts/gatehouse/crds/ and manifests/crds/.
 *
 * The API server only accepts *structural* schemas
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * every node has a `type`, no `$ref`, and `anyOf`/`oneOf` may not declare types. So the converter
 * below accepts only the TypeBox constructs resources.ts promises to use and throws on anything
 * else: a new construct must be taught here rather than silently produce a schema the API server
 * rejects or, worse, one that validates less than the file source does.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { stringify } from 'yaml';
import {
  AccessPolicySpecSchema,
  ResourceStatusSchema,
  crdKinds,
  group,
  version,
} from './resources.ts';
import type { CrdKind, KindInfo } from './resources.ts';

// ---------------------------------------------------------------------------------------------
// Output types: the subset of apiextensions.k8s.io/v1 that we emit, as plain data.
// ---------------------------------------------------------------------------------------------

export type JsonSchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface ValidationRule {
  readonly rule: string;
  readonly message: string;
}

/** apiextensions.k8s.io/v1 JSONSchemaProps, restricted to what a structural schema may hold. */
export interface JsonSchemaProps {
  description?: string;
  type: JsonSchemaType;
  enum?: string[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchemaProps>;
  required?: string[];
  items?: JsonSchemaProps;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
}

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

export interface CustomResourceDefinition {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
  readonly spec: {
    readonly group: string;
    readonly names: {
      readonly kind: string;
      readonly listKind: string;
      readonly plural: string;
      readonly singular: string;
      readonly shortNames: string[];
      readonly categories: string[];
    };
    readonly scope: 'Namespaced' | 'Cluster';
    readonly versions: {
      readonly name: string;
      readonly served: boolean;
      readonly storage: boolean;
      readonly schema: { readonly openAPIV3Schema: JsonSchemaProps };
      readonly subresources: { readonly status: Record<string, never> };
      readonly additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

// ---------------------------------------------------------------------------------------------
// Status: what gatehouse writes through the /status subresource.
// ---------------------------------------------------------------------------------------------

/**
 * `kubectl get` cannot count list items with JSONPath, so the status writer records the counts
 * that the printer columns show; `mode` echoes the enforced mode so `Audit` is visible in status.
 */
export const AccessPolicyStatusSchema = Type.Object({
  ...ResourceStatusSchema.properties,
  mode: Type.Optional(
    Type.Union(AccessPolicySpecSchema.properties.mode.anyOf, {
      description: 'The mode gatehouse applies to this policy (spec.mode once accepted).',
    }),
  ),
  ruleCount: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Number of rules in spec.rules.' }),
  ),
  hostOwners: Type.Optional(
    Type.Array(Type.String({ maxLength: 320 }), {
      maxItems: 64,
      description:
        'AccessPolicy: `host=namespace` for each host of spec.hosts that a namespace owns (its Ingress or HTTPRoute declared the host first). A host owned by another namespace is not governed by this policy unless a HostDelegation names this namespace.',
    }),
  ),
});
export type AccessPolicyStatus = Static<typeof AccessPolicyStatusSchema>;

export const RoleMappingStatusSchema = Type.Object({
  ...ResourceStatusSchema.properties,
  subjectCount: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Number of subjects in spec.subjects.' }),
  ),
});
export type RoleMappingStatus = Static<typeof RoleMappingStatusSchema>;

// ---------------------------------------------------------------------------------------------
// List semantics (KEP-1027 / server-side apply): how the API server merges and checks lists.
// ---------------------------------------------------------------------------------------------

type ListSemantics =
  { readonly type: 'set' } | { readonly type: 'map'; readonly keys: readonly string[] };

/**
 * Keyed by field path (`[]` = any item). `set` makes the API server reject duplicates, which
 * validate.ts also rejects for hosts and rule names; `map` lets two field managers own different
 * rules or conditions. Every entry must match a field: generation throws otherwise, so renaming a
 * field in resources.ts cannot silently drop its list semantics.
 */
const listSemantics: Readonly<Record<string, ListSemantics>> = {
  'spec.hosts': { type: 'set' },
  'spec.namespaces': { type: 'set' },
  'spec.rules': { type: 'map', keys: ['name'] },
  'spec.rules[].roles': { type: 'set' },
  'spec.rules[].match[].methods': { type: 'set' },
  'spec.rules[].match[].sourceCIDRs': { type: 'set' },
  // Gateway API's HTTPRouteMatch: both lists are maps keyed by name.
  'spec.rules[].match[].headers': { type: 'map', keys: ['name'] },
  'spec.rules[].match[].queryParams': { type: 'map', keys: ['name'] },
  'spec.roles': { type: 'set' },
  // metav1.Condition lists are maps keyed by type (KEP-1623).
  'status.conditions': { type: 'map', keys: ['type'] },
};

// ---------------------------------------------------------------------------------------------
// TypeBox → structural OpenAPI v3
// ---------------------------------------------------------------------------------------------

type SchemaNode = Readonly<Record<string, unknown>>;

const passThroughNumbers = [
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
] as const;

function isNode(value: unknown): value is SchemaNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string literal's value, or undefined when `node` is not one. */
function stringConst(node: unknown): string | undefined {
  return isNode(node) && node['type'] === 'string' && typeof node['const'] === 'string'
    ? node['const']
    : undefined;
}

/** `Type.Union` of string literals → the values; undefined for any other union. */
function stringEnumValues(node: SchemaNode): string[] | undefined {
  const anyOf = node['anyOf'];
  if (!Array.isArray(anyOf) || anyOf.length === 0) return undefined;
  const values = anyOf.map(stringConst);
  return values.every((value) => value !== undefined) ? values : undefined;
}

interface Conversion {
  readonly usedListPaths: Set<string>;
}

function convert(node: unknown, path: string, conversion: Conversion): JsonSchemaProps {
  if (!isNode(node)) throw new Error(`crd: schema at ${path} is not an object`);
  if ('$ref' in node) throw new Error(`crd: $ref at ${path} is not allowed in a structural schema`);

  const enumValues = stringEnumValues(node);
  const literal = stringConst(node);
  let out: JsonSchemaProps;
  if (enumValues !== undefined) out = { type: 'string', enum: enumValues };
  else if (literal !== undefined) out = { type: 'string', enum: [literal] };
  else {
    const type = node['type'];
    if (
      type !== 'object' &&
      type !== 'array' &&
      type !== 'string' &&
      type !== 'integer' &&
      type !== 'number' &&
      type !== 'boolean'
    ) {
      throw new Error(
        `crd: schema at ${path} has no single type (unions other than string literals cannot be structural)`,
      );
    }
    out = { type };
  }

  if (typeof node['description'] === 'string') out = { description: node['description'], ...out };
  if (node['default'] !== undefined) out.default = node['default'];
  if (typeof node['format'] === 'string') out.format = node['format'];
  if (typeof node['pattern'] === 'string') out.pattern = node['pattern'];
  for (const key of passThroughNumbers) {
    const value = node[key];
    if (typeof value === 'number') out[key] = value;
  }

  if (out.type === 'object') {
    const properties = node['properties'];
    if (!isNode(properties)) throw new Error(`crd: object at ${path} has no properties`);
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([name, child]) => [
        name,
        convert(child, path === '' ? name : `${path}.${name}`, conversion),
      ]),
    );
    const required = node['required'];
    if (Array.isArray(required) && required.length > 0) {
      out.required = required.map((name) => String(name));
    }
  } else if (out.type === 'array') {
    out.items = convert(node['items'], `${path}[]`, conversion);
    const semantics = listSemantics[path];
    if (semantics !== undefined) {
      conversion.usedListPaths.add(path);
      out['x-kubernetes-list-type'] = semantics.type;
      if (semantics.type === 'map') out['x-kubernetes-list-map-keys'] = [...semantics.keys];
    }
  }

  const validations = node['x-kubernetes-validations'];
  if (Array.isArray(validations)) {
    out['x-kubernetes-validations'] = validations.map((validation: unknown) => {
      if (
        !isNode(validation) ||
        typeof validation['rule'] !== 'string' ||
        typeof validation['message'] !== 'string'
      ) {
        throw new Error(`crd: x-kubernetes-validations at ${path} must be { rule, message }`);
      }
      return { rule: validation['rule'], message: validation['message'] };
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Per-kind pieces
// ---------------------------------------------------------------------------------------------

const kindDescriptions: Readonly<Record<CrdKind, string>> = {
  HostDelegation:
    'Written by platform admins: lets the listed namespaces govern a host (optionally only below a path prefix) with their AccessPolicies, whichever namespace owns the host through its Ingress or HTTPRoute. The one way to share a host between namespaces.',
  AccessPolicy:
    'Who may reach which paths of the hosts it lists. Namespaced: it governs a host only if its namespace owns the host (its Ingress or HTTPRoute declared it first) or a HostDelegation names the namespace.',
  ClusterAccessPolicy:
    'Who may reach which paths of the hosts it lists, cluster-wide; takes precedence over an AccessPolicy for the same host and path. Its rules with `enforcement: Guardrail` are checked before every other rule.',
  RoleMapping:
    'Grants roles to users, groups, e-mail domains or token claims, for the AccessPolicies of its own namespace only.',
  ClusterRoleMapping:
    'Grants roles to users, groups, e-mail domains or token claims, for every policy in the cluster.',
};

const readyColumn: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
const reasonColumn: PrinterColumn = {
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
};
const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
};

function isPolicyKind(kind: CrdKind): boolean {
  return kind === 'AccessPolicy' || kind === 'ClusterAccessPolicy';
}

function printerColumns(kind: CrdKind): PrinterColumn[] {
  if (kind === 'HostDelegation') {
    return [
      { name: 'Host', type: 'string', jsonPath: '.spec.host' },
      { name: 'Path', type: 'string', jsonPath: '.spec.pathPrefix' },
      { name: 'Namespaces', type: 'string', jsonPath: '.spec.namespaces' },
      readyColumn,
      ageColumn,
    ];
  }
  return isPolicyKind(kind)
    ? [
        { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts' },
        { name: 'Rules', type: 'integer', jsonPath: '.status.ruleCount' },
        { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
        readyColumn,
        reasonColumn,
        { name: 'Owners', type: 'string', jsonPath: '.status.hostOwners' },
        ageColumn,
      ]
    : [
        { name: 'Roles', type: 'string', jsonPath: '.spec.roles' },
        { name: 'Subjects', type: 'integer', jsonPath: '.status.subjectCount' },
        readyColumn,
        ageColumn,
      ];
}

const expectedTopLevel = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

function rootSchema(info: KindInfo, conversion: Conversion): JsonSchemaProps {
  const properties = (info.schema as SchemaNode)['properties'];
  if (!isNode(properties)) throw new Error(`crd: ${info.kind} schema has no properties`);
  const names = Object.keys(properties);
  if (names.join() !== expectedTopLevel.join()) {
    throw new Error(
      `crd: ${info.kind} must have exactly ${expectedTopLevel.join(', ')} at the top, found ${names.join(', ')}`,
    );
  }
  const status = isPolicyKind(info.kind)
    ? AccessPolicyStatusSchema
    : info.kind === 'HostDelegation'
      ? ResourceStatusSchema
      : RoleMappingStatusSchema;
  return {
    description: kindDescriptions[info.kind],
    type: 'object',
    properties: {
      // The API server owns apiVersion, kind and metadata; a CRD may only constrain
      // metadata.name/generateName, and the API server already validates object names.
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.',
        type: 'string',
      },
      kind: {
        description:
          'Kind is a string value representing the REST resource this object represents.',
        type: 'string',
      },
      metadata: { type: 'object' },
      spec: convert(properties['spec'], 'spec', conversion),
      status: {
        description: 'Written by gatehouse: whether it accepted the object, and why not.',
        ...convert(status, 'status', conversion),
      },
    },
    required: ['spec'],
  };
}

function definition(info: KindInfo, conversion: Conversion): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${info.plural}.${group}`,
      labels: { 'app.kubernetes.io/part-of': 'gatehouse' },
    },
    spec: {
      group,
      names: {
        kind: info.kind,
        listKind: info.listKind,
        plural: info.plural,
        singular: info.singular,
        shortNames: [...info.shortNames],
        // `kubectl get gatehouse` lists every gatehouse object.
        categories: ['gatehouse'],
      },
      scope: info.scope,
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: rootSchema(info, conversion) },
          subresources: { status: {} },
          additionalPrinterColumns: printerColumns(info.kind),
        },
      ],
    },
  };
}

/** The CRDs, in the order of `crdKinds` in resources.ts (the four policy kinds, HostDelegation). */
export function customResourceDefinitions(): CustomResourceDefinition[] {
  const conversion: Conversion = { usedListPaths: new Set() };
  const definitions = crdKinds.map((info) => definition(info, conversion));
  const unused = Object.keys(listSemantics).filter((path) => !conversion.usedListPaths.has(path));
  if (unused.length > 0) {
    throw new Error(`crd: list semantics name fields that do not exist: ${unused.join(', ')}`);
  }
  return definitions;
}

export const crdHeader =
  '# Generated by "node scripts/generate-crds.ts" from src/policy/resources.ts. Do not edit.\n';

/** Every CRD as one multi-document YAML file, byte-for-byte stable for the drift check. */
export function crdYaml(): string {
  const documents = customResourceDefinitions().map(
    // lineWidth 0: never fold long strings (patterns, CEL rules) across lines.
    (crd) => `---\n${stringify(crd, { lineWidth: 0 })}`,
  );
  return crdHeader + documents.join('');
}
