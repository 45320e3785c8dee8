import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdHeader, crdYaml, customResourceDefinitions } from './crd.ts';
import type { CustomResourceDefinition, JsonSchemaProps } from './crd.ts';
import { ruleValidations, subjectValidations } from './resources.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const crds = customResourceDefinitions();

function byKind(kind: string): CustomResourceDefinition {
  const crd = crds.find((candidate) => candidate.spec.names.kind === kind);
  if (crd === undefined) throw new Error(`no CRD for ${kind}`);
  return crd;
}

function rootOf(kind: string): JsonSchemaProps {
  const version = byKind(kind).spec.versions[0];
  if (version === undefined) throw new Error(`no version for ${kind}`);
  return version.schema.openAPIV3Schema;
}

/** Every schema node with its field path, depth first. */
function* nodes(schema: JsonSchemaProps, path = ''): Generator<[string, JsonSchemaProps]> {
  yield [path, schema];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    yield* nodes(child, path === '' ? name : `${path}.${name}`);
  }
  if (schema.items !== undefined) yield* nodes(schema.items, `${path}[]`);
}

function at(kind: string, path: string): JsonSchemaProps {
  for (const [candidate, node] of nodes(rootOf(kind))) if (candidate === path) return node;
  throw new Error(`${kind} has no field ${path}`);
}

