/**
 * The Agones kinds: GameServer, Fleet, GameServerSet (agones.dev/v1), FleetAutoscaler
 * (autoscaling.agones.dev/v1), GameServerAllocation (allocation.agones.dev/v1, create
 * only). Validation = the CRD schema parts in agones-schemas.ts plus the rules of Agones'
 * validating webhooks; defaulting = Agones' mutating webhooks (on create, as there).
 */
import type { Ajv } from 'ajv';
import {
  AGONES_GROUP,
  AGONES_VERSION,
  ALLOCATION_GROUP,
  AUTOSCALING_GROUP,
  HEALTH_DEFAULTS,
} from '../../agones/types.ts';
import { labelValueErrors, qualifiedNameErrors } from '../../kube/names.ts';
import type { KubeObject } from '../store/types.ts';
import {
  fleetAutoscalerSchema,
  fleetSchema,
  gameServerAllocationSchema,
  gameServerSchema,
  gameServerSetSchema,
} from './agones-schemas.ts';
import { ALL_VERBS, type PrinterColumn, type ResourceType, type ValidationContext } from './types.ts';
import { annotationErrors, fieldErr, isPlainObject, labelErrors, schemaCheck, type FieldError } from './validation.ts';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return isPlainObject(v) ? v : undefined;
}

function ensureObj(parent: Obj, key: string): Obj {
  const cur = parent[key];
  if (isPlainObject(cur)) return cur;
  const fresh: Obj = {};
  parent[key] = fresh;
  return fresh;
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

// ---------------------------------------------------------------------------------------
// Defaults

/**
 * Agones' `GameServerSpec.ApplyDefaults`: the container when there is one, port policy
 * Dynamic / protocol UDP / range "default" / container, health 5 s / 3 / 5 s unless
 * disabled, scheduling Packed, SDK server Info / 9357 / 9358, eviction Never.
 */
export function applyGameServerSpecDefaults(spec: Obj): void {
  const containers = obj(obj(spec.template)?.spec)?.containers;
  if (Array.isArray(containers) && containers.length === 1) {
    const name = obj(containers[0])?.name;
    if (typeof name === 'string' && !spec.container) spec.container = name;
  }
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports) {
      if (!isPlainObject(p)) continue;
      if (!p.portPolicy) p.portPolicy = 'Dynamic';
      if (!p.range) p.range = 'default';
      if (!p.protocol) p.protocol = 'UDP';
      if (!p.container && typeof spec.container === 'string' && spec.container) p.container = spec.container;
    }
  }
  const health = ensureObj(spec, 'health');
  // As in Go: a missing or non-positive number is replaced; a wrong type is left for validation.
  const unset = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'number' && v <= 0);
  if (health.disabled !== true) {
    if (unset(health.periodSeconds)) health.periodSeconds = HEALTH_DEFAULTS.periodSeconds;
    if (unset(health.failureThreshold)) health.failureThreshold = HEALTH_DEFAULTS.failureThreshold;
    if (unset(health.initialDelaySeconds)) health.initialDelaySeconds = HEALTH_DEFAULTS.initialDelaySeconds;
    if (health.disabled === undefined) health.disabled = false;
  }
  if (!spec.scheduling) spec.scheduling = 'Packed';
  const sdk = ensureObj(spec, 'sdkServer');
  if (!sdk.logLevel) sdk.logLevel = 'Info';
  if (!sdk.grpcPort) sdk.grpcPort = 9357;
  if (!sdk.httpPort) sdk.httpPort = 9358;
  const eviction = ensureObj(spec, 'eviction');
  if (!eviction.safe) eviction.safe = 'Never';
}

