/**
 * `/openapi/v3`: an index and one OpenAPI 3.0 document per group/version, generated from
 * the registry. kubectl reads them to learn that the server validates fields itself
 * (the `fieldValidation` parameter on PATCH), so `kubectl create -f` / `apply` need no
 * client-side schema; `kubectl explain` shows the schemas (unknown fields preserved).
 */
import { createHash } from 'node:crypto';
import type { GroupVersionInfo, RegisteredType, ResourceRegistry } from '../resources/registry.ts';
import type { JsonSchema } from '../resources/validation.ts';

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

function schemaPrefix(group: string, version: string): string {
  if (group === '') return `io.k8s.api.core.${version}`;
  if (group.endsWith('.k8s.io')) return `io.k8s.api.${group.slice(0, -'.k8s.io'.length)}.${version}`;
  return `${group.split('.').reverse().join('.')}.${version}`;
}

/** JSON Schema (as written for ajv) → OpenAPI 3.0 structural schema. */
export function toOpenApiSchema(s: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(s)) {
    switch (k) {
      case 'type': {
        const types = Array.isArray(v) ? (v as string[]) : [v as string];
        const nonNull = types.filter((t) => t !== 'null');
        if (types.includes('null')) out.nullable = true;
        if (nonNull.length === 2 && nonNull.includes('integer') && nonNull.includes('string')) out['x-kubernetes-int-or-string'] = true;
        else if (nonNull[0]) out.type = nonNull[0];
        break;
      }
      case 'properties':
        out.properties = Object.fromEntries(Object.entries(v as Record<string, JsonSchema>).map(([p, ps]) => [p, toOpenApiSchema(ps)]));
        break;
      case 'items':
        out.items = toOpenApiSchema(v as JsonSchema);
        break;
      case 'additionalProperties':
        out.additionalProperties = typeof v === 'object' && v !== null ? toOpenApiSchema(v as JsonSchema) : v;
        break;
      case 'exclusiveMinimum':
        out.minimum = v;
        out.exclusiveMinimum = true;
        break;
      case 'enum':
        out.enum = (v as unknown[]).filter((x) => x !== null);
        break;
      default:
        out[k] = v;
    }
  }
  if (out.type === 'object' && out.additionalProperties === undefined) out['x-kubernetes-preserve-unknown-fields'] = true;
  return out;
}

