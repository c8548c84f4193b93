/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers and table cases are read loosely here */
/**
 * Our validation against the real Agones CRD schemas (../shared/agones/crds, read as data,
 * checked with ajv): every case says who rejects it in Agones. `crd`: the CRD's OpenAPI
 * schema (ajv) and our validator must both reject, naming the same field. `webhook`:
 * Agones' validating webhook rejects what the schema accepts; the CRD must accept, we must
 * reject. `apiserver`: metadata rules of the API server itself (not in the CRD). `valid`:
 * both accept.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import YAML from 'yaml';
import { isApiError } from '../store/errors.ts';
import { openStore } from '../store/open-store.ts';
import type { KubeObject } from '../store/types.ts';
import { RESOURCES } from './registry.ts';
import { sampleFleet, sampleFleetAutoscaler, sampleGameServer } from './testing.ts';
import { pointerToField } from './validation.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const crdDir = path.resolve(repoRoot, '../shared/agones/crds');
const haveCrds = fs.existsSync(crdDir);

/** OpenAPI v3.0 (structural, as in CRDs) → JSON Schema draft-07 for ajv. */
function crdToJsonSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(crdToJsonSchema);
  if (typeof s !== 'object' || s === null) return s;
  const o = s as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'nullable' || k === 'exclusiveMinimum' || k === 'exclusiveMaximum') continue;
    out[k] = k === 'properties' || k === 'definitions'
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([p, ps]) => [p, crdToJsonSchema(ps)]))
      : crdToJsonSchema(v);
  }
  if (o.nullable === true && typeof o.type === 'string') out.type = [o.type, 'null'];
  if (o.exclusiveMinimum === true && typeof o.minimum === 'number') {
    out.exclusiveMinimum = o.minimum;
    delete out.minimum;
  }
  return out;
}

function loadCrd(file: string): ValidateFunction {
  const crd = YAML.parse(fs.readFileSync(path.join(crdDir, file), 'utf8')) as { spec: { versions: { schema: { openAPIV3Schema: unknown } }[] } };
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  return ajv.compile(crdToJsonSchema(crd.spec.versions[0]!.schema.openAPIV3Schema) as object);
}

type Who = 'valid' | 'crd' | 'webhook' | 'apiserver';
interface Case {
  name: string;
  who: Who;
  obj: KubeObject;
}

function edit(base: KubeObject, fn: (o: KubeObject & { spec: Record<string, any> }) => void): KubeObject {
  const o = structuredClone(base) as KubeObject & { spec: Record<string, any> };
  fn(o);
  return o;
}