/** Agones' `Fleet.ApplyDefaults`: RollingUpdate 25%/25%, Packed, replicas 0. */
export function applyFleetDefaults(f: KubeObject): void {
  const spec = ensureObj(f, 'spec');
  if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 0;
  if (!spec.scheduling) spec.scheduling = 'Packed';
  const strategy = ensureObj(spec, 'strategy');
  if (!strategy.type) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = ensureObj(strategy, 'rollingUpdate');
    if (ru.maxSurge === undefined || ru.maxSurge === null) ru.maxSurge = '25%';
    if (ru.maxUnavailable === undefined || ru.maxUnavailable === null) ru.maxUnavailable = '25%';
  }
  if (Array.isArray(spec.priorities)) {
    for (const p of spec.priorities) if (isPlainObject(p) && !p.order) p.order = 'Ascending';
  }
}

/** Agones' `FleetAutoscaler.ApplyDefaults`: sync FixedInterval every 30 s. */
export function applyFleetAutoscalerDefaults(fas: KubeObject): void {
  const spec = ensureObj(fas, 'spec');
  const sync = ensureObj(spec, 'sync');
  if (!sync.type) sync.type = 'FixedInterval';
  const fixed = ensureObj(sync, 'fixedInterval');
  if (!fixed.seconds) fixed.seconds = 30;
}

/** Agones' `GameServerAllocation.ApplyDefaults`: Packed; each selector's state Ready. */
export function applyGameServerAllocationDefaults(gsa: KubeObject): void {
  const spec = ensureObj(gsa, 'spec');
  if (!spec.scheduling) spec.scheduling = 'Packed';
  if (Array.isArray(spec.priorities)) {
    for (const p of spec.priorities) if (isPlainObject(p) && !p.order) p.order = 'Ascending';
  }
  if (Array.isArray(spec.selectors) && spec.selectors.length > 0) {
    spec.selectors.forEach(defaultSelectorState);
  } else {
    defaultSelectorState(ensureObj(spec, 'required'));
    if (Array.isArray(spec.preferred)) spec.preferred.forEach(defaultSelectorState);
  }
}

function defaultSelectorState(s: unknown): void {
  if (isPlainObject(s) && !s.gameServerState) s.gameServerState = 'Ready';
}

/**
 * The selectors an allocation tries, in order: `spec.selectors`, or (the older form)
 * `spec.preferred` then `spec.required` — Agones' `GameServerAllocation.Converter`.
 */
export function allocationSelectors(gsa: KubeObject): Obj[] {
  const spec = obj(gsa.spec) ?? {};
  if (Array.isArray(spec.selectors) && spec.selectors.length > 0) return spec.selectors.filter(isPlainObject);
  const out: Obj[] = [];
  if (Array.isArray(spec.preferred)) out.push(...spec.preferred.filter(isPlainObject));
  out.push(obj(spec.required) ?? {});
  return out;
}

// ---------------------------------------------------------------------------------------
// Webhook rules (Agones' Validate methods), on top of the schema

/** `GameServerSpec.Validate` for a non-dev GameServer, with field paths under `at`. */
export function gameServerSpecWebhookErrors(spec: Obj, at: string): FieldError[] {
  const errs: FieldError[] = [];
  const template = obj(spec.template);
  const containers = (obj(template?.spec)?.containers as unknown[] | undefined) ?? [];
  const names = new Set(containers.map((c) => obj(c)?.name).filter((n): n is string => typeof n === 'string'));
  const container = typeof spec.container === 'string' ? spec.container : '';
  if (containers.length === 0) {
    errs.push(fieldErr.required(`${at}.template.spec.containers`, 'the pod template needs a container to run'));
  } else if (container === '' && containers.length > 1) {
    errs.push(fieldErr.required(`${at}.container`, 'Container is required when using multiple containers in the pod template'));
  } else if (container !== '' && !names.has(container)) {
    errs.push(fieldErr.invalid(`${at}.container`, container, `Could not find a container named ${container}`));
  }
  if (Array.isArray(spec.ports)) {
    spec.ports.forEach((raw, i) => {
      const p = obj(raw);
      if (!p) return;
      const path = `${at}.ports[${i}]`;
      const policy = p.portPolicy ?? 'Dynamic';
      const containerPort = typeof p.containerPort === 'number' ? p.containerPort : 0;
      const hostPort = typeof p.hostPort === 'number' ? p.hostPort : 0;
      if ((policy === 'Dynamic' || policy === 'Static') && containerPort <= 0) {
        errs.push(fieldErr.required(`${path}.containerPort`, 'ContainerPort must be defined for Dynamic and Static PortPolicies'));
      }
      if (policy === 'Passthrough' && containerPort > 0) {
        errs.push(fieldErr.required(`${path}.containerPort`, 'ContainerPort cannot be specified with Passthrough PortPolicy'));
      }
      if (hostPort > 0 && (policy === 'Dynamic' || policy === 'Passthrough')) {
        errs.push(fieldErr.forbidden(`${path}.hostPort`, 'HostPort cannot be specified with a Dynamic or Passthrough PortPolicy'));
      }
      if (typeof p.container === 'string' && p.container !== '' && container !== '' && !names.has(p.container)) {
        errs.push(fieldErr.invalid(`${path}.container`, p.container, 'Container must be empty or the name of a container in the pod template'));
      }
    });
  }
  const tmeta = obj(template?.metadata);
  if (tmeta) {
    errs.push(...labelErrors(tmeta.labels, `${at}.template.metadata.labels`));
    errs.push(...annotationErrors(tmeta.annotations, `${at}.template.metadata.annotations`));
  }
  return errs;
}

