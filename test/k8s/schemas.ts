/**
 * Schema checks for rendered manifests: Agones objects against the Agones CRDs in
 * ../shared/agones/crds (read as data, never copied: see that folder's README), core and
 * GKE objects against the schemas of `kubernetes-models` and `@kubernetes-models/gke`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import YAML from 'yaml';
import { REPO_ROOT, type K8sObject } from './render.ts';

export const CRD_DIR = path.resolve(REPO_ROOT, process.env.SDFLEET_AGONES_CRDS ?? '../shared/agones/crds');

type Schema = Record<string, unknown>;

interface Crd {
  spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
}

/** The CRD dialect (OpenAPI 3.0, structural) as JSON Schema draft-07, which ajv reads. */
function toDraft7(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toDraft7);
  if (typeof s !== 'object' || s === null) return s;
  const o = s as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'nullable' || k === 'exclusiveMinimum' || k === 'exclusiveMaximum' || k.startsWith('x-kubernetes-')) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, toDraft7(ps)])) : toDraft7(v);
  }
  if (o.nullable === true && typeof o.type === 'string') out.type = [o.type, 'null'];
  if (o['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    if (!out.anyOf) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (o.exclusiveMinimum === true && typeof o.minimum === 'number') {
    out.exclusiveMinimum = o.minimum;
    delete out.minimum;
  }
  return out;
}

/**
 * Fields the API server would drop without a word (structural pruning): keys under an
 * object schema with `properties`, no `additionalProperties` and no
 * x-kubernetes-preserve-unknown-fields. A misspelt field would vanish that way.
 */
export function prunedFields(obj: unknown, schema: Schema | undefined, at = ''): string[] {
  if (!schema || obj === null || typeof obj !== 'object') return [];
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return [];
  if (Array.isArray(obj)) return obj.flatMap((v, i) => prunedFields(v, schema.items as Schema | undefined, `${at}[${i}]`));
  const props = schema.properties as Record<string, Schema> | undefined;
  const extra = schema.additionalProperties;
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const p = `${at}.${k}`;
    if (props?.[k]) out.push(...prunedFields(v, props[k], p));
    else if (extra && typeof extra === 'object') out.push(...prunedFields(v, extra as Schema, p));
    else if (props && extra !== true && !(at === '' && (k === 'apiVersion' || k === 'kind' || k === 'metadata'))) out.push(p);
  }
  return out;
}

export interface CrdSchema {
  validate: ValidateFunction;
  raw: Schema;
}

/** apiVersion/kind → the CRD's schema, for every CRD file in CRD_DIR. */
export function loadCrdSchemas(): Map<string, CrdSchema> {
  const out = new Map<string, CrdSchema>();
  for (const file of fs.readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'))) {
    const crd = YAML.parse(fs.readFileSync(path.join(CRD_DIR, file), 'utf8')) as Crd;
    for (const v of crd.spec.versions) {
      const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
      const raw = v.schema.openAPIV3Schema;
      out.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, { validate: ajv.compile(toDraft7(raw) as object), raw });
    }
  }
  return out;
}

export function ajvErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
}

/** API groups whose schemas come from @kubernetes-models/gke rather than kubernetes-models. */
const GKE_GROUPS = new Set(['cloud.google.com', 'networking.gke.io']);
/** API groups that are Agones' (CRDs, or the aggregated allocation API). */
export const AGONES_GROUPS = new Set(['agones.dev', 'autoscaling.agones.dev', 'allocation.agones.dev', 'multicluster.agones.dev']);

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/**
 * The kubernetes-models class for an object's apiVersion and kind, or an error saying
 * which package would have it.
 */
export async function modelFor(o: { apiVersion: string; kind: string }): Promise<ModelClass> {
  const pkg = GKE_GROUPS.has(groupOf(o.apiVersion)) ? '@kubernetes-models/gke' : 'kubernetes-models';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`${pkg}/${o.apiVersion}`)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`no schema package for ${o.apiVersion} (looked in ${pkg}/${o.apiVersion}): ${(err as Error).message}`, { cause: err });
  }
  const cls = mod[o.kind];
  if (typeof cls !== 'function') throw new Error(`${pkg}/${o.apiVersion} has no ${o.kind}; known: ${Object.keys(mod).join(', ')}`);
  return cls as ModelClass;
}

/** Validates one core or GKE object; resolves with the validation message, or '' when valid. */
export async function validateModel(o: K8sObject): Promise<string> {
  const Cls = await modelFor(o);
  try {
    new Cls(o).validate();
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}