const gs = sampleGameServer('gs');
const gsCases: Case[] = [
  { name: 'the sample', who: 'valid', obj: gs },
  { name: 'Static port with hostPort', who: 'valid', obj: edit(gs, (o) => (o.spec.ports = [{ name: 'p', portPolicy: 'Static', containerPort: 7000, hostPort: 7000 }])) },
  { name: 'Passthrough without containerPort', who: 'valid', obj: edit(gs, (o) => (o.spec.ports = [{ name: 'p', portPolicy: 'Passthrough' }])) },
  { name: 'health disabled', who: 'valid', obj: edit(gs, (o) => (o.spec.health = { disabled: true })) },
  { name: 'scheduling Distributed', who: 'valid', obj: edit(gs, (o) => (o.spec.scheduling = 'Distributed')) },
  { name: 'counters and lists', who: 'valid', obj: edit(gs, (o) => ((o.spec.counters = { rooms: { count: 1, capacity: 10 } }), (o.spec.lists = { players: { capacity: 10, values: ['a'] } }))) },
  { name: 'ports null', who: 'valid', obj: edit(gs, (o) => (o.spec.ports = null)) },
  { name: 'unknown spec field passes through', who: 'valid', obj: edit(gs, (o) => (o.spec.somethingNew = { a: 1 })) },
  { name: 'status state Ready', who: 'valid', obj: edit(gs, (o) => (o.status = { state: 'Ready', address: '127.0.0.1', ports: [{ name: 'web', port: 7001 }] })) },
  { name: 'portPolicy enum', who: 'crd', obj: edit(gs, (o) => (o.spec.ports[0].portPolicy = 'Bogus')) },
  { name: 'protocol enum', who: 'crd', obj: edit(gs, (o) => (o.spec.ports[0].protocol = 'SCTP')) },
  { name: 'containerPort 0', who: 'crd', obj: edit(gs, (o) => (o.spec.ports[0].containerPort = 0)) },
  { name: 'containerPort 70000', who: 'crd', obj: edit(gs, (o) => (o.spec.ports[0].containerPort = 70000)) },
  { name: 'containerPort a string', who: 'crd', obj: edit(gs, (o) => (o.spec.ports[0].containerPort = '7860')) },
  { name: 'hostPort -1', who: 'crd', obj: edit(gs, (o) => (o.spec.ports = [{ name: 'p', portPolicy: 'Static', containerPort: 1, hostPort: -1 }])) },
  { name: 'health.periodSeconds -1 (Agones defaults it to 5)', who: 'valid', obj: edit(gs, (o) => (o.spec.health = { periodSeconds: -1 })) },
  { name: 'sdkServer grpcPort 0 (Agones defaults it to 9357)', who: 'valid', obj: edit(gs, (o) => (o.spec.sdkServer = { grpcPort: 0 })) },
  { name: 'health.periodSeconds -1 with health disabled', who: 'crd', obj: edit(gs, (o) => (o.spec.health = { disabled: true, periodSeconds: -1 })) },
  { name: 'health.failureThreshold 0 (with others set)', who: 'crd', obj: edit(gs, (o) => (o.spec.health = { disabled: true, failureThreshold: 0 })) },
  { name: 'health.initialDelaySeconds a string', who: 'crd', obj: edit(gs, (o) => (o.spec.health = { initialDelaySeconds: 'five' })) },
  { name: 'scheduling enum', who: 'crd', obj: edit(gs, (o) => (o.spec.scheduling = 'Spread')) },
  { name: 'container pattern', who: 'crd', obj: edit(gs, (o) => ((o.spec.container = 'Web_UI'), (o.spec.template.spec.containers[0].name = 'Web_UI'))) },
  { name: 'spec missing', who: 'crd', obj: { apiVersion: 'agones.dev/v1', kind: 'GameServer', metadata: { name: 'gs' } } },
  { name: 'spec.template missing', who: 'crd', obj: edit(gs, (o) => delete o.spec.template) },
  { name: 'containers missing', who: 'crd', obj: edit(gs, (o) => (o.spec.template = { spec: {} })) },
  { name: 'container without name', who: 'crd', obj: edit(gs, (o) => (o.spec.template.spec.containers = [{ image: 'x' }])) },
  { name: 'status.state enum', who: 'crd', obj: edit(gs, (o) => (o.status = { state: 'Running' })) },
  { name: 'lists capacity > 1000', who: 'crd', obj: edit(gs, (o) => (o.spec.lists = { p: { capacity: 2000 } })) },
  { name: 'counters count -1', who: 'crd', obj: edit(gs, (o) => (o.spec.counters = { r: { count: -1 } })) },
  { name: 'sdkServer grpcPort 70000', who: 'crd', obj: edit(gs, (o) => (o.spec.sdkServer = { grpcPort: 70000 })) },
  { name: 'eviction.safe enum', who: 'crd', obj: edit(gs, (o) => (o.spec.eviction = { safe: 'Sometimes' })) },
  { name: 'Dynamic with hostPort', who: 'webhook', obj: edit(gs, (o) => (o.spec.ports = [{ name: 'p', containerPort: 7000, hostPort: 7000 }])) },
  { name: 'Static without containerPort', who: 'webhook', obj: edit(gs, (o) => (o.spec.ports = [{ name: 'p', portPolicy: 'Static', hostPort: 7000 }])) },
  { name: 'Passthrough with containerPort', who: 'webhook', obj: edit(gs, (o) => (o.spec.ports = [{ name: 'p', portPolicy: 'Passthrough', containerPort: 7000 }])) },
  { name: 'two containers, no spec.container', who: 'webhook', obj: edit(gs, (o) => o.spec.template.spec.containers.push({ name: 'sidecar' })) },
  { name: 'spec.container names no container', who: 'webhook', obj: edit(gs, (o) => (o.spec.container = 'other')) },
  { name: 'name longer than 63', who: 'webhook', obj: edit(gs, (o) => (o.metadata.name = 'g'.repeat(64))) },
  { name: 'name not a DNS subdomain', who: 'apiserver', obj: edit(gs, (o) => (o.metadata.name = 'Bad_Name')) },
  { name: 'label value with a space', who: 'apiserver', obj: edit(gs, (o) => (o.metadata.labels = { a: 'has space' })) },
  { name: 'label key with two slashes', who: 'apiserver', obj: edit(gs, (o) => (o.metadata.labels = { 'a/b/c': 'x' })) },
  { name: 'annotation key invalid', who: 'apiserver', obj: edit(gs, (o) => (o.metadata.annotations = { 'not valid!': 'x' })) },
];

