/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers and table cases are read loosely here */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { RESOURCES } from '../resources/registry.ts';
import { sampleConfigMap, sampleFleet, sampleGameServer } from '../resources/testing.ts';
import { apiFixture, apiFixtures, waitFor, type ApiFixture } from './testing.ts';

interface Reply {
  status: number;
  type: string;
  text: string;
  json: any;
}

async function call(f: ApiFixture, method: string, path: string, opts: { body?: string; type?: string; accept?: string; token?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.type) headers['content-type'] = opts.type;
  else if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.accept) headers.accept = opts.accept;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(`${f.url}${path}`, { method, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json };
}

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const GS_PATH = '/apis/agones.dev/v1/namespaces/default/gameservers';
const FLEET_PATH = '/apis/agones.dev/v1/namespaces/default/fleets';

/** Reads newline-delimited JSON from a streaming GET until `stop` returns true or the stream ends. */
function stream(f: ApiFixture, path: string, accept = 'application/json'): { lines: any[]; ended: Promise<void>; close(): void } {
  const lines: any[] = [];
  let req: http.ClientRequest;
  const ended = new Promise<void>((resolve) => {
    req = http.get(`${f.url}${path}`, { headers: { accept } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
  });
  return { lines, ended, close: () => req.destroy() };
}

const fixture = apiFixtures();

describe('API server: discovery, version, openapi', () => {
  it('serves /version, /api, /apis, group and resource lists with subresources and short names', async () => {
    const f = await fixture();
    const v = await call(f, 'GET', '/version');
    assert.equal(v.json.major, '1');
    assert.equal(v.json.minor, '32');
    assert.deepEqual((await call(f, 'GET', '/api')).json.versions, ['v1']);
    const groups = (await call(f, 'GET', '/apis')).json;
    assert.equal(groups.kind, 'APIGroupList');
    assert.deepEqual(groups.groups.map((g: { name: string }) => g.name), ['coordination.k8s.io', 'agones.dev', 'autoscaling.agones.dev', 'allocation.agones.dev']);
    assert.equal((await call(f, 'GET', '/apis/agones.dev')).json.preferredVersion.groupVersion, 'agones.dev/v1');
    const list = (await call(f, 'GET', '/apis/agones.dev/v1')).json;
    const byName = new Map<string, any>(list.resources.map((r: { name: string }) => [r.name, r]));
    assert.deepEqual(byName.get('gameservers').shortNames, ['gs']);
    assert.equal(byName.get('gameservers').singularName, 'gameserver');
    assert.equal(byName.has('gameservers/status'), false, 'GameServer has no status subresource, as in Agones');
    assert.deepEqual(byName.get('fleets/scale'), { name: 'fleets/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    assert.ok(byName.has('fleets/status'));
    const gsa = (await call(f, 'GET', '/apis/allocation.agones.dev/v1')).json.resources[0];
    assert.deepEqual([gsa.name, gsa.verbs], ['gameserverallocations', ['create']]);
    const core = (await call(f, 'GET', '/api/v1')).json.resources.map((r: { name: string }) => r.name);
    assert.ok(core.includes('namespaces') && core.includes('configmaps') && core.includes('events'));
  });

  it('answers aggregated discovery with an honest Content-Type, and plain JSON to plain clients', async () => {
    const f = await fixture();
    const agg = await call(f, 'GET', '/apis', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    assert.equal(agg.type, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal(agg.json.kind, 'APIGroupDiscoveryList');
    const fleets = agg.json.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'agones.dev').versions[0].resources.find((r: { resource: string }) => r.resource === 'fleets');
    assert.deepEqual(fleets.subresources.map((s: { subresource: string }) => s.subresource), ['status', 'scale']);
    const plain = await call(f, 'GET', '/apis', { accept: 'application/json' });
    assert.equal(plain.type, 'application/json');
    assert.equal(plain.json.kind, 'APIGroupList');
  });

  it('serves /openapi/v3 with fieldValidation on PATCH (what kubectl looks for); /openapi/v2 is 404', async () => {
    const f = await fixture();
    const index = (await call(f, 'GET', '/openapi/v3')).json;
    const url = index.paths['apis/agones.dev/v1'].serverRelativeURL as string;
    const doc = (await call(f, 'GET', url)).json;
    const patch = doc.paths['/apis/agones.dev/v1/namespaces/{namespace}/fleets/{name}'].patch;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'agones.dev', version: 'v1', kind: 'Fleet' });
    assert.ok(patch.parameters.some((p: { name: string; in: string }) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.equal(doc.components.schemas['dev.agones.v1.Fleet'].properties.spec.properties.replicas.minimum, 0);
    assert.equal((await call(f, 'GET', '/openapi/v2')).status, 404);
  });
});

describe('API server: errors are Status objects with the right code', () => {
  it('400, 404, 405, 406, 409, 413, 415, 422', async () => {
    const f = await fixture({ api: { maxBodyBytes: 10_000 } });
    const expectStatus = (r: Reply, code: number, reason: string): void => {
      assert.equal(r.status, code, r.text);
      assert.equal(r.json?.kind, 'Status', r.text);
      assert.equal(r.json.code, code);
      assert.equal(r.json.reason, reason);
      assert.equal(r.json.status, 'Failure');
    };
    expectStatus(await call(f, 'POST', FLEET_PATH, { body: '{not json' }), 400, 'BadRequest');
    expectStatus(await call(f, 'POST', FLEET_PATH, { body: '[]' }), 400, 'BadRequest');
    expectStatus(await call(f, 'POST', FLEET_PATH, { body: JSON.stringify({ ...sampleFleet('f'), apiVersion: 'agones.dev/v2' }) }), 400, 'BadRequest');
    expectStatus(await call(f, 'POST', '/apis/agones.dev/v1/namespaces/other/fleets', { body: JSON.stringify(sampleFleet('f', 1, { namespace: 'default' })) }), 400, 'BadRequest');
    expectStatus(await call(f, 'GET', '/apis/agones.dev/v1/namespaces/default/nothings'), 404, 'NotFound');
    expectStatus(await call(f, 'GET', '/apis/nope.dev/v1'), 404, 'NotFound');
    expectStatus(await call(f, 'GET', '/nope'), 404, 'NotFound');
    expectStatus(await call(f, 'POST', `${FLEET_PATH}/f`, { body: '{}' }), 405, 'MethodNotAllowed');
    expectStatus(await call(f, 'OPTIONS', FLEET_PATH), 405, 'MethodNotAllowed');
    expectStatus(await call(f, 'GET', FLEET_PATH, { accept: 'application/vnd.kubernetes.protobuf' }), 406, 'NotAcceptable');
    expectStatus(await call(f, 'POST', FLEET_PATH, { body: 'x'.repeat(20_000) }), 413, 'RequestEntityTooLarge');
    expectStatus(await call(f, 'POST', FLEET_PATH, { body: 'x', type: 'text/plain' }), 415, 'UnsupportedMediaType');
    expectStatus(await call(f, 'POST', FLEET_PATH, { body: 'k8s\u0000junk', type: 'application/vnd.kubernetes.protobuf' }), 400, 'BadRequest');
    assert.equal((await call(f, 'POST', FLEET_PATH, { body: JSON.stringify(sampleFleet('f')) })).status, 201);
    expectStatus(await call(f, 'POST', FLEET_PATH, { body: JSON.stringify(sampleFleet('f')) }), 409, 'AlreadyExists');
    expectStatus(await call(f, 'PATCH', `${FLEET_PATH}/f`, { body: '{}', type: 'application/strategic-merge-patch+json' }), 415, 'UnsupportedMediaType');
    expectStatus(await call(f, 'PATCH', `${FLEET_PATH}/f`, { body: '{"spec":{"replicas":-3}}', type: 'application/merge-patch+json' }), 422, 'Invalid');
    expectStatus(await call(f, 'PUT', `${FLEET_PATH}/f`, { body: JSON.stringify(sampleFleet('g')) }), 400, 'BadRequest');
    expectStatus(await call(f, 'GET', `${FLEET_PATH}?labelSelector=${encodeURIComponent('a in b')}`), 400, 'BadRequest');
    expectStatus(await call(f, 'GET', `${FLEET_PATH}?watch=true&resourceVersion=abc`), 400, 'BadRequest');
    expectStatus(await call(f, 'GET', '/apis/allocation.agones.dev/v1/namespaces/default/gameserverallocations'), 405, 'MethodNotAllowed');
  });

  it('a bearer token, when set, is required (401) except for health and version', async () => {
    const f = await fixture({ api: { token: 's3cret' } });
    const denied = await call(f, 'GET', FLEET_PATH);
    assert.equal(denied.status, 401);
    assert.equal(denied.json.reason, 'Unauthorized');
    assert.equal((await call(f, 'GET', FLEET_PATH, { token: 'wrong' })).status, 401);
    assert.equal((await call(f, 'GET', FLEET_PATH, { token: 's3cret' })).status, 200);
    assert.equal((await call(f, 'GET', '/healthz')).text, 'ok');
    assert.equal((await call(f, 'GET', '/version')).status, 200);
  });
});

describe('API server: formats', () => {
  it('Tables with printer columns and PartialObjectMetadata; YAML in and out', async () => {
    const f = await fixture();
    f.store.create(RESOURCES.gameServers, { ...sampleGameServer('g1'), status: { state: 'Ready', address: '10.0.0.1', ports: [{ name: 'web', port: 7001 }], nodeName: 'n1' } });
    const t = await call(f, 'GET', GS_PATH, { accept: TABLE });
    assert.equal(t.type, 'application/json;as=Table;v=v1;g=meta.k8s.io');
    assert.equal(t.json.kind, 'Table');
    assert.deepEqual(t.json.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'State', 'Address', 'Port', 'Node', 'Age']);
    assert.deepEqual(t.json.rows[0].cells.slice(0, 5), ['g1', 'Ready', '10.0.0.1', '7001', 'n1']);
    assert.match(t.json.rows[0].cells[5], /^\d+s$/);
    assert.equal(t.json.rows[0].object.kind, 'PartialObjectMetadata');
    assert.equal((await call(f, 'GET', `${GS_PATH}?includeObject=Object`, { accept: TABLE })).json.rows[0].object.kind, 'GameServer');
    assert.equal((await call(f, 'GET', `${GS_PATH}/g1`, { accept: TABLE })).json.rows.length, 1);
    const pom = await call(f, 'GET', GS_PATH, { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' });
    assert.equal(pom.json.kind, 'PartialObjectMetadataList');
    assert.equal(pom.json.items[0].metadata.name, 'g1');
    const yamlBody = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: "1"\n';
    assert.equal((await call(f, 'POST', '/api/v1/namespaces/default/configmaps', { body: yamlBody, type: 'application/yaml' })).status, 201);
    const y = await call(f, 'GET', '/api/v1/namespaces/default/configmaps/from-yaml', { accept: 'application/yaml' });
    assert.equal(y.type, 'application/yaml');
    assert.match(y.text, /name: from-yaml/);
    const cmTable = (await call(f, 'GET', '/api/v1/namespaces/default/configmaps', { accept: TABLE })).json;
    assert.deepEqual(cmTable.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Data', 'Age']);
    assert.equal(cmTable.rows[0].cells[1], 1);
  });
});

describe('API server: writes', () => {
  it('dryRun changes nothing; DELETE answers 202 while finalizers hold it; deletecollection by label; core DELETE is a Status', async () => {
    const f = await fixture();
    const dry = await call(f, 'POST', `${FLEET_PATH}?dryRun=All`, { body: JSON.stringify(sampleFleet('dry')) });
    assert.equal(dry.status, 201);
    assert.equal(f.store.tryGet(RESOURCES.fleets, 'default', 'dry'), undefined);
    f.store.create(RESOURCES.gameServers, { ...sampleGameServer('fin'), metadata: { name: 'fin', finalizers: ['agones.dev'] } });
    const del = await call(f, 'DELETE', `${GS_PATH}/fin`);
    assert.equal(del.status, 202);
    assert.ok(del.json.metadata.deletionTimestamp);
    for (const [n, l] of [['a', 'x'], ['b', 'x'], ['c', 'y']]) f.store.create(RESOURCES.gameServers, sampleGameServer(n!, { labels: { l: l! } }));
    const dc = await call(f, 'DELETE', `${GS_PATH}?labelSelector=l%3Dx`);
    assert.equal(dc.status, 200);
    assert.deepEqual(dc.json.items.map((o: { metadata: { name: string } }) => o.metadata.name).sort(), ['a', 'b']);
    assert.ok(f.store.tryGet(RESOURCES.gameServers, 'default', 'c'));
    f.store.create(RESOURCES.configMaps, sampleConfigMap('cm', { a: 'b' }));
    const cmDel = await call(f, 'DELETE', '/api/v1/namespaces/default/configmaps/cm', { body: JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' }) });
    assert.deepEqual([cmDel.status, cmDel.json.kind, cmDel.json.status], [200, 'Status', 'Success']);
    const badPolicy = await call(f, 'DELETE', `${GS_PATH}/c`, { body: JSON.stringify({ propagationPolicy: 'Sometimes' }) });
    assert.equal(badPolicy.status, 400);
  });
});

describe('API server: watch streams', () => {
  it('Table watch: the first event carries the columns, later ones do not', async () => {
    const f = await fixture();
    f.store.create(RESOURCES.gameServers, sampleGameServer('g1'));
    const s = stream(f, `${GS_PATH}?watch=true`, TABLE);
    await waitFor(() => s.lines.length, (n) => n >= 1, 2000, 'the initial row');
    f.store.mutate(RESOURCES.gameServers, 'default', 'g1', (c) => ({ ...c, status: { state: 'Allocated' } }));
    await waitFor(() => s.lines.length, (n) => n >= 2, 2000, 'the change');
    s.close();
    assert.deepEqual(s.lines.map((l) => l.type), ['ADDED', 'MODIFIED']);
    assert.equal(s.lines[0].object.kind, 'Table');
    assert.equal(s.lines[0].object.columnDefinitions.length, 6);
    assert.equal(s.lines[1].object.columnDefinitions, null);
    assert.equal(s.lines[1].object.rows[0].cells[1], 'Allocated');
  });

  it('timeoutSeconds ends the stream; stopping the server ends open streams cleanly', async () => {
    const f = await apiFixture();
    const started = Date.now();
    const timed = stream(f, `${GS_PATH}?watch=1&timeoutSeconds=1`);
    await timed.ended;
    assert.ok(Date.now() - started >= 900 && Date.now() - started < 3000, `ended after ${Date.now() - started} ms`);
    const open = stream(f, `${GS_PATH}?watch=true`);
    await waitFor(() => f.api.activeWatches(), (n) => n === 1, 2000, 'the watch to register');
    const t0 = Date.now();
    await f.close();
    await open.ended;
    assert.ok(Date.now() - t0 < 2000);
  });

  it('a name in the URL watches that object; sendInitialEvents ends with an annotated bookmark', async () => {
    const f = await fixture();
    f.store.create(RESOURCES.gameServers, sampleGameServer('a'));
    f.store.create(RESOURCES.gameServers, sampleGameServer('b'));
    const one = stream(f, `${GS_PATH}/b?watch=true`);
    await waitFor(() => one.lines.length, (n) => n >= 1, 2000, 'the object');
    one.close();
    assert.deepEqual(one.lines.map((l) => l.object.metadata.name), ['b']);
    const wl = stream(f, `${GS_PATH}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`);
    await waitFor(() => wl.lines.length, (n) => n >= 3, 2000, 'two objects and a bookmark');
    wl.close();
    assert.deepEqual(wl.lines.map((l) => l.type), ['ADDED', 'ADDED', 'BOOKMARK']);
    assert.equal(wl.lines[2].object.metadata.annotations['k8s.io/initial-events-end'], 'true');
  });
});