const objectMetaSchema: JsonSchema = {
  type: 'object',
  description: "Standard object's metadata.",
  properties: {
    name: { type: 'string' },
    generateName: { type: 'string' },
    namespace: { type: 'string' },
    uid: { type: 'string' },
    resourceVersion: { type: 'string' },
    generation: { type: 'integer', format: 'int64' },
    creationTimestamp: { type: 'string', format: 'date-time' },
    deletionTimestamp: { type: 'string', format: 'date-time' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' } },
    ownerReferences: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
  },
};

function query(name: string, description: string): JsonSchema {
  return { name, in: 'query', description, schema: { type: 'string', uniqueItems: true } };
}

const WRITE_PARAMS = [
  query('dryRun', 'When present, indicates that modifications should not be persisted. Valid value: All'),
  query('fieldManager', 'Accepted and ignored: managed fields are not tracked.'),
  query('fieldValidation', 'Accepted; unknown fields are preserved (not rejected).'),
];

function op(action: string, gvk: Record<string, string>, ref: string, extra: JsonSchema = {}): JsonSchema {
  return {
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  };
}

function pathsFor(t: RegisteredType, ref: string): Record<string, JsonSchema> {
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  const coll = t.namespaced ? `${base}/namespaces/{namespace}/${t.plural}` : `${base}/${t.plural}`;
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const nsParam = t.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string' } }] : [];
  const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
  const body = (types: string[]): JsonSchema => ({ requestBody: { content: Object.fromEntries(types.map((c) => [c, { schema: { $ref: `#/components/schemas/${ref}` } }])) } });
  const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', ...(t.group === '' ? ['application/strategic-merge-patch+json'] : [])];
  const patch = (r: string, g: Record<string, string>): JsonSchema => op('patch', g, r, { parameters: WRITE_PARAMS, ...body(patchTypes) });
  const paths: Record<string, JsonSchema> = {
    [coll]: {
      parameters: nsParam,
      get: op('list', gvk, ref),
      post: op('post', gvk, ref, { parameters: WRITE_PARAMS, ...body(['application/json', 'application/yaml']) }),
    },
    [`${coll}/{name}`]: {
      parameters: [nameParam, ...nsParam],
      get: op('get', gvk, ref),
      put: op('put', gvk, ref, { parameters: WRITE_PARAMS, ...body(['application/json', 'application/yaml']) }),
      patch: patch(ref, gvk),
      delete: op('delete', gvk, ref),
    },
  };
  if (t.subresources.status) {
    paths[`${coll}/{name}/status`] = { parameters: [nameParam, ...nsParam], get: op('get', gvk, ref), put: op('put', gvk, ref, { parameters: WRITE_PARAMS }), patch: patch(ref, gvk) };
  }
  if (t.subresources.scale) {
    const sgvk = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
    paths[`${coll}/{name}/scale`] = { parameters: [nameParam, ...nsParam], get: op('get', sgvk, 'io.k8s.api.autoscaling.v1.Scale'), patch: patch('io.k8s.api.autoscaling.v1.Scale', sgvk) };
  }
  return paths;
}

function groupVersionDoc(gv: GroupVersionInfo): string {
  const schemas: Record<string, JsonSchema> = { [OBJECT_META]: objectMetaSchema };
  let paths: Record<string, JsonSchema> = {};
  const prefix = schemaPrefix(gv.group, gv.version);
  for (const t of gv.types) {
    const ref = `${prefix}.${t.kind}`;
    const body = toOpenApiSchema(t.schema ?? { type: 'object' });
    const props = (body.properties as Record<string, JsonSchema> | undefined) ?? {};
    schemas[ref] = {
      ...body,
      type: 'object',
      description: `${t.kind} (${t.apiVersion}), served by sdfleet's embedded control plane.`,
      properties: {
        apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
        kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
        metadata: { $ref: `#/components/schemas/${OBJECT_META}` },
        ...props,
      },
      'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }],
    };
    if (t.subresources.scale) {
      schemas['io.k8s.api.autoscaling.v1.Scale'] = {
        type: 'object',
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: { $ref: `#/components/schemas/${OBJECT_META}` },
          spec: { type: 'object', properties: { replicas: { type: 'integer', format: 'int32' } } },
          status: { type: 'object', properties: { replicas: { type: 'integer', format: 'int32' }, selector: { type: 'string' } } },
        },
        'x-kubernetes-group-version-kind': [{ group: 'autoscaling', version: 'v1', kind: 'Scale' }],
      };
    }
    paths = { ...paths, ...pathsFor(t, ref) };
  }
  return JSON.stringify({ openapi: '3.0.0', info: { title: 'sdfleet control plane', version: 'v1.32.0' }, paths, components: { schemas } });
}

/** The OpenAPI v3 documents, built once. */
export class OpenApiV3 {
  readonly index: string;
  readonly #docs = new Map<string, string>();

  constructor(registry: ResourceRegistry) {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const gv of registry.groupVersions()) {
      const key = gv.group ? `apis/${gv.groupVersion}` : `api/${gv.version}`;
      const doc = groupVersionDoc(gv);
      this.#docs.set(key, doc);
      const hash = createHash('sha512').update(doc).digest('hex').toUpperCase().slice(0, 32);
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
    this.index = JSON.stringify({ paths });
  }

  /** `apis/agones.dev/v1`, `api/v1` */
  doc(key: string): string | undefined {
    return this.#docs.get(key);
  }
}