describe('customResourceDefinitions', () => {
  it('defines the five kinds of gatehouse.dev/v1alpha1 with their names and scope', () => {
    expect(
      crds.map((crd) => [
        crd.metadata.name,
        crd.spec.scope,
        crd.spec.names.shortNames,
        crd.spec.names.categories,
      ]),
    ).toEqual([
      ['accesspolicies.gatehouse.dev', 'Namespaced', ['ap'], ['gatehouse']],
      ['clusteraccesspolicies.gatehouse.dev', 'Cluster', ['cap'], ['gatehouse']],
      ['rolemappings.gatehouse.dev', 'Namespaced', ['rm'], ['gatehouse']],
      ['clusterrolemappings.gatehouse.dev', 'Cluster', ['crm'], ['gatehouse']],
      ['hostdelegations.gatehouse.dev', 'Cluster', ['hd'], ['gatehouse']],
    ]);
    for (const crd of crds) {
      expect(crd.spec.group).toBe('gatehouse.dev');
      expect(crd.spec.versions).toHaveLength(1);
      expect(crd.spec.versions[0]).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
    }
  });

  it('produces structural schemas: a type on every node, no $ref, anyOf, oneOf or allOf', () => {
    for (const crd of crds) {
      for (const [path, node] of nodes(rootOf(crd.spec.names.kind))) {
        expect(node.type, `${crd.metadata.name} ${path}`).toBeDefined();
        for (const forbidden of ['$ref', 'anyOf', 'oneOf', 'allOf', '$id', 'const']) {
          expect(Object.keys(node), `${crd.metadata.name} ${path}`).not.toContain(forbidden);
        }
        // metadata is the API server's: a CRD may not describe it beyond its type.
        if (node.type === 'object' && path !== 'metadata')
          expect(node.properties, path).toBeDefined();
        if (node.type === 'array') expect(node.items, path).toBeDefined();
      }
    }
  });

  it('bounds every list and every free-form string so CEL rules stay within the cost budget', () => {
    for (const crd of crds) {
      for (const [path, node] of nodes(rootOf(crd.spec.names.kind))) {
        if (node.type === 'array')
          expect(node.maxItems, `${crd.metadata.name} ${path}`).toBeDefined();
        // The API server owns apiVersion and kind; enums are bounded by their values.
        if (
          node.type === 'string' &&
          node.enum === undefined &&
          !['apiVersion', 'kind'].includes(path)
        ) {
          expect(node.maxLength, `${crd.metadata.name} ${path}`).toBeDefined();
        }
      }
    }
  });

  it('turns string literal unions into enums and keeps the default of mode', () => {
    expect(at('AccessPolicy', 'spec.mode')).toMatchObject({
      type: 'string',
      enum: ['Enforce', 'Audit'],
      default: 'Enforce',
    });
    expect(at('AccessPolicy', 'spec.rules[].match[].path.type').enum).toEqual([
      'Exact',
      'PathPrefix',
      'RegularExpression',
    ]);
    expect(at('RoleMapping', 'spec.subjects[].kind').enum).toEqual([
      'User',
      'Group',
      'EmailDomain',
      'Claim',
      'Organisation',
    ]);
  });

  it('keeps the required fields and leaves optional ones out of required', () => {
    expect(rootOf('AccessPolicy').required).toEqual(['spec']);
    expect(at('AccessPolicy', 'spec').required).toEqual(['hosts', 'rules']);
    expect(at('AccessPolicy', 'spec.rules[]').required).toEqual(['name', 'match']);
    expect(at('RoleMapping', 'spec.subjects[]').required).toEqual(['kind', 'name']);
  });

  it('carries the CEL rules for roles versus action: Deny and for Claim values', () => {
    for (const kind of ['AccessPolicy', 'ClusterAccessPolicy']) {
      expect(at(kind, 'spec.rules[]')['x-kubernetes-validations']).toEqual(ruleValidations);
      expect(JSON.stringify(at(kind, 'spec.rules[]'))).toContain("self.action == 'Deny'");
    }
    for (const kind of ['RoleMapping', 'ClusterRoleMapping']) {
      expect(at(kind, 'spec.subjects[]')['x-kubernetes-validations']).toEqual(subjectValidations);
    }
  });

  it('marks host, role and method lists as sets and rules and conditions as maps', () => {
    expect(at('AccessPolicy', 'spec.hosts')['x-kubernetes-list-type']).toBe('set');
    expect(at('AccessPolicy', 'spec.rules[].roles')['x-kubernetes-list-type']).toBe('set');
    expect(at('AccessPolicy', 'spec.rules[].match[].methods')['x-kubernetes-list-type']).toBe(
      'set',
    );
    expect(at('RoleMapping', 'spec.roles')['x-kubernetes-list-type']).toBe('set');
    expect(at('AccessPolicy', 'spec.rules')).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
    expect(at('ClusterRoleMapping', 'status.conditions')).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
  });

  it('has a status subresource whose schema holds conditions and the counts the columns show', () => {
    for (const crd of crds) {
      expect(crd.spec.versions[0]?.subresources).toEqual({ status: {} });
    }
    expect(Object.keys(at('AccessPolicy', 'status').properties ?? {})).toEqual([
      'observedGeneration',
      'conditions',
      'mode',
      'ruleCount',
      'hostOwners',
    ]);
    expect(Object.keys(at('RoleMapping', 'status').properties ?? {})).toEqual([
      'observedGeneration',
      'conditions',
      'subjectCount',
    ]);
    expect(Object.keys(at('AccessPolicy', 'status.conditions[]').properties ?? {})).toEqual(
      expect.arrayContaining(['type', 'status', 'reason', 'message', 'lastTransitionTime']),
    );
  });

  it('shows hosts, rule count, mode, readiness and age for policies, roles and subjects for mappings', () => {
    const columns = (kind: string): string[] =>
      (byKind(kind).spec.versions[0]?.additionalPrinterColumns ?? []).map(
        (column) => `${column.name}=${column.jsonPath}`,
      );
    const policyColumns = [
      'Hosts=.spec.hosts',
      'Rules=.status.ruleCount',
      'Mode=.spec.mode',
      'Ready=.status.conditions[?(@.type=="Ready")].status',
      'Reason=.status.conditions[?(@.type=="Ready")].reason',
      'Owners=.status.hostOwners',
      'Age=.metadata.creationTimestamp',
    ];
    expect(columns('AccessPolicy')).toEqual(policyColumns);
    expect(columns('ClusterAccessPolicy')).toEqual(policyColumns);
    const mappingColumns = [
      'Roles=.spec.roles',
      'Subjects=.status.subjectCount',
      'Ready=.status.conditions[?(@.type=="Ready")].status',
      'Age=.metadata.creationTimestamp',
    ];
    expect(columns('RoleMapping')).toEqual(mappingColumns);
    expect(columns('HostDelegation')).toEqual([
      'Host=.spec.host',
      'Path=.spec.pathPrefix',
      'Namespaces=.spec.namespaces',
      'Ready=.status.conditions[?(@.type=="Ready")].status',
      'Age=.metadata.creationTimestamp',
    ]);
    expect(columns('ClusterRoleMapping')).toEqual(mappingColumns);
  });
});

describe('crdYaml', () => {
  it('starts with the do-not-edit header and holds one document per CRD', () => {
    const text = crdYaml();
    expect(text.startsWith(crdHeader)).toBe(true);
    expect(text.match(/^---$/gm)).toHaveLength(5);
  });

  it.each([
    'charts/gatehouse/crds/gatehouse.dev_crds.yaml',
    'manifests/crds/gatehouse.dev_crds.yaml',
  ])(
    'equals the committed %s (run "node scripts/generate-crds.ts" after changing resources.ts)',
    async (file) => {
      expect(await readFile(resolve(repoRoot, file), 'utf8')).toBe(crdYaml());
    },
  );
});