const fleet = sampleFleet('f');
const fleetCases: Case[] = [
  { name: 'the sample', who: 'valid', obj: fleet },
  { name: 'replicas 0', who: 'valid', obj: edit(fleet, (o) => (o.spec.replicas = 0)) },
  { name: 'strategy Recreate', who: 'valid', obj: edit(fleet, (o) => (o.spec.strategy = { type: 'Recreate' })) },
  { name: 'rollingUpdate int and percent', who: 'valid', obj: edit(fleet, (o) => (o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '50%' } })) },
  { name: 'priorities', who: 'valid', obj: edit(fleet, (o) => (o.spec.priorities = [{ type: 'Counter', key: 'rooms', order: 'Descending' }])) },
  { name: 'allocationOverflow', who: 'valid', obj: edit(fleet, (o) => (o.spec.allocationOverflow = { labels: { a: 'b' }, annotations: { c: 'd' } })) },
  { name: 'replicas -1', who: 'crd', obj: edit(fleet, (o) => (o.spec.replicas = -1)) },
  { name: 'replicas 1.5', who: 'crd', obj: edit(fleet, (o) => (o.spec.replicas = 1.5)) },
  { name: 'replicas "3"', who: 'crd', obj: edit(fleet, (o) => (o.spec.replicas = '3')) },
  { name: 'strategy.type enum', who: 'crd', obj: edit(fleet, (o) => (o.spec.strategy = { type: 'BlueGreen' })) },
  { name: 'scheduling enum', who: 'crd', obj: edit(fleet, (o) => (o.spec.scheduling = 'Spread')) },
  { name: 'template missing', who: 'crd', obj: edit(fleet, (o) => delete o.spec.template) },
  { name: 'template.spec missing', who: 'crd', obj: edit(fleet, (o) => delete o.spec.template.spec) },
  { name: 'template port policy enum', who: 'crd', obj: edit(fleet, (o) => (o.spec.template.spec.ports[0].portPolicy = 'x')) },
  { name: 'template health type', who: 'crd', obj: edit(fleet, (o) => (o.spec.template.spec.health = { periodSeconds: '5' })) },
  { name: 'priorities type enum', who: 'crd', obj: edit(fleet, (o) => (o.spec.priorities = [{ type: 'Foo', key: 'k' }])) },
  { name: 'template labels not strings', who: 'crd', obj: edit(fleet, (o) => (o.spec.template.metadata.labels = { a: 1 })) },
  { name: 'maxSurge 0%', who: 'webhook', obj: edit(fleet, (o) => (o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%' } })) },
  { name: 'maxUnavailable 150%', who: 'webhook', obj: edit(fleet, (o) => (o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } })) },
  { name: 'maxSurge 0', who: 'webhook', obj: edit(fleet, (o) => (o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } })) },
  { name: 'template Dynamic port with hostPort', who: 'webhook', obj: edit(fleet, (o) => (o.spec.template.spec.ports[0].hostPort = 9000)) },
  { name: 'template label value invalid', who: 'webhook', obj: edit(fleet, (o) => (o.spec.template.metadata.labels = { a: 'not ok!' })) },
  { name: 'name longer than 63', who: 'webhook', obj: edit(fleet, (o) => (o.metadata.name = 'f'.repeat(64))) },
];

