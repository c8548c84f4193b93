/**
 * The API contract, driven by @kubernetes/client-node 1.x as the allocator and the
 * autoscaler use it: CustomObjectsApi for the Agones kinds, CoreV1Api (ConfigMaps,
 * Events, Namespaces), CoordinationV1Api (Leases), Watch and makeInformer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { apiFixture, apiFixtures, waitFor } from '../../fleet/control-plane/api/testing.ts';
import { generateSelfSigned } from '../../fleet/control-plane/api/tls.ts';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { sampleFleet, sampleGameServer } from '../../fleet/control-plane/resources/testing.ts';
import type { KubeObject } from '../../fleet/control-plane/store/types.ts';

const AG = { group: 'agones.dev', version: 'v1', namespace: 'default' };
const FLEETS = { ...AG, plural: 'fleets' };
const GS = { ...AG, plural: 'gameservers' };

interface Status {
  kind: string;
  code: number;
  reason: string;
  message: string;
  details?: { causes?: { field: string; message: string; reason: string }[] };
}

/** Runs `fn`, expects an ApiException, returns its Status body. */
async function failure(fn: () => Promise<unknown>): Promise<Status & { httpCode: number }> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
    const body = JSON.parse(String(err.body)) as Status;
    assert.equal(body.kind, 'Status');
    assert.equal(body.code, err.code);
    return { ...body, httpCode: err.code };
  }
  assert.fail('expected the call to fail');
}

type Obj = KubeObject & { spec: Record<string, unknown>; status?: Record<string, unknown> };

const fixture = apiFixtures();

