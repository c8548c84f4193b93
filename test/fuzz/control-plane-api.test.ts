/**
 * Malformed input to the embedded control plane's Kubernetes API
 * (fleet/control-plane/api/): random methods, paths (resource paths, subresources,
 * discovery, %-escapes, dot segments), queries (selectors, watch, limit, continue,
 * dryRun…), content types, Accept variants and bodies (mutated objects, patches, YAML,
 * protobuf-looking bytes, invalid UTF-8, deep nesting) must get a 4xx Kubernetes Status
 * with a message, or a 2xx; never a 5xx, never a crash, no watch left open.
 * The allocation create handler is the real one, so GameServerAllocations get past it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { silentLogger } from '../../common/log.ts';
import { apiFixture, waitFor, type ApiFixture } from '../../fleet/control-plane/api/testing.ts';
import { allocationHandler } from '../../fleet/control-plane/controllers/allocation.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { sampleConfigMap, sampleFleet, sampleFleetAutoscaler, sampleGameServer } from '../../fleet/control-plane/resources/testing.ts';
import {
  FuzzClient, RUNS, Tally, bodyArb, describeRequest, fuzzParams, headersArb, kubeStatus, methodArb, mutated, pathArb, problemWith, queryArb, segmentArb,
  type FuzzRequest,
} from './http-fuzz.ts';

const MAX_BODY = 64 * 1024;

const SERVED: [string, string, boolean][] = [
  ['/apis/agones.dev/v1', 'fleets', true], ['/apis/agones.dev/v1', 'gameservers', true], ['/apis/agones.dev/v1', 'gameserversets', true],
  ['/apis/autoscaling.agones.dev/v1', 'fleetautoscalers', true], ['/apis/allocation.agones.dev/v1', 'gameserverallocations', true],
  ['/apis/coordination.k8s.io/v1', 'leases', true], ['/api/v1', 'configmaps', true], ['/api/v1', 'events', true], ['/api/v1', 'namespaces', false],
];
const NAMES = ['f', 'g', 'a', 'c', 'l', 'new', 'default', 'kube-system', 'Bad_Name', 'x'.repeat(300), '__proto__'];
const WORDS = ['namespaces', 'default', 'status', 'scale', 'watch', 'finalize', 'fleets', 'gameservers', 'v1', 'api', 'apis', 'agones.dev', 'openapi', 'v3', ...NAMES];

const SAMPLES: unknown[] = [
  sampleFleet('f'),
  sampleGameServer('g'),
  sampleFleetAutoscaler('a', 'f'),
  sampleConfigMap('c', { a: 'b' }),
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } },
  { apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', spec: { selectors: [{ matchLabels: { 'agones.dev/fleet': 'f' } }], metadata: { labels: { a: 'b' } } } },
  { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'f' }, spec: { replicas: 3 } },
  { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', preconditions: { uid: 'x', resourceVersion: '1' }, dryRun: ['All'] },
  [{ op: 'replace', path: '/spec/replicas', value: 1 }, { op: 'test', path: '/metadata/name', value: 'f' }, { op: 'move', from: '/spec', path: '/spec/x' }],
  [{ op: 'add', path: '/metadata/labels/a~1b', value: 'c' }, { op: 'remove', path: '/status' }, { op: 'copy', from: '/metadata', path: '/__proto__/x' }],
  { metadata: { labels: { a: null }, annotations: { b: 'c' } }, spec: { replicas: 2, $patch: 'replace' } },
];

const YAML_BODIES = [
  'a: &a [1,2]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
  'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  a: !!binary aGVsbG8=\n',
  '--- \n- a\n--- \n- b\n', '!!js/function "function(){}"', 'key: [unclosed', '? complex\n: key\n', 'metadata: {name: 1e309}\n',
];

const SAMPLE_OF: Record<string, unknown> = {
  fleets: SAMPLES[0], gameservers: SAMPLES[1], fleetautoscalers: SAMPLES[2], configmaps: SAMPLES[3], leases: SAMPLES[4], gameserverallocations: SAMPLES[5],
  gameserversets: { apiVersion: 'agones.dev/v1', kind: 'GameServerSet', metadata: { name: 's' }, spec: { replicas: 1, template: (SAMPLES[0] as { spec: { template: unknown } }).spec.template } },
  events: { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, involvedObject: { kind: 'Fleet', name: 'f' }, reason: 'R', message: 'm', type: 'Normal' },
  namespaces: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
};

const PATCH_TYPES = ['application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json'];

/** Requests to resource paths, mostly well-formed so the verbs and validation are reached. */
const resourceRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.constantFrom(...SERVED),
    fc.oneof({ weight: 6, arbitrary: fc.constant('default') }, { weight: 1, arbitrary: segmentArb(['nope', 'kube-system', 'Default']) }),
    fc.option(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: segmentArb(NAMES) }), { freq: 2 }),
    fc.option(fc.oneof({ weight: 4, arbitrary: fc.constantFrom('status', 'scale') }, { weight: 1, arbitrary: segmentArb(['finalize', 'exec', 'log']) }), { freq: 4 }),
    fc.nat(9),
    fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'PATCH', 'DELETE'),
  )
  .chain(([[gv, plural, namespaced], ns, name, sub, shape, method]) => {
    const w = shape === 0 ? '/watch' : '';
    // A create names no object; the others mostly do.
    const named = method === 'POST' ? (shape === 2 ? name : null) : name;
    const tail = `${named !== null ? `/${named}` : ''}${named !== null && sub !== null ? `/${sub}` : ''}`;
    const path = !namespaced || shape === 1 ? `${gv}${w}/${plural}${tail}` : `${gv}${w}/namespaces/${ns}/${plural}${tail}`;
    const sample = sub === 'scale' ? SAMPLES[6] : method === 'PATCH' ? SAMPLES[8 + (shape % 3)] : method === 'DELETE' ? SAMPLES[7] : SAMPLE_OF[plural];
    const type = method === 'PATCH' ? fc.constantFrom(...PATCH_TYPES) : fc.constantFrom('application/json', 'application/yaml', 'application/json; charset=utf-8');
    return fc.record({
      method: fc.oneof({ weight: 9, arbitrary: fc.constant(method) }, { weight: 1, arbitrary: methodArb }),
      path: fc.constant(path),
      headers: fc.oneof(
        { weight: 3, arbitrary: type.map((t) => ({ 'content-type': t, accept: 'application/json' })) },
        { weight: 1, arbitrary: fc.constantFrom('application/json;as=Table;v=v1;g=meta.k8s.io', 'application/yaml', 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io').chain((accept) => type.map((t) => ({ 'content-type': t, accept }))) },
        { weight: 1, arbitrary: headersArb },
      ),
      body: fc.oneof(
        { weight: 3, arbitrary: mutated(sample).map((v) => JSON.stringify(v)) },
        { weight: 1, arbitrary: fc.constant(JSON.stringify(sample)) },
        { weight: 1, arbitrary: bodyArb(['metadata', 'spec', 'status', 'kind', 'apiVersion'], { samples: SAMPLES }) },
      ),
    });
  });

const requestArb: fc.Arbitrary<FuzzRequest> = fc
  .record({
    request: fc.oneof(
      { weight: 6, arbitrary: resourceRequest },
      {
        weight: 3,
        arbitrary: fc.record({
          method: methodArb,
          path: pathArb(
            ['', '/api', '/api/v1', '/apis', '/apis/agones.dev', '/apis/agones.dev/v1', '/apis/agones.dev/v2', '/openapi', '/openapi/v3', '/openapi/v3/apis/agones.dev/v1', '/version', '/healthz', '/api/v1/namespaces', '/apis/agones.dev/v1/namespaces/default'],
            WORDS,
            ['//', '/api/v1/namespaces/default/configmaps/%', '/apis/agones.dev/v1/namespaces/%2e%2e/fleets', '/apis/agones.dev/v1/namespaces/default/fleets/%2F', 'http://127.0.0.1/api/v1', '/api/v1/namespaces/default/configmaps/c/../../../../version'],
          ),
          headers: headersArb,
          body: fc.oneof(
            { weight: 6, arbitrary: bodyArb(['metadata', 'spec', 'status', 'kind', 'apiVersion', 'op', 'path', 'value', 'preconditions', 'propagationPolicy', 'dryRun'], { overLimit: MAX_BODY + 10, samples: SAMPLES }) },
            { weight: 1, arbitrary: fc.constantFrom(...YAML_BODIES) },
            { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.concat([Buffer.from('k8s\0'), Buffer.from(b)])) },
          ),
        }),
      },
    ),
    query: fc.oneof(
      { weight: 1, arbitrary: fc.constant('') },
      {
        weight: 1,
        arbitrary: queryArb(
          ['watch', 'labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'resourceVersionMatch', 'timeoutSeconds', 'dryRun', 'includeObject', 'propagationPolicy', 'allowWatchBookmarks', 'sendInitialEvents', 'fieldManager', 'pretty'],
          ['a%3Db', 'a%20in%20(b)', 'a!%3Db', '!a', 'a%3D%3Db', 'metadata.name%3Df', 'status.state%3DReady', 'spec.x%3D1', 'a%2Cb', '(', 'eyJzdGFydCI6MX0', 'bnVsbA', 'Object', 'None', 'Orphan', 'NotOlderThan'],
        ),
      },
    ),
  })
  .map(({ request, query }) => ({ ...request, path: request.path + query }));

describe('control plane Kubernetes API: malformed input (fuzz)', () => {
  let f: ApiFixture;
  let client: FuzzClient;
  before(async () => {
    f = await apiFixture({ api: { maxBodyBytes: MAX_BODY, watchTimeoutSeconds: { min: 0.05, max: 0.1 }, logger: silentLogger() } });
    f.store.create(RESOURCES.fleets, sampleFleet('f'));
    for (const [name, state] of [['g', 'Ready'], ['g2', 'Ready'], ['g3', 'Allocated']] as const) f.store.create(RESOURCES.gameServers, sampleGameServer(name, { state }));
    f.store.create(RESOURCES.fleetAutoscalers, sampleFleetAutoscaler('a', 'f'));
    f.store.create(RESOURCES.configMaps, sampleConfigMap('c', { a: 'b' }));
    f.api.registerCreateHandler(RESOURCES.gameServerAllocations, allocationHandler({ store: f.store, log: silentLogger() }));
    client = new FuzzClient(f.url);
  });
  after(async () => {
    await client.close();
    await f.close();
  });

  it(`${RUNS} random requests: a 4xx Status with a message or a 2xx, never a 5xx`, { timeout: 240_000 }, async (t) => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const a = await client.send(r);
        tally.add(a.status);
        const problem = problemWith(r, a, kubeStatus);
        if (problem) throw new Error(`${describeRequest(r)} → ${problem}`);
      }),
      fuzzParams(),
    );
    t.diagnostic(`answers by status: ${tally.toString()}`);
    if (RUNS >= 1000) for (const code of [200, 201, 400, 404, 405, 415, 422]) assert.ok(tally.count(code) > 0, `no ${code} among ${tally.toString()}`);
    const alive = await fetch(`${f.url}/apis/agones.dev/v1/namespaces/default/fleets`);
    assert.equal(alive.status, 200, 'the API still answers');
    await alive.body?.cancel();
    // Watches the fuzz opened were dropped by the client: none may linger.
    await waitFor(() => f.api.activeWatches(), (n) => n === 0, 5000, 'every watch closed');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  });
});
