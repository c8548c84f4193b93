/**
 * The few non-Agones kinds the control plane serves because clients need them:
 * namespaces, configmaps and events (core v1) and leases (coordination.k8s.io/v1, for
 * leader election).
 */
import type { Ajv } from 'ajv';
import type { FieldGetter } from '../store/selectors.ts';
import type { KubeObject } from '../store/types.ts';
import { ALL_VERBS, type PrinterColumn, type ResourceType } from './types.ts';
import { fieldErr, isPlainObject, schemaCheck, type FieldError, type JsonSchema } from './validation.ts';

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

const configMapSchema: JsonSchema = {
  type: 'object',
  properties: {
    data: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    binaryData: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    immutable: { type: ['boolean', 'null'] },
  },
};

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

function configMapRules(cm: KubeObject, old: KubeObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const field of ['data', 'binaryData'] as const) {
    const m = cm[field];
    if (!isPlainObject(m)) continue;
    for (const [k, v] of Object.entries(m)) {
      if (k.length > 253 || !CONFIG_KEY.test(k)) {
        errs.push(fieldErr.invalid(`${field}[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
      }
      size += k.length + String(v).length;
    }
  }
  if (size > 1024 * 1024) errs.push(fieldErr.tooLong('data', 1024 * 1024));
  if (old && old.immutable === true) {
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
    if (!same(cm.data, old.data) || !same(cm.binaryData, old.binaryData)) {
      errs.push(fieldErr.forbidden('data', 'field is immutable when `immutable` is set'));
    }
    if (cm.immutable !== true) errs.push(fieldErr.forbidden('immutable', 'field is immutable when `immutable` is set'));
  }
  return errs;
}

const timestamp: JsonSchema = { type: ['string', 'null'] };

const leaseSchema: JsonSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        holderIdentity: { type: ['string', 'null'] },
        leaseDurationSeconds: { type: ['integer', 'null'], minimum: 1 },
        acquireTime: timestamp,
        renewTime: timestamp,
        leaseTransitions: { type: ['integer', 'null'], minimum: 0 },
        strategy: { type: ['string', 'null'] },
        preferredHolder: { type: ['string', 'null'] },
      },
    },
  },
};

const eventSchema: JsonSchema = {
  type: 'object',
  required: ['involvedObject'],
  properties: {
    involvedObject: {
      type: 'object',
      properties: {
        kind: { type: 'string' },
        namespace: { type: 'string' },
        name: { type: 'string' },
        uid: { type: 'string' },
        apiVersion: { type: 'string' },
        resourceVersion: { type: 'string' },
        fieldPath: { type: 'string' },
      },
    },
    reason: { type: 'string' },
    message: { type: 'string' },
    type: { type: 'string' },
    count: { type: 'integer' },
    firstTimestamp: timestamp,
    lastTimestamp: timestamp,
    eventTime: timestamp,
    source: { type: 'object', properties: { component: { type: 'string' }, host: { type: 'string' } } },
    reportingComponent: { type: 'string' },
    reportingInstance: { type: 'string' },
    action: { type: 'string' },
  },
};

const namespaceSchema: JsonSchema = {
  type: 'object',
  properties: {
    spec: { type: 'object', properties: { finalizers: { type: ['array', 'null'], items: { type: 'string' } } } },
    status: { type: 'object', properties: { phase: { type: 'string', enum: ['Active', 'Terminating'] } } },
  },
};

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function involved(o: KubeObject): Record<string, unknown> {
  return isPlainObject(o.involvedObject) ? o.involvedObject : {};
}

/** The fields `kubectl describe` and `kubectl get events --field-selector` use. */
const EVENT_FIELDS: Record<string, FieldGetter> = {
  'involvedObject.kind': (o) => str(involved(o).kind),
  'involvedObject.namespace': (o) => str(involved(o).namespace),
  'involvedObject.name': (o) => str(involved(o).name),
  'involvedObject.uid': (o) => str(involved(o).uid),
  'involvedObject.apiVersion': (o) => str(involved(o).apiVersion),
  'involvedObject.resourceVersion': (o) => str(involved(o).resourceVersion),
  'involvedObject.fieldPath': (o) => str(involved(o).fieldPath),
  reason: (o) => str(o.reason),
  reportingComponent: (o) => str(o.reportingComponent),
  source: (o) => str((isPlainObject(o.source) ? o.source : {}).component),
  type: (o) => str(o.type),
};

/** Kubernetes' duration.HumanDuration: `45s`, `3m20s`, `5h`, `2d3h`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function since(ts: unknown, now: number): string | null {
  if (typeof ts !== 'string' || ts === '') return null;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? null : humanDuration(now - t);
}

function eventLastSeen(o: KubeObject, now: number): string {
  const last = str(o.lastTimestamp) || str(o.eventTime) || o.metadata.creationTimestamp;
  const lastAge = since(last, now) ?? '<unknown>';
  const count = typeof o.count === 'number' ? o.count : 1;
  const firstAge = since(str(o.firstTimestamp), now);
  return count > 1 && firstAge ? `${lastAge} (x${count} over ${firstAge})` : lastAge;
}

export function coreResourceTypes(ajv: Ajv): ResourceType[] {
  const checkConfigMap = schemaCheck(ajv, configMapSchema);
  const checkLease = schemaCheck(ajv, leaseSchema);
  const checkEvent = schemaCheck(ajv, eventSchema);
  const checkNamespace = schemaCheck(ajv, namespaceSchema);
  return [
    {
      group: '',
      version: 'v1',
      plural: 'namespaces',
      singular: 'namespace',
      kind: 'Namespace',
      schema: namespaceSchema,
      listKind: 'NamespaceList',
      namespaced: false,
      shortNames: ['ns'],
      categories: [],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      subresources: { status: true },
      printerColumns: [{ name: 'Status', type: 'string', jsonPath: '.status.phase' }, AGE],
      persist: 'sync',
      stored: true,
      returnDeletedObject: true,
      nameRule: 'label',
      validate: (o) => checkNamespace(o),
      applyDefaults: (o, ctx) => {
        if (ctx.operation !== 'create') return;
        const spec = (isPlainObject(o.spec) ? o.spec : (o.spec = {})) as Record<string, unknown>;
        if (!Array.isArray(spec.finalizers)) spec.finalizers = ['kubernetes'];
        o.status = { phase: 'Active' };
        o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name ?? '' };
      },
    },
    {
      group: '',
      version: 'v1',
      plural: 'configmaps',
      singular: 'configmap',
      kind: 'ConfigMap',
      schema: configMapSchema,
      listKind: 'ConfigMapList',
      namespaced: true,
      shortNames: ['cm'],
      categories: [],
      verbs: ALL_VERBS,
      subresources: { status: false },
      printerColumns: [
        {
          name: 'Data',
          type: 'integer',
          value: (o) => Object.keys(isPlainObject(o.data) ? o.data : {}).length + Object.keys(isPlainObject(o.binaryData) ? o.binaryData : {}).length,
        },
        AGE,
      ],
      persist: 'sync',
      stored: true,
      returnDeletedObject: false,
      nameRule: 'subdomain',
      validate: (o, ctx) => {
        const errs = checkConfigMap(o);
        return errs.length > 0 ? errs : configMapRules(o, ctx.old);
      },
    },
    {
      group: '',
      version: 'v1',
      plural: 'events',
      singular: 'event',
      kind: 'Event',
      schema: eventSchema,
      listKind: 'EventList',
      namespaced: true,
      shortNames: ['ev'],
      categories: [],
      verbs: ALL_VERBS,
      subresources: { status: false },
      printerColumns: [
        { name: 'Last Seen', type: 'string', value: eventLastSeen },
        { name: 'Type', type: 'string', jsonPath: '.type' },
        { name: 'Reason', type: 'string', jsonPath: '.reason' },
        {
          name: 'Object',
          type: 'string',
          value: (o) => `${String(involved(o).kind ?? '').toLowerCase()}/${String(involved(o).name ?? '')}`,
        },
        { name: 'Subobject', type: 'string', jsonPath: '.involvedObject.fieldPath', priority: 1 },
        {
          name: 'Source',
          type: 'string',
          priority: 1,
          value: (o) => {
            const s = isPlainObject(o.source) ? o.source : {};
            return [s.component, s.host].filter((x) => typeof x === 'string' && x).join(', ') || str(o.reportingComponent) || '';
          },
        },
        { name: 'Message', type: 'string', jsonPath: '.message' },
        { name: 'First Seen', type: 'string', priority: 1, value: (o, now) => since(str(o.firstTimestamp) ?? o.metadata.creationTimestamp, now) ?? '' },
        { name: 'Count', type: 'integer', priority: 1, jsonPath: '.count' },
        { name: 'Name', type: 'string', priority: 1, jsonPath: '.metadata.name' },
      ],
      noNameColumn: true,
      persist: false,
      stored: true,
      returnDeletedObject: false,
      nameRule: 'subdomain',
      fieldSelectors: EVENT_FIELDS,
      validate: (o) => checkEvent(o),
      retention: { maxAgeSeconds: 3600, maxObjects: 20_000 },
    },
    {
      group: 'coordination.k8s.io',
      version: 'v1',
      plural: 'leases',
      singular: 'lease',
      kind: 'Lease',
      schema: leaseSchema,
      listKind: 'LeaseList',
      namespaced: true,
      shortNames: [],
      categories: [],
      verbs: ALL_VERBS,
      subresources: { status: false },
      printerColumns: [{ name: 'Holder', type: 'string', jsonPath: '.spec.holderIdentity' }, AGE],
      persist: 'sync',
      stored: true,
      returnDeletedObject: false,
      nameRule: 'subdomain',
      validate: (o) => checkLease(o),
    },
  ];
}