const fas = sampleFleetAutoscaler('fas', 'f');
const fasCases: Case[] = [
  { name: 'the sample', who: 'valid', obj: fas },
  { name: 'bufferSize 20% with minReplicas 1', who: 'valid', obj: edit(fas, (o) => (o.spec.policy.buffer = { bufferSize: '20%', minReplicas: 1, maxReplicas: 10 })) },
  { name: 'bufferSize int, minReplicas 0', who: 'valid', obj: edit(fas, (o) => (o.spec.policy.buffer = { bufferSize: 2, maxReplicas: 5 })) },
  { name: 'webhook url', who: 'valid', obj: edit(fas, (o) => (o.spec.policy = { type: 'Webhook', webhook: { url: 'http://127.0.0.1:9000/scale' } })) },
  { name: 'webhook service', who: 'valid', obj: edit(fas, (o) => (o.spec.policy = { type: 'Webhook', webhook: { service: { name: 'autoscaler', namespace: 'default', path: '/scale' } } })) },
  { name: 'sync every 10 s', who: 'valid', obj: edit(fas, (o) => (o.spec.sync = { type: 'FixedInterval', fixedInterval: { seconds: 10 } })) },
  { name: 'fleetName missing', who: 'crd', obj: edit(fas, (o) => delete o.spec.fleetName) },
  { name: 'fleetName empty', who: 'crd', obj: edit(fas, (o) => (o.spec.fleetName = '')) },
  { name: 'fleetName pattern', who: 'crd', obj: edit(fas, (o) => (o.spec.fleetName = 'Bad_Fleet')) },
  { name: 'policy missing', who: 'crd', obj: edit(fas, (o) => delete o.spec.policy) },
  { name: 'policy.type enum', who: 'crd', obj: edit(fas, (o) => (o.spec.policy.type = 'Magic')) },
  { name: 'buffer.maxReplicas 0', who: 'crd', obj: edit(fas, (o) => (o.spec.policy.buffer.maxReplicas = 0)) },
  { name: 'buffer.maxReplicas missing', who: 'crd', obj: edit(fas, (o) => delete o.spec.policy.buffer.maxReplicas) },
  { name: 'buffer.minReplicas -1', who: 'crd', obj: edit(fas, (o) => (o.spec.policy.buffer.minReplicas = -1)) },
  { name: 'bufferSize a boolean', who: 'crd', obj: edit(fas, (o) => (o.spec.policy.buffer.bufferSize = true)) },
  { name: 'sync.type enum', who: 'crd', obj: edit(fas, (o) => (o.spec.sync = { type: 'Cron', fixedInterval: { seconds: 30 } })) },
  { name: 'fixedInterval.seconds 0 (Agones defaults it to 30)', who: 'valid', obj: edit(fas, (o) => (o.spec.sync = { type: 'FixedInterval', fixedInterval: { seconds: 0 } })) },
  { name: 'fixedInterval.seconds -5', who: 'crd', obj: edit(fas, (o) => (o.spec.sync = { type: 'FixedInterval', fixedInterval: { seconds: -5 } })) },
  { name: 'webhook service without name', who: 'crd', obj: edit(fas, (o) => (o.spec.policy = { type: 'Webhook', webhook: { service: { namespace: 'default' } } })) },
  { name: 'Buffer policy without buffer', who: 'webhook', obj: edit(fas, (o) => (o.spec.policy = { type: 'Buffer' })) },
  { name: 'bufferSize 200%', who: 'webhook', obj: edit(fas, (o) => (o.spec.policy.buffer = { bufferSize: '200%', minReplicas: 1, maxReplicas: 10 })) },
  { name: 'bufferSize not a number or percent', who: 'webhook', obj: edit(fas, (o) => (o.spec.policy.buffer.bufferSize = 'abc')) },
  { name: 'percent bufferSize needs minReplicas ≥ 1', who: 'webhook', obj: edit(fas, (o) => (o.spec.policy.buffer = { bufferSize: '20%', maxReplicas: 10 })) },
  { name: 'minReplicas above maxReplicas', who: 'webhook', obj: edit(fas, (o) => (o.spec.policy.buffer = { bufferSize: 2, minReplicas: 8, maxReplicas: 5 })) },
  { name: 'bufferSize above maxReplicas', who: 'webhook', obj: edit(fas, (o) => (o.spec.policy.buffer = { bufferSize: 20, maxReplicas: 5 })) },
  { name: 'webhook with neither url nor service', who: 'webhook', obj: edit(fas, (o) => (o.spec.policy = { type: 'Webhook', webhook: {} })) },
  { name: 'webhook with url and service', who: 'webhook', obj: edit(fas, (o) => (o.spec.policy = { type: 'Webhook', webhook: { url: 'http://x/', service: { name: 'a', namespace: 'b' } } })) },
];

