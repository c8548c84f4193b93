/**
 * Field errors worded as Kubernetes words them (apimachinery `field.Error`, kube-openapi
 * schema errors), metadata checks, and JSON Schema checks through ajv.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { dns1123LabelErrors, dns1123SubdomainErrors, labelValueErrors, qualifiedNameErrors } from '../../kube/names.ts';
import type { StatusCause } from '../store/errors.ts';

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueDuplicate'
  | 'FieldValueTypeInvalid';

export interface FieldError {
  type: FieldErrorType;
  /** Dotted path, `spec.ports[0].portPolicy`. */
  field: string;
  /** The text after the field: `Invalid value: -1: … should be greater than or equal to 0`. */
  message: string;
}

/** Go-like rendering of a value in an error (`"text"`, `-1`, `true`, `null`). */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(v);
  }
}

export const fieldErr = {
  required: (field: string, detail?: string): FieldError => ({ type: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, message: `Invalid value: ${formatValue(value)}: ${detail}` }),
  notSupported: (field: string, value: unknown, allowed: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${formatValue(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` }),
  tooLong: (field: string, max: number): FieldError => ({ type: 'FieldValueTooLong', field, message: `Too long: may not be more than ${max} bytes` }),
  tooMany: (field: string, actual: number, max: number): FieldError => ({ type: 'FieldValueTooMany', field, message: `Too many: ${actual}: must have at most ${max} items` }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, message: `Duplicate value: ${formatValue(value)}` }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueTypeInvalid', field, message: `Invalid value: ${formatValue(value)}: ${detail}` }),
};

export function toCauses(errors: readonly FieldError[]): StatusCause[] {
  return errors.map((e) => ({ reason: e.type, message: e.message, field: e.field }));
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------
// Metadata

const TOTAL_ANNOTATION_SIZE = 256 * 1024;

export interface MetadataRules {
  namespaced: boolean;
  nameRule: 'subdomain' | 'label';
  /** Agones keeps Fleet/GameServer names ≤ 63 so they fit in a label value. */
  maxNameLength?: number;
}

/** Validates a string→string map of labels (`field` = `metadata.labels`). */
export function labelErrors(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isPlainObject(labels)) return [fieldErr.typeInvalid(field, labels, `${field} in body must be of type object`)];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels)) {
    for (const e of qualifiedNameErrors(k)) errs.push(fieldErr.invalid(field, k, e));
    if (typeof v !== 'string') {
      errs.push(fieldErr.typeInvalid(`${field}.${k}`, v, `${field}.${k} in body must be of type string`));
      continue;
    }
    for (const e of labelValueErrors(v)) errs.push(fieldErr.invalid(`${field}`, v, e));
  }
  return errs;
}

export function annotationErrors(annotations: unknown, field: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isPlainObject(annotations)) return [fieldErr.typeInvalid(field, annotations, `${field} in body must be of type object`)];
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const e of qualifiedNameErrors(k.toLowerCase())) errs.push(fieldErr.invalid(field, k, e));
    if (typeof v !== 'string') {
      errs.push(fieldErr.typeInvalid(`${field}.${k}`, v, `${field}.${k} in body must be of type string`));
      continue;
    }
    size += k.length + v.length;
  }
  if (size > TOTAL_ANNOTATION_SIZE) errs.push(fieldErr.tooLong(field, TOTAL_ANNOTATION_SIZE));
  return errs;
}

function nameErrors(name: string, rules: MetadataRules): string[] {
  const errs = rules.nameRule === 'label' ? dns1123LabelErrors(name) : dns1123SubdomainErrors(name);
  return errs;
}

/**
 * ObjectMeta checks of apimachinery's ValidateObjectMeta that matter here: name,
 * namespace, labels, annotations, finalizers, ownerReferences.
 *
 * `old`: the metadata of the stored version on an update. Fields it shares with it
 * (the same value: the store shares what an update left alone) are not checked again —
 * validation ratcheting, as Kubernetes does for CRDs since 1.28. When anything is wrong,
 * everything is checked, so the errors are those of a full check.
 */
export function objectMetaErrors(meta: unknown, rules: MetadataRules, old?: unknown): FieldError[] {
  // (No closures here: this runs on every write, and tsx names each closure it creates.)
  if (isPlainObject(meta) && isPlainObject(old)) {
    if (
      (meta.name === old.name || validName(meta.name, rules)) &&
      (meta.generateName === old.generateName || meta.generateName === undefined || typeof meta.generateName === 'string') &&
      (meta.namespace === old.namespace || (rules.namespaced ? validNamespace(meta.namespace) : meta.namespace === undefined || meta.namespace === '')) &&
      (meta.labels === old.labels || changedLabelsValid(meta.labels, old.labels)) &&
      (meta.annotations === old.annotations || changedAnnotationsValid(meta.annotations, old.annotations)) &&
      (meta.finalizers === old.finalizers || finalizerErrors(meta.finalizers).length === 0) &&
      (meta.ownerReferences === old.ownerReferences || ownerReferenceErrors(meta.ownerReferences).length === 0)
    ) {
      return [];
    }
  }
  return fullObjectMetaErrors(meta, rules);
}

/** The entries of `labels` that are new or differ from `old`'s are valid (the others were). */
function changedLabelsValid(labels: unknown, old: unknown): boolean {
  if (!isPlainObject(labels) || !isPlainObject(old)) return labelErrors(labels, 'metadata.labels').length === 0;
  for (const k in labels) {
    const v = labels[k];
    if (old[k] === v && v !== undefined) continue;
    if (typeof v !== 'string' || qualifiedNameErrors(k).length > 0 || labelValueErrors(v).length > 0) return false;
  }
  return true;
}

function changedAnnotationsValid(annotations: unknown, old: unknown): boolean {
  if (!isPlainObject(annotations) || !isPlainObject(old)) return annotationErrors(annotations, 'metadata.annotations').length === 0;
  let size = 0;
  for (const k in annotations) {
    const v = annotations[k];
    if (typeof v !== 'string') return false;
    size += k.length + v.length;
    if (old[k] !== undefined && k in old) continue;
    if (qualifiedNameErrors(k.toLowerCase()).length > 0) return false;
  }
  return size <= TOTAL_ANNOTATION_SIZE;
}

function validName(name: unknown, rules: MetadataRules): boolean {
  return typeof name === 'string' && name !== '' && nameErrors(name, rules).length === 0 && (rules.maxNameLength === undefined || name.length <= rules.maxNameLength);
}

function validNamespace(ns: unknown): boolean {
  return typeof ns === 'string' && ns !== '' && dns1123LabelErrors(ns).length === 0;
}

function finalizerErrors(finalizers: unknown): FieldError[] {
  const errs: FieldError[] = [];
  if (finalizers === undefined || finalizers === null) return errs;
  if (!Array.isArray(finalizers)) {
    errs.push(fieldErr.typeInvalid('metadata.finalizers', finalizers, 'metadata.finalizers in body must be of type array'));
  } else {
    finalizers.forEach((f: unknown, i) => {
      if (typeof f !== 'string') errs.push(fieldErr.typeInvalid(`metadata.finalizers[${i}]`, f, 'must be of type string'));
      else for (const e of qualifiedNameErrors(f)) errs.push(fieldErr.invalid(`metadata.finalizers[${i}]`, f, e));
    });
  }
  return errs;
}

function ownerReferenceErrors(refs: unknown): FieldError[] {
  const errs: FieldError[] = [];
  if (refs === undefined || refs === null) return errs;
  if (!Array.isArray(refs)) {
    errs.push(fieldErr.typeInvalid('metadata.ownerReferences', refs, 'metadata.ownerReferences in body must be of type array'));
  } else {
    refs.forEach((r: unknown, i) => {
      const f = `metadata.ownerReferences[${i}]`;
      if (!isPlainObject(r)) {
        errs.push(fieldErr.typeInvalid(f, r, `${f} in body must be of type object`));
        return;
      }
      for (const k of ['apiVersion', 'kind', 'name', 'uid'] as const) {
        if (typeof r[k] !== 'string' || r[k] === '') errs.push(fieldErr.required(`${f}.${k}`));
      }
    });
  }
  return errs;
}

function fullObjectMetaErrors(meta: unknown, rules: MetadataRules): FieldError[] {
  if (!isPlainObject(meta)) return [fieldErr.required('metadata')];
  const errs: FieldError[] = [];
  const name = meta.name;
  if (name === undefined || name === '') {
    errs.push(fieldErr.required('metadata.name', 'name or generateName is required'));
  } else if (typeof name !== 'string') {
    errs.push(fieldErr.typeInvalid('metadata.name', name, 'metadata.name in body must be of type string'));
  } else {
    for (const e of nameErrors(name, rules)) errs.push(fieldErr.invalid('metadata.name', name, e));
    if (rules.maxNameLength !== undefined && name.length > rules.maxNameLength) errs.push(fieldErr.tooLong('metadata.name', rules.maxNameLength));
  }
  if (meta.generateName !== undefined && typeof meta.generateName !== 'string') {
    errs.push(fieldErr.typeInvalid('metadata.generateName', meta.generateName, 'metadata.generateName in body must be of type string'));
  }
  if (rules.namespaced) {
    const ns = meta.namespace;
    if (typeof ns !== 'string' || ns === '') errs.push(fieldErr.required('metadata.namespace'));
    else for (const e of dns1123LabelErrors(ns)) errs.push(fieldErr.invalid('metadata.namespace', ns, e));
  } else if (meta.namespace !== undefined && meta.namespace !== '') {
    errs.push(fieldErr.forbidden('metadata.namespace', 'not allowed on this type'));
  }
  errs.push(...labelErrors(meta.labels, 'metadata.labels'));
  errs.push(...annotationErrors(meta.annotations, 'metadata.annotations'));
  errs.push(...finalizerErrors(meta.finalizers));
  errs.push(...ownerReferenceErrors(meta.ownerReferences));
  return errs;
}

// ---------------------------------------------------------------------------------------
// JSON Schema (ajv), errors translated to Kubernetes' CRD validation wording

export type JsonSchema = Record<string, unknown>;

/** One shared compiler per registry; compile each schema once. */
export function createSchemaCompiler(): Ajv {
  return new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
}

/** `/spec/ports/0/name` → `spec.ports[0].name` */
export function pointerToField(pointer: string, prefix = ''): string {
  let out = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function valueAt(root: unknown, pointer: string): unknown {
  let cur = root;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** Turns ajv errors into Kubernetes-worded field errors; `root` is what was validated. */
export function ajvErrorsToFieldErrors(errors: readonly ErrorObject[] | null | undefined, root: unknown, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    const field = pointerToField(e.instancePath, prefix);
    const value = valueAt(root, e.instancePath);
    const where = field || '<root>';
    let fe: FieldError;
    switch (e.keyword) {
      case 'required': {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        fe = fieldErr.required(field ? `${field}.${missing}` : missing);
        break;
      }
      case 'type': {
        const want = String((e.params as { type: string | string[] }).type).split(',').filter((t) => t !== 'null').join(' or ');
        const actual = typeName(value);
        fe = fieldErr.typeInvalid(field, actual, `${where} in body must be of type ${want}: ${JSON.stringify(actual)}`);
        break;
      }
      case 'enum':
        fe = fieldErr.notSupported(field, value, ((e.params as { allowedValues: unknown[] }).allowedValues).map(String));
        break;
      case 'minimum':
        fe = fieldErr.invalid(field, value, `${where} in body should be greater than or equal to ${(e.params as { limit: number }).limit}`);
        break;
      case 'exclusiveMinimum':
        fe = fieldErr.invalid(field, value, `${where} in body should be greater than ${(e.params as { limit: number }).limit}`);
        break;
      case 'maximum':
        fe = fieldErr.invalid(field, value, `${where} in body should be less than or equal to ${(e.params as { limit: number }).limit}`);
        break;
      case 'pattern':
        fe = fieldErr.invalid(field, value, `${where} in body should match '${(e.params as { pattern: string }).pattern}'`);
        break;
      case 'maxLength':
        fe = fieldErr.tooLong(field, (e.params as { limit: number }).limit);
        break;
      case 'minLength':
        fe = fieldErr.invalid(field, value, `${where} in body should be at least ${(e.params as { limit: number }).limit} chars long`);
        break;
      case 'maxItems':
      case 'maxProperties':
        fe = fieldErr.tooMany(field, Array.isArray(value) ? value.length : value && typeof value === 'object' ? Object.keys(value).length : 0, (e.params as { limit: number }).limit);
        break;
      default:
        fe = fieldErr.invalid(field, value, `${where} ${e.message ?? 'is invalid'}`);
    }
    const key = `${fe.field}\u0000${fe.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(fe);
    }
  }
  return out;
}

/**
 * Compiles `schema` once; the returned function reports Kubernetes-worded errors.
 *
 * With `old` (the stored version, on an update), the top-level properties the update
 * left as they were (the same value: the store shares unchanged parts) are not checked
 * again, only those that changed — validation ratcheting, as Kubernetes does for CRDs
 * since 1.28, and what keeps a status write from re-checking a whole spec. When anything
 * is wrong, the whole object is checked, so the errors are those of a full check.
 */
export function schemaCheck(ajv: Ajv, schema: JsonSchema, prefix = ''): (value: unknown, old?: unknown) => FieldError[] {
  const validate: ValidateFunction = ajv.compile(schema);
  const full = (value: unknown): FieldError[] => (validate(value) ? [] : ajvErrorsToFieldErrors(validate.errors, value, prefix));
  const parts = topLevelParts(ajv, schema);
  if (!parts) return full;
  return (value, old) => {
    if (!isPlainObject(value) || !isPlainObject(old)) return full(value);
    for (const k of parts.required) if (value[k] === undefined) return full(value);
    for (const [k, check] of parts.properties) {
      const v = value[k];
      if (v === old[k] || v === undefined) continue;
      if (!check(v)) return full(value);
    }
    return [];
  };
}

/** A validator per top-level property, when the schema is only "an object with these properties". */
function topLevelParts(ajv: Ajv, schema: JsonSchema): { required: string[]; properties: [string, ValidateFunction][] } | undefined {
  const keywords = Object.keys(schema);
  if (keywords.some((k) => k !== 'type' && k !== 'required' && k !== 'properties') || schema.type !== 'object' || !isPlainObject(schema.properties)) return undefined;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  return { required, properties: Object.entries(schema.properties).map(([k, sub]) => [k, ajv.compile(sub as JsonSchema)]) };
}