describe('client-node CustomObjectsApi against the control plane', () => {
  it('create, get, list, replace, merge and JSON patch, delete', async () => {
    const f = await fixture();
    const api = f.kc.makeApiClient(CustomObjectsApi);
    const created = (await api.createNamespacedCustomObject({ ...FLEETS, body: sampleFleet('webui', 2) })) as Obj;
    assert.equal(created.metadata.name, 'webui');
    assert.equal(created.spec.replicas, 2);
    assert.match(String(created.metadata.resourceVersion), /^\d+$/);
    const got = (await api.getNamespacedCustomObject({ ...FLEETS, name: 'webui' })) as Obj;
    assert.deepEqual(got, created);
    const list = (await api.listNamespacedCustomObject({ ...FLEETS })) as { kind: string; metadata: { resourceVersion: string }; items: Obj[] };
    assert.equal(list.kind, 'FleetList');
    assert.match(list.metadata.resourceVersion, /^\d+$/);
    assert.deepEqual(list.items.map((o) => o.metadata.name), ['webui']);

    const replaced = (await api.replaceNamespacedCustomObject({ ...FLEETS, name: 'webui', body: { ...got, spec: { ...got.spec, replicas: 3 } } })) as Obj;
    assert.equal(replaced.spec.replicas, 3);
    assert.equal(replaced.metadata.generation, 2);

    const merged = (await api.patchNamespacedCustomObject(
      { ...FLEETS, name: 'webui', body: { spec: { replicas: 4 }, metadata: { labels: { tier: 'gpu' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as Obj;
    assert.equal(merged.spec.replicas, 4);
    assert.deepEqual(merged.metadata.labels, { tier: 'gpu' });

    const jsonPatched = (await api.patchNamespacedCustomObject(
      { ...FLEETS, name: 'webui', body: [{ op: 'test', path: '/spec/replicas', value: 4 }, { op: 'replace', path: '/spec/replicas', value: 5 }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )) as Obj;
    assert.equal(jsonPatched.spec.replicas, 5);
    const failedTest = await failure(() =>
      api.patchNamespacedCustomObject({ ...FLEETS, name: 'webui', body: [{ op: 'test', path: '/spec/replicas', value: 99 }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)),
    );
    assert.equal(failedTest.code, 422);
    const ssa = await failure(() => api.patchNamespacedCustomObject({ ...FLEETS, name: 'webui', body: { spec: {} } }, setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)));
    assert.equal(ssa.code, 415);
    assert.match(ssa.message, /server-side apply .* not supported/);

    const deleted = (await api.deleteNamespacedCustomObject({ ...FLEETS, name: 'webui' })) as Obj;
    assert.equal(deleted.metadata.uid, created.metadata.uid);
    const nf = await failure(() => api.getNamespacedCustomObject({ ...FLEETS, name: 'webui' }));
    assert.equal(nf.code, 404);
    assert.equal(nf.reason, 'NotFound');
    assert.equal(nf.message, 'fleets.agones.dev "webui" not found');
  });

  it('generateName, AlreadyExists, stale resourceVersion Conflict, delete preconditions', async () => {
    const f = await fixture();
    const api = f.kc.makeApiClient(CustomObjectsApi);
    const gen = (await api.createNamespacedCustomObject({ ...GS, body: { ...sampleGameServer(''), metadata: { generateName: 'webui-' } } })) as Obj;
    assert.match(String(gen.metadata.name), /^webui-[a-z0-9]{5}$/);
    await api.createNamespacedCustomObject({ ...GS, body: sampleGameServer('g1') });
    const exists = await failure(() => api.createNamespacedCustomObject({ ...GS, body: sampleGameServer('g1') }));
    assert.deepEqual([exists.code, exists.reason, exists.message], [409, 'AlreadyExists', 'gameservers.agones.dev "g1" already exists']);

    const v1 = (await api.getNamespacedCustomObject({ ...GS, name: 'g1' })) as Obj;
    await api.replaceNamespacedCustomObject({ ...GS, name: 'g1', body: { ...v1, metadata: { ...v1.metadata, labels: { a: '1' } } } });
    const stale = await failure(() => api.replaceNamespacedCustomObject({ ...GS, name: 'g1', body: { ...v1, metadata: { ...v1.metadata, labels: { a: '2' } } } }));
    assert.deepEqual([stale.code, stale.reason], [409, 'Conflict']);
    assert.match(stale.message, /the object has been modified; please apply your changes to the latest version and try again/);

    const pre = await failure(() => api.deleteNamespacedCustomObject({ ...GS, name: 'g1', body: { preconditions: { uid: 'not-the-uid' } } }));
    assert.equal(pre.code, 409);
    await api.deleteNamespacedCustomObject({ ...GS, name: 'g1', body: { preconditions: { uid: String(v1.metadata.uid) } } });
  });

  it('422 Invalid carries field causes; wrong kind and name mismatch are 400; unknown namespace 404', async () => {
    const f = await fixture();
    const api = f.kc.makeApiClient(CustomObjectsApi);
    const bad = sampleFleet('f', -1) as Obj;
    (bad.spec as { scheduling?: string }).scheduling = 'Spread';
    const inv = await failure(() => api.createNamespacedCustomObject({ ...FLEETS, body: bad }));
    assert.deepEqual([inv.code, inv.reason], [422, 'Invalid']);
    assert.deepEqual(inv.details?.causes?.map((c) => c.field).sort(), ['spec.replicas', 'spec.scheduling']);
    assert.ok(inv.details?.causes?.some((c) => c.message === 'Invalid value: -1: spec.replicas in body should be greater than or equal to 0'));
    const wrongKind = await failure(() => api.createNamespacedCustomObject({ ...FLEETS, body: sampleGameServer('x') }));
    assert.equal(wrongKind.code, 400);
    await api.createNamespacedCustomObject({ ...FLEETS, body: sampleFleet('f') });
    const mismatch = await failure(() => api.replaceNamespacedCustomObject({ ...FLEETS, name: 'f', body: sampleFleet('other') }));
    assert.equal(mismatch.code, 400);
    const noNs = await failure(() => api.createNamespacedCustomObject({ ...FLEETS, namespace: 'nowhere', body: sampleFleet('f') }));
    assert.deepEqual([noNs.code, noNs.message], [404, 'namespaces "nowhere" not found']);
    const unknown = await failure(() => api.listNamespacedCustomObject({ ...AG, plural: 'nothings' }));
    assert.equal(unknown.code, 404);
  });

  it('label and field selectors, limit/continue, cluster-wide list', async () => {
    const f = await fixture();
    const api = f.kc.makeApiClient(CustomObjectsApi);
    const core = f.kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'team-b' } } });
    for (let i = 0; i < 5; i++) await api.createNamespacedCustomObject({ ...GS, body: sampleGameServer(`g${i}`, { labels: { fleet: i < 3 ? 'a' : 'b', n: String(i) } }) });
    await api.createNamespacedCustomObject({ ...GS, namespace: 'team-b', body: sampleGameServer('other', { labels: { fleet: 'a' } }) });
    const names = (l: unknown): string[] => (l as { items: Obj[] }).items.map((o) => String(o.metadata.name));
    assert.deepEqual(names(await api.listNamespacedCustomObject({ ...GS, labelSelector: 'fleet=a' })), ['g0', 'g1', 'g2']);
    assert.deepEqual(names(await api.listNamespacedCustomObject({ ...GS, labelSelector: 'fleet in (a,b),n notin (0,4)' })), ['g1', 'g2', 'g3']);
    assert.deepEqual(names(await api.listNamespacedCustomObject({ ...GS, fieldSelector: 'metadata.name=g3' })), ['g3']);
    const all = names(await api.listClusterCustomObject({ group: 'agones.dev', version: 'v1', plural: 'gameservers', labelSelector: 'fleet=a' }));
    assert.deepEqual(all.sort(), ['g0', 'g1', 'g2', 'other']);
    const badSel = await failure(() => api.listNamespacedCustomObject({ ...GS, labelSelector: 'fleet in a' }));
    assert.equal(badSel.code, 400);
    const badField = await failure(() => api.listNamespacedCustomObject({ ...GS, fieldSelector: 'spec.x=1' }));
    assert.equal(badField.code, 400);
    const page1 = (await api.listNamespacedCustomObject({ ...GS, limit: 2 })) as { items: Obj[]; metadata: { continue?: string; remainingItemCount?: number } };
    assert.deepEqual(page1.items.map((o) => o.metadata.name), ['g0', 'g1']);
    assert.equal(page1.metadata.remainingItemCount, 3);
    const page2 = (await api.listNamespacedCustomObject({ ...GS, limit: 2, _continue: page1.metadata.continue! })) as { items: Obj[] };
    assert.deepEqual(page2.items.map((o) => o.metadata.name), ['g2', 'g3']);
  });

  it('status subresource (Fleet) and the GameServer without one; scale subresource', async () => {
    const f = await fixture();
    const api = f.kc.makeApiClient(CustomObjectsApi);
    const fl = (await api.createNamespacedCustomObject({ ...FLEETS, body: { ...sampleFleet('f', 2), status: { replicas: 99 } } })) as Obj;
    assert.equal(fl.status, undefined, 'create drops status on kinds with a status subresource');
    const st = (await api.replaceNamespacedCustomObjectStatus({ ...FLEETS, name: 'f', body: { ...fl, spec: { ...fl.spec, replicas: 50 }, status: { replicas: 2, readyReplicas: 2 } } })) as Obj;
    assert.deepEqual(st.status, { replicas: 2, readyReplicas: 2 });
    assert.equal(st.spec.replicas, 2, '/status ignores spec');
    const main = (await api.patchNamespacedCustomObject({ ...FLEETS, name: 'f', body: { spec: { replicas: 3 }, status: { replicas: 0 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as Obj;
    assert.equal(main.spec.replicas, 3);
    assert.equal(main.status?.replicas, 2, 'the main resource ignores status');
    const stPatch = (await api.patchNamespacedCustomObjectStatus({ ...FLEETS, name: 'f', body: { status: { allocatedReplicas: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as Obj;
    assert.deepEqual(stPatch.status, { replicas: 2, readyReplicas: 2, allocatedReplicas: 1 });

    const scale = (await api.getNamespacedCustomObjectScale({ ...FLEETS, name: 'f' })) as { kind: string; apiVersion: string; spec: { replicas: number }; status: { replicas: number } };
    assert.deepEqual([scale.kind, scale.apiVersion, scale.spec.replicas, scale.status.replicas], ['Scale', 'autoscaling/v1', 3, 2]);
    const scaled = (await api.patchNamespacedCustomObjectScale({ ...FLEETS, name: 'f', body: { spec: { replicas: 4 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as typeof scale;
    assert.equal(scaled.spec.replicas, 4);
    assert.equal(((await api.getNamespacedCustomObject({ ...FLEETS, name: 'f' })) as Obj).spec.replicas, 4);
    const neg = await failure(() => api.replaceNamespacedCustomObjectScale({ ...FLEETS, name: 'f', body: { ...scaled, spec: { replicas: -1 } } }));
    assert.equal(neg.code, 422);

    const gs = (await api.createNamespacedCustomObject({ ...GS, body: sampleGameServer('g', { state: 'Creating' }) })) as Obj;
    assert.deepEqual(gs.status, { state: 'Creating' }, 'GameServer has no status subresource: status is written with the object');
    const ready = (await api.patchNamespacedCustomObject({ ...GS, name: 'g', body: { status: { state: 'Ready' }, metadata: { labels: { a: 'b' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as Obj;
    assert.equal(ready.status?.state, 'Ready');
    const noStatus = await failure(() => api.getNamespacedCustomObjectStatus({ ...GS, name: 'g' }));
    assert.equal(noStatus.code, 404);
  });

  it('GameServerAllocation: create handler, 503 without one, 405 for reads', async () => {
    const f = await fixture();
    const api = f.kc.makeApiClient(CustomObjectsApi);
    const GSA = { group: 'allocation.agones.dev', version: 'v1', namespace: 'default', plural: 'gameserverallocations' };
    const body = { apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', spec: { selectors: [{ matchLabels: { 'agones.dev/fleet': 'webui' } }] } };
    const none = await failure(() => api.createNamespacedCustomObject({ ...GSA, body }));
    assert.equal(none.code, 503);
    const seen: KubeObject[] = [];
    f.api.registerCreateHandler(RESOURCES.gameServerAllocations, (obj, ctx) => {
      seen.push(obj);
      assert.equal(ctx.namespace, 'default');
      return { ...obj, status: { state: 'UnAllocated' } };
    });
    const out = (await api.createNamespacedCustomObject({ ...GSA, body })) as Obj;
    assert.equal(out.status?.state, 'UnAllocated');
    assert.equal((seen[0]!.spec as { scheduling: string }).scheduling, 'Packed', 'defaults applied before the handler');
    assert.equal(((seen[0]!.spec as { selectors: { gameServerState: string }[] }).selectors[0]!).gameServerState, 'Ready');
    const bad = await failure(() => api.createNamespacedCustomObject({ ...GSA, body: { ...body, spec: { scheduling: 'Nope', selectors: [{ matchLabels: { 'bad key!': 'x' } }] } } }));
    assert.equal(bad.code, 422);
    const list = await failure(() => api.listNamespacedCustomObject({ ...GSA }));
    assert.equal(list.code, 405);
    assert.equal(list.reason, 'MethodNotAllowed');
    const get = await failure(() => api.getNamespacedCustomObject({ ...GSA, name: 'x' }));
    assert.equal(get.code, 405);
  });
});

describe('client-node CoreV1Api and CoordinationV1Api', () => {
  it('ConfigMaps, Events with involvedObject field selectors, Namespaces, Leases', async () => {
    const f = await fixture();
    const core = f.kc.makeApiClient(CoreV1Api);
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'settings' }, data: { a: '1' } } });
    assert.deepEqual(cm.data, { a: '1' });
    const patched = await core.patchNamespacedConfigMap({ namespace: 'default', name: 'settings', body: { data: { b: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    assert.deepEqual(patched.data, { a: '1', b: '2' });
    const listed = await core.listNamespacedConfigMap({ namespace: 'default' });
    assert.deepEqual(listed.items.map((c) => c.metadata?.name), ['settings']);
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'settings' });

    for (const [name, involved] of [['e1', 'gs-1'], ['e2', 'gs-2']] as const) {
      await core.createNamespacedEvent({
        namespace: 'default',
        body: { metadata: { name }, involvedObject: { kind: 'GameServer', name: involved, namespace: 'default', uid: `uid-${involved}` }, reason: 'Ready', message: 'ready', type: 'Normal' },
      });
    }
    const evs = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=gs-2,involvedObject.kind=GameServer' });
    assert.deepEqual(evs.items.map((e) => e.metadata?.name), ['e2']);

    await core.createNamespace({ body: { metadata: { name: 'team-a' } } });
    const nss = await core.listNamespace();
    assert.deepEqual(nss.items.map((n) => n.metadata?.name).sort(), ['default', 'team-a']);
    assert.equal((await core.readNamespace({ name: 'team-a' })).status?.phase, 'Active');

    const coord = f.kc.makeApiClient(CoordinationV1Api);
    const now = new Date();
    const lease = await coord.createNamespacedLease({ namespace: 'default', body: { metadata: { name: 'autoscaler' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: now } } });
    assert.equal(lease.spec?.holderIdentity, 'a');
    const renewed = await coord.replaceNamespacedLease({ namespace: 'default', name: 'autoscaler', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } });
    assert.equal(renewed.spec?.holderIdentity, 'b');
    await assert.rejects(coord.replaceNamespacedLease({ namespace: 'default', name: 'autoscaler', body: lease }), (e: unknown) => e instanceof ApiException && e.code === 409);
  });
});

describe('client-node Watch', () => {
  it('streams changes in order after the given resourceVersion, with bookmarks', async () => {
    const f = await fixture({ api: { bookmarkIntervalMs: 50 } });
    const api = f.kc.makeApiClient(CustomObjectsApi);
    const list = (await api.listNamespacedCustomObject({ ...GS })) as { metadata: { resourceVersion: string } };
    const events: { type: string; name: string; rv: string }[] = [];
    let done: unknown = 'not yet';
    const w = new Watch(f.kc);
    const req = await w.watch(
      '/apis/agones.dev/v1/namespaces/default/gameservers',
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (type, obj: KubernetesObject) => events.push({ type, name: String(obj.metadata?.name ?? ''), rv: String(obj.metadata?.resourceVersion) }),
      (err) => (done = err),
    );
    await api.createNamespacedCustomObject({ ...GS, body: sampleGameServer('a') });
    await api.patchNamespacedCustomObject({ ...GS, name: 'a', body: { status: { state: 'Ready' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await api.deleteNamespacedCustomObject({ ...GS, name: 'a' });
    await waitFor(() => events.filter((e) => e.type !== 'BOOKMARK').length, (n) => n >= 3, 2000, 'three events');
    await waitFor(() => events.some((e) => e.type === 'BOOKMARK'), (b) => b, 2000, 'a bookmark');
    const changes = events.filter((e) => e.type !== 'BOOKMARK');
    assert.deepEqual(changes.map((e) => `${e.type}:${e.name}`), ['ADDED:a', 'MODIFIED:a', 'DELETED:a']);
    const rvs = changes.map((e) => Number(e.rv));
    assert.deepEqual(rvs, [...rvs].sort((x, y) => x - y));
    req.abort();
    await waitFor(() => done, (d) => d !== 'not yet', 2000, 'done callback');
  });

  for (const goneWatchAs of ['event', 'status'] as const) {
    it(`a too-old resourceVersion is 410 Gone (${goneWatchAs === 'event' ? 'ERROR event in the stream' : 'HTTP 410'})`, async () => {
      const f = await fixture({ store: { historyLimit: 5 }, api: { goneWatchAs } });
      const api = f.kc.makeApiClient(CustomObjectsApi);
      const rv = ((await api.listNamespacedCustomObject({ ...GS })) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
      for (let i = 0; i < 8; i++) await api.createNamespacedCustomObject({ ...GS, body: sampleGameServer(`g${i}`) });
      const events: { type: string; obj: { code?: number; reason?: string } }[] = [];
      let doneErr: unknown = 'not yet';
      await new Watch(f.kc).watch('/apis/agones.dev/v1/namespaces/default/gameservers', { resourceVersion: rv }, (type, obj: { code?: number; reason?: string }) => events.push({ type, obj }), (err) => (doneErr = err));
      await waitFor(() => doneErr, (d) => d !== 'not yet', 2000, 'the watch to end');
      if (goneWatchAs === 'event') {
        assert.equal(doneErr, null);
        assert.deepEqual(events.map((e) => [e.type, e.obj.code, e.obj.reason]), [['ERROR', 410, 'Expired']]);
      } else {
        assert.equal((doneErr as { statusCode?: number }).statusCode, 410);
        assert.deepEqual(events, []);
      }
    });
  }
});

describe('client-node makeInformer', () => {
  for (const goneWatchAs of ['event', 'status'] as const) {
    it(`keeps its cache; after 410 (${goneWatchAs}) it relists and recovers`, async () => {
      const f = await fixture({ store: { historyLimit: 20 }, api: { goneWatchAs, watchTimeoutSeconds: { min: 0.3, max: 0.3 } } });
      const api = f.kc.makeApiClient(CustomObjectsApi);
      await api.createNamespacedCustomObject({ ...GS, body: sampleGameServer('seed', { labels: { watched: 'yes' } }) });
      let lists = 0;
      const informer = makeInformer<KubernetesObject>(
        f.kc,
        '/apis/agones.dev/v1/namespaces/default/gameservers',
        async () => {
          lists++;
          return (await api.listNamespacedCustomObject({ ...GS, labelSelector: 'watched=yes' })) as never;
        },
        'watched=yes',
      );
      const added: string[] = [];
      const deleted: string[] = [];
      informer.on('add', (o) => added.push(String(o.metadata?.name)));
      informer.on('delete', (o) => deleted.push(String(o.metadata?.name)));
      const errors: unknown[] = [];
      informer.on('error', (e) => errors.push(e));
      await informer.start();
      await waitFor(() => added, (a) => a.includes('seed'), 2000, 'the initial list');
      await api.createNamespacedCustomObject({ ...GS, body: sampleGameServer('w1', { labels: { watched: 'yes' } }) });
      await waitFor(() => added, (a) => a.includes('w1'), 2000, 'a watched add');
      // Unwatched churn pushes the informer's resourceVersion out of the kept history: its next
      // watch (after the 0.3 s timeout) gets 410 and it must relist.
      for (let i = 0; i < 30; i++) await api.createNamespacedCustomObject({ ...GS, body: sampleGameServer(`churn${i}`) });
      await waitFor(() => lists, (n) => n >= 2, 3000, 'a relist after 410');
      f.store.delete(RESOURCES.gameServers, 'default', 'seed');
      await waitFor(() => deleted, (d) => d.includes('seed'), 3000, 'the delete seen by the new watch');
      await api.createNamespacedCustomObject({ ...GS, body: sampleGameServer('w2', { labels: { watched: 'yes' } }) });
      await waitFor(() => informer.list('default').map((o) => o.metadata?.name).sort(), (n) => JSON.stringify(n) === '["w1","w2"]', 3000, 'the cache to match the store');
      assert.deepEqual(errors, []);
      await informer.stop();
    });
  }
});

describe('bearer token over HTTPS', () => {
  it('the token opens the API; without it, 401 Unauthorized', async () => {
    const f = await fixture({ api: { token: 't0ken', tls: await generateSelfSigned('127.0.0.1') } });
    const api = f.kc.makeApiClient(CustomObjectsApi);
    const list = (await api.listNamespacedCustomObject({ ...FLEETS })) as { kind: string };
    assert.equal(list.kind, 'FleetList');
    const anon = await fetch(`${f.url.replace('https:', 'http:')}/apis/agones.dev/v1/namespaces/default/fleets`).catch((e: unknown) => e);
    assert.ok(anon instanceof Error, 'plain HTTP is not served on the TLS port');
    const other = f.kc.makeApiClient(CustomObjectsApi);
    f.kc.users[0] = { name: 'sdfleet', token: 'wrong' };
    await assert.rejects(other.listNamespacedCustomObject({ ...FLEETS }), (e: unknown) => e instanceof ApiException && e.code === 401);
  });
});

describe('persistence across a restart, through the API', () => {
  it('objects come back and resourceVersion keeps increasing', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdfleet-cp-'));
    try {
      const f1 = await apiFixture({ store: { dataDir } });
      const api1 = f1.kc.makeApiClient(CustomObjectsApi);
      const fl = (await api1.createNamespacedCustomObject({ ...FLEETS, body: sampleFleet('f') })) as Obj;
      await api1.createNamespacedCustomObject({ ...GS, body: sampleGameServer('g') });
      const before = ((await api1.listNamespacedCustomObject({ ...GS })) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
      await f1.close();
      const f2 = await apiFixture({ store: { dataDir } });
      try {
        const api2 = f2.kc.makeApiClient(CustomObjectsApi);
        assert.equal(((await api2.getNamespacedCustomObject({ ...FLEETS, name: 'f' })) as Obj).metadata.uid, fl.metadata.uid);
        assert.ok(await api2.getNamespacedCustomObject({ ...GS, name: 'g' }));
        const next = (await api2.createNamespacedCustomObject({ ...GS, body: sampleGameServer('h') })) as Obj;
        assert.ok(Number(next.metadata.resourceVersion) > Number(before), `${String(next.metadata.resourceVersion)} > ${before}`);
      } finally {
        await f2.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