const tables: { resource: string; crd: string; cases: Case[] }[] = [
  { resource: RESOURCES.gameServers, crd: 'gameservers.agones.dev.yaml', cases: gsCases },
  { resource: RESOURCES.fleets, crd: 'fleets.agones.dev.yaml', cases: fleetCases },
  { resource: RESOURCES.fleetAutoscalers, crd: 'fleetautoscalers.autoscaling.agones.dev.yaml', cases: fasCases },
];

/** The fields our validator names, or [] when it accepts (dry-run create through the store). */
function ours(store: ReturnType<typeof openStore>, resource: string, obj: KubeObject): string[] {
  try {
    store.create(resource, structuredClone(obj), { dryRun: true });
    return [];
  } catch (e) {
    if (!isApiError(e, 'Invalid')) throw e;
    return (e.status.details?.causes ?? []).map((c) => c.field);
  }
}

describe('validation agrees with the Agones CRD schemas', { skip: haveCrds ? false : `no CRDs at ${crdDir}` }, () => {
  const store = openStore();
  for (const table of tables) {
    describe(table.resource, () => {
      const crd = haveCrds ? loadCrd(table.crd) : undefined;
      const registered = store.registry.tryGet(table.resource)!;
      for (const c of table.cases) {
        it(`${c.who}: ${c.name}`, () => {
          // The schema sees the object after Agones' mutating webhook (defaults), as in a cluster.
          const defaulted = structuredClone(c.obj);
          if (registered.subresources.status) delete defaulted.status;
          registered.applyDefaults?.(defaulted, { operation: 'create' });
          const crdOk = crd!(defaulted);
          const crdFields = (crd!.errors ?? []).map((e) => pointerToField(e.instancePath));
          const fields = ours(store, table.resource, c.obj);
          if (c.who === 'valid') {
            assert.equal(crdOk, true, `CRD rejects: ${JSON.stringify(crd!.errors)}`);
            assert.deepEqual(fields, [], 'we reject a valid object');
          } else if (c.who === 'crd') {
            assert.equal(crdOk, false, 'the CRD accepts it: the case is wrong');
            assert.notDeepEqual(fields, [], 'we accept what the CRD rejects');
            const overlap = fields.some((f) => crdFields.some((cf) => f === cf || f.startsWith(`${cf}.`) || cf.startsWith(`${f}.`) || cf.startsWith(`${f}[`)));
            assert.ok(overlap, `our fields ${JSON.stringify(fields)} vs the CRD's ${JSON.stringify(crdFields)}`);
          } else {
            assert.equal(crdOk, true, `the schema alone rejects it, so it is not a ${c.who} rule: ${JSON.stringify(crd!.errors)}`);
            assert.notDeepEqual(fields, [], `we accept what Agones' ${c.who} rejects`);
          }
        });
      }
    });
  }
});

describe('422 messages read like the API server', () => {
  it('minimum, enum, type, required', () => {
    const store = openStore();
    const msg = (resource: string, obj: KubeObject): string => {
      try {
        store.create(resource, obj, { dryRun: true });
        return '';
      } catch (e) {
        return isApiError(e) ? e.message : String(e);
      }
    };
    assert.equal(msg(RESOURCES.fleets, edit(fleet, (o) => (o.spec.replicas = -1))), 'Fleet.agones.dev "f" is invalid: spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0');
    assert.equal(
      msg(RESOURCES.fleets, edit(fleet, (o) => (o.spec.scheduling = 'Spread'))),
      'Fleet.agones.dev "f" is invalid: spec.scheduling: Unsupported value: "Spread": supported values: "Packed", "Distributed"',
    );
    assert.equal(
      msg(RESOURCES.fleets, edit(fleet, (o) => (o.spec.replicas = '3'))),
      'Fleet.agones.dev "f" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    );
    assert.equal(msg(RESOURCES.fleetAutoscalers, edit(fas, (o) => delete o.spec.fleetName)), 'FleetAutoscaler.autoscaling.agones.dev "fas" is invalid: spec.fleetName: Required value');
    void store.close();
  });
});