function intOrPercent(v: unknown): { percent: boolean; value: number } | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? { percent: false, value: v } : undefined;
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    return m ? { percent: true, value: Number(m[1]) } : undefined;
  }
  return undefined;
}

function rollingUpdateErrors(v: unknown, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  const parsed = intOrPercent(v);
  if (typeof v === 'string') {
    if (!parsed || parsed.value < 1 || parsed.value > 99) return [fieldErr.invalid(path, v, 'must be between 1% and 99%')];
  } else if (!parsed || parsed.value < 1) {
    return [fieldErr.invalid(path, v, 'must be at least 1')];
  }
  return [];
}

function fleetLikeWebhookErrors(o: KubeObject, withStrategy: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj(o.spec) ?? {};
  if (withStrategy) {
    const strategy = obj(spec.strategy) ?? {};
    if (strategy.type === 'RollingUpdate') {
      const ru = obj(strategy.rollingUpdate) ?? {};
      errs.push(...rollingUpdateErrors(ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
      errs.push(...rollingUpdateErrors(ru.maxSurge, 'spec.strategy.rollingUpdate.maxSurge'));
    }
  }
  const template = obj(spec.template) ?? {};
  const gsSpec = structuredClone(obj(template.spec) ?? {});
  applyGameServerSpecDefaults(gsSpec);
  errs.push(...gameServerSpecWebhookErrors(gsSpec, 'spec.template.spec'));
  const tmeta = obj(template.metadata);
  if (tmeta) {
    errs.push(...labelErrors(tmeta.labels, 'spec.template.metadata.labels'));
    errs.push(...annotationErrors(tmeta.annotations, 'spec.template.metadata.annotations'));
  }
  const overflow = obj(spec.allocationOverflow);
  if (overflow) {
    errs.push(...labelErrors(overflow.labels, 'spec.allocationOverflow.labels'));
    errs.push(...annotationErrors(overflow.annotations, 'spec.allocationOverflow.annotations'));
  }
  return errs;
}

function bufferPolicyErrors(b: Obj | undefined, at: string): FieldError[] {
  if (!b) return [fieldErr.required(at, 'buffer policy config params are missing')];
  const errs: FieldError[] = [];
  const min = typeof b.minReplicas === 'number' ? b.minReplicas : 0;
  const max = typeof b.maxReplicas === 'number' ? b.maxReplicas : 0;
  if (min > max) errs.push(fieldErr.invalid(`${at}.minReplicas`, min, 'minReplicas should be smaller than maxReplicas'));
  const size = b.bufferSize;
  if (typeof size === 'number') {
    if (size <= 0) errs.push(fieldErr.invalid(`${at}.bufferSize`, size, 'must be greater than or equal to 0'));
    if (max < size) errs.push(fieldErr.invalid(`${at}.maxReplicas`, max, 'maxReplicas should be bigger than or equal to bufferSize'));
    if (min !== 0 && min < size) errs.push(fieldErr.invalid(`${at}.minReplicas`, min, 'minReplicas should be bigger than or equal to bufferSize'));
  } else {
    const parsed = intOrPercent(size);
    if (!parsed || !parsed.percent || parsed.value < 1 || parsed.value > 99) {
      errs.push(fieldErr.invalid(`${at}.bufferSize`, size ?? '', 'bufferSize should be between 1% and 99%'));
    }
    if (min < 1) errs.push(fieldErr.invalid(`${at}.minReplicas`, min, 'must be greater than or equal to 1 when bufferSize is a percentage'));
  }
  return errs;
}

function webhookPolicyErrors(w: Obj | undefined, at: string): FieldError[] {
  if (!w) return [fieldErr.required(at, 'webhook policy config params are missing')];
  const errs: FieldError[] = [];
  const hasUrl = typeof w.url === 'string';
  const hasService = isPlainObject(w.service);
  if (!hasUrl && !hasService) errs.push(fieldErr.required(at, 'url should be provided'));
  if (hasUrl && hasService) errs.push(fieldErr.duplicate(`${at}.url`, 'service and url cannot be used simultaneously'));
  if (hasUrl) {
    try {
      new URL(w.url as string);
    } catch {
      errs.push(fieldErr.invalid(`${at}.url`, w.url, 'url is not valid'));
    }
  }
  return errs;
}

function fleetAutoscalerWebhookErrors(fas: KubeObject): FieldError[] {
  const spec = obj(fas.spec) ?? {};
  const policy = obj(spec.policy) ?? {};
  const errs: FieldError[] = [];
  if (policy.type === 'Buffer') errs.push(...bufferPolicyErrors(obj(policy.buffer), 'spec.policy.buffer'));
  if (policy.type === 'Webhook') errs.push(...webhookPolicyErrors(obj(policy.webhook), 'spec.policy.webhook'));
  const sync = obj(spec.sync);
  if (sync) {
    const fixed = obj(sync.fixedInterval);
    if (!fixed) errs.push(fieldErr.required('spec.sync.fixedInterval', 'fixedInterval sync config params are missing'));
  }
  return errs;
}

function selectorErrors(sel: Obj, at: string): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...labelErrors(sel.matchLabels, `${at}.matchLabels`));
  if (Array.isArray(sel.matchExpressions)) {
    sel.matchExpressions.forEach((raw, i) => {
      const e = obj(raw);
      if (!e) return;
      const path = `${at}.matchExpressions[${i}]`;
      if (typeof e.key === 'string') for (const m of qualifiedNameErrors(e.key)) errs.push(fieldErr.invalid(`${path}.key`, e.key, m));
      const values = Array.isArray(e.values) ? e.values : [];
      if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
        errs.push(fieldErr.required(`${path}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\''));
      }
      if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
        errs.push(fieldErr.forbidden(`${path}.values`, 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\''));
      }
      values.forEach((v, j) => {
        if (typeof v === 'string') for (const m of labelValueErrors(v)) errs.push(fieldErr.invalid(`${path}.values[${j}]`, v, m));
      });
    });
  }
  const players = obj(sel.players);
  if (players && typeof players.minAvailable === 'number' && typeof players.maxAvailable === 'number' && players.minAvailable > players.maxAvailable) {
    errs.push(fieldErr.invalid(`${at}.players.minAvailable`, players.minAvailable, 'minAvailable cannot be greater than maxAvailable'));
  }
  return errs;
}

function allocationWebhookErrors(gsa: KubeObject): FieldError[] {
  const spec = obj(gsa.spec) ?? {};
  const errs: FieldError[] = [];
  const req = obj(spec.required);
  if (req) errs.push(...selectorErrors(req, 'spec.required'));
  for (const key of ['preferred', 'selectors'] as const) {
    const list = spec[key];
    if (Array.isArray(list)) list.forEach((s, i) => isPlainObject(s) && errs.push(...selectorErrors(s, `spec.${key}[${i}]`)));
  }
  const meta = obj(spec.metadata);
  if (meta) {
    errs.push(...labelErrors(meta.labels, 'spec.metadata.labels'));
    errs.push(...annotationErrors(meta.annotations, 'spec.metadata.annotations'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// Resource types

const gameServerPrinterColumns: PrinterColumn[] = [
  { name: 'State', type: 'string', jsonPath: '.status.state' },
  { name: 'Address', type: 'string', jsonPath: '.status.address' },
  { name: 'Port', type: 'string', jsonPath: '.status.ports[0].port' },
  { name: 'Node', type: 'string', jsonPath: '.status.nodeName' },
  AGE,
];

const fleetPrinterColumns: PrinterColumn[] = [
  { name: 'Scheduling', type: 'string', jsonPath: '.spec.scheduling' },
  { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas' },
  { name: 'Current', type: 'integer', jsonPath: '.status.replicas' },
  { name: 'Allocated', type: 'integer', jsonPath: '.status.allocatedReplicas' },
  { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
  AGE,
];

/** The Agones kinds, with validators compiled by `ajv`. */
export function agonesResourceTypes(ajv: Ajv): ResourceType[] {
  const checkGameServer = schemaCheck(ajv, gameServerSchema);
  const checkFleet = schemaCheck(ajv, fleetSchema);
  const checkGameServerSet = schemaCheck(ajv, gameServerSetSchema);
  const checkFleetAutoscaler = schemaCheck(ajv, fleetAutoscalerSchema);
  const checkAllocation = schemaCheck(ajv, gameServerAllocationSchema);
  const withSchemaFirst = (schema: (o: unknown, old?: unknown) => FieldError[], rules: (o: KubeObject) => FieldError[], onlyOnCreate = false) =>
    (o: KubeObject, ctx: ValidationContext): FieldError[] => {
      const errs = schema(o, ctx.old);
      // Agones' webhook runs only on objects that passed the schema, and for GameServers only
      // on create: the controllers then write hostPort on Dynamic ports, which the create rules forbid.
      if (errs.length > 0 || (onlyOnCreate && ctx.operation !== 'create')) return errs;
      // The rules read the spec and the name only: an update that kept both (a status write) passed them before.
      if (ctx.old && o.spec === ctx.old.spec && o.metadata.name === ctx.old.metadata.name) return errs;
      return rules(o);
    };
  const nameMax63 = (o: KubeObject): FieldError[] =>
    typeof o.metadata.name === 'string' && o.metadata.name.length > 63 ? [fieldErr.tooLong('metadata.name', 63)] : [];

  return [
    {
      group: AGONES_GROUP,
      version: AGONES_VERSION,
      plural: 'gameservers',
      singular: 'gameserver',
      kind: 'GameServer',
      schema: gameServerSchema,
      listKind: 'GameServerList',
      namespaced: true,
      shortNames: ['gs'],
      categories: [],
      verbs: ALL_VERBS,
      // Agones' GameServer CRD has no status subresource (so allocation can change labels
      // and state in one write); it has a scale subresource pinned to 1 for PDBs.
      subresources: { status: false, scale: { specReplicasPath: '.spec.immutableReplicas', statusReplicasPath: '.status.immutableReplicas' } },
      printerColumns: gameServerPrinterColumns,
      persist: 'batched',
      stored: true,
      returnDeletedObject: true,
      nameRule: 'subdomain',
      validate: withSchemaFirst(checkGameServer, (o) => [...nameMax63(o), ...gameServerSpecWebhookErrors(obj(o.spec) ?? {}, 'spec')], true),
      applyDefaults: (o, ctx) => {
        if (ctx.operation === 'create') applyGameServerSpecDefaults(ensureObj(o, 'spec'));
      },
    },
    {
      group: AGONES_GROUP,
      version: AGONES_VERSION,
      plural: 'fleets',
      singular: 'fleet',
      kind: 'Fleet',
      schema: fleetSchema,
      listKind: 'FleetList',
      namespaced: true,
      shortNames: ['flt'],
      categories: [],
      verbs: ALL_VERBS,
      subresources: { status: true, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.labelSelector' } },
      printerColumns: fleetPrinterColumns,
      persist: 'sync',
      stored: true,
      returnDeletedObject: true,
      nameRule: 'subdomain',
      validate: withSchemaFirst(checkFleet, (o) => [...nameMax63(o), ...fleetLikeWebhookErrors(o, true)]),
      applyDefaults: (o, ctx) => {
        if (ctx.operation === 'create') applyFleetDefaults(o);
      },
    },
    {
      group: AGONES_GROUP,
      version: AGONES_VERSION,
      plural: 'gameserversets',
      singular: 'gameserverset',
      kind: 'GameServerSet',
      schema: gameServerSetSchema,
      listKind: 'GameServerSetList',
      namespaced: true,
      shortNames: ['gss', 'gsset'],
      categories: [],
      verbs: ALL_VERBS,
      subresources: { status: true, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.labelSelector' } },
      printerColumns: fleetPrinterColumns,
      persist: 'batched',
      stored: true,
      returnDeletedObject: true,
      nameRule: 'subdomain',
      validate: withSchemaFirst(checkGameServerSet, (o) => [...nameMax63(o), ...fleetLikeWebhookErrors(o, false)]),
      applyDefaults: (o, ctx) => {
        if (ctx.operation !== 'create') return;
        const spec = ensureObj(o, 'spec');
        if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 0;
        if (!spec.scheduling) spec.scheduling = 'Packed';
      },
    },
    {
      group: AUTOSCALING_GROUP,
      version: 'v1',
      plural: 'fleetautoscalers',
      singular: 'fleetautoscaler',
      kind: 'FleetAutoscaler',
      schema: fleetAutoscalerSchema,
      listKind: 'FleetAutoscalerList',
      namespaced: true,
      shortNames: ['fas'],
      categories: [],
      verbs: ALL_VERBS,
      subresources: { status: true },
      printerColumns: [
        { name: 'Fleet', type: 'string', jsonPath: '.spec.fleetName' },
        { name: 'Policy', type: 'string', jsonPath: '.spec.policy.type' },
        { name: 'Current', type: 'integer', jsonPath: '.status.currentReplicas' },
        { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicas' },
        { name: 'Able To Scale', type: 'boolean', jsonPath: '.status.ableToScale', priority: 1 },
        { name: 'Last Scale', type: 'date', jsonPath: '.status.lastScaleTime', priority: 1 },
        AGE,
      ],
      persist: 'sync',
      stored: true,
      returnDeletedObject: true,
      nameRule: 'subdomain',
      validate: withSchemaFirst(checkFleetAutoscaler, fleetAutoscalerWebhookErrors),
      applyDefaults: (o, ctx) => {
        if (ctx.operation === 'create') applyFleetAutoscalerDefaults(o);
      },
    },
    {
      group: ALLOCATION_GROUP,
      version: 'v1',
      plural: 'gameserverallocations',
      singular: 'gameserverallocation',
      kind: 'GameServerAllocation',
      schema: gameServerAllocationSchema,
      listKind: 'GameServerAllocationList',
      namespaced: true,
      shortNames: ['gsa'],
      categories: [],
      verbs: ['create'],
      subresources: { status: false },
      printerColumns: [
        { name: 'State', type: 'string', jsonPath: '.status.state' },
        { name: 'GameServer', type: 'string', jsonPath: '.status.gameServerName' },
      ],
      persist: false,
      stored: false,
      returnDeletedObject: true,
      nameRule: 'subdomain',
      validate: withSchemaFirst(checkAllocation, allocationWebhookErrors),
      applyDefaults: applyGameServerAllocationDefaults,
    },
  ];
}
