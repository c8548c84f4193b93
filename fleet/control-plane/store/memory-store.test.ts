import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RESOURCES } from '../resources/registry.ts';
import { sampleConfigMap, sampleFleet, sampleGameServer } from '../resources/testing.ts';
import { isApiError } from './errors.ts';
import { newUid } from './memory-store.ts';
import { openStore } from './open-store.ts';
import type { ChangeEvent, KubeObject, WatchEvent } from './types.ts';

const GS = RESOURCES.gameServers;
const FLEETS = RESOURCES.fleets;

function spec(o: KubeObject): Record<string, unknown> {
  return o.spec as Record<string, unknown>;
}

describe('MemoryObjectStore: create / get / list', () => {
  it('stamps uid, resourceVersion, creationTimestamp, generation and defaults; objects are frozen', async () => {
    const store = openStore({ now: () => Date.parse('2025-01-02T03:04:05.678Z') });
    const before = Number(store.currentResourceVersion());
    const f = store.create(FLEETS, sampleFleet('f1'));
    assert.match(String(f.metadata.uid), /^[0-9a-f-]{36}$/);
    assert.equal(f.metadata.resourceVersion, String(before + 1));
    assert.equal(f.metadata.creationTimestamp, '2025-01-02T03:04:05Z');
    assert.equal(f.metadata.generation, 1);
    assert.equal(f.metadata.namespace, 'default');
    assert.deepEqual(spec(f).strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    assert.equal(spec(f).scheduling, 'Packed');
    assert.equal(Object.isFrozen(f) && Object.isFrozen(f.metadata) && Object.isFrozen(spec(f)), true);
    assert.throws(() => {
      (f.metadata as Record<string, unknown>).name = 'x';
    }, TypeError);
    assert.equal(store.get(FLEETS, 'default', 'f1'), f, 'get returns the stored object, not a copy');
    await store.close();
  });

  it('GameServer defaults follow Agones: health, ports, scheduling, container, SDK server', async () => {
    const store = openStore();
    const gs = store.create(GS, { ...sampleGameServer('g'), spec: { ports: [{ name: 'p', containerPort: 7000 }], template: { spec: { containers: [{ name: 'only' }] } } } });
    const s = spec(gs);
    assert.deepEqual(s.health, { disabled: false, periodSeconds: 5, failureThreshold: 3, initialDelaySeconds: 5 });
    assert.deepEqual(s.ports, [{ name: 'p', containerPort: 7000, portPolicy: 'Dynamic', range: 'default', protocol: 'UDP', container: 'only' }]);
    assert.equal(s.scheduling, 'Packed');
    assert.equal(s.container, 'only');
    assert.deepEqual(s.sdkServer, { logLevel: 'Info', grpcPort: 9357, httpPort: 9358 });
    await store.close();
  });

  it('generateName adds 5 characters; namespace must exist; names are unique', async () => {
    const store = openStore();
    const a = store.create(GS, { ...sampleGameServer(''), metadata: { generateName: 'webui-' } });
    assert.match(String(a.metadata.name), /^webui-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    store.create(GS, sampleGameServer('x'));
    assert.throws(() => store.create(GS, sampleGameServer('x')), (e: unknown) => isApiError(e, 'AlreadyExists') && e.message === 'gameservers.agones.dev "x" already exists');
    assert.throws(() => store.create(GS, sampleGameServer('y', { namespace: 'nope' })), (e: unknown) => isApiError(e, 'NotFound') && e.message === 'namespaces "nope" not found');
    store.create(RESOURCES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    assert.equal(store.create(GS, sampleGameServer('x', { namespace: 'team' })).metadata.namespace, 'team');
    assert.throws(() => store.get(GS, 'default', 'none'), (e: unknown) => isApiError(e, 'NotFound') && e.code === 404 && e.message === 'gameservers.agones.dev "none" not found');
    assert.equal(store.tryGet(GS, 'default', 'none'), undefined);
    await store.close();
  });

  it('422 Invalid lists every field cause, worded as Kubernetes', async () => {
    const store = openStore();
    const bad = sampleFleet('Bad_Name', -1);
    try {
      store.create(FLEETS, bad);
      assert.fail('expected 422');
    } catch (e) {
      assert.ok(isApiError(e, 'Invalid'));
      assert.equal(e.code, 422);
      const causes = e.status.details?.causes ?? [];
      assert.ok(causes.some((c) => c.field === 'metadata.name' && /RFC 1123 subdomain/.test(c.message)));
      assert.ok(causes.some((c) => c.field === 'spec.replicas' && c.message === 'Invalid value: -1: spec.replicas in body should be greater than or equal to 0'));
      assert.match(e.message, /^Fleet\.agones\.dev "Bad_Name" is invalid: \[/);
    }
    await store.close();
  });

  it('list filters by namespace, label and field selectors without copying', async () => {
    const store = openStore();
    store.create(RESOURCES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } });
    store.create(GS, sampleGameServer('a1', { labels: { fleet: 'a' } }));
    store.create(GS, sampleGameServer('a2', { labels: { fleet: 'a', tier: 'x' } }));
    store.create(GS, sampleGameServer('b1', { namespace: 'b', labels: { fleet: 'b' } }));
    const names = (opts: Parameters<typeof store.list>[1]): string[] => store.list(GS, opts).items.map((o) => String(o.metadata.name)).sort();
    assert.deepEqual(names({}), ['a1', 'a2', 'b1']);
    assert.deepEqual(names({ namespace: 'b' }), ['b1']);
    assert.deepEqual(names({ labelSelector: 'fleet=a,!tier' }), ['a1']);
    assert.deepEqual(names({ fieldSelector: 'metadata.name!=a1,metadata.namespace=default' }), ['a2']);
    assert.equal(store.list(GS).items[0], store.get(GS, 'default', 'a1'));
    assert.equal(store.list(GS).resourceVersion, store.currentResourceVersion());
    assert.equal(store.count(GS), 3);
    assert.equal(store.count(GS, 'b'), 1);
    await store.close();
  });
});

describe('MemoryObjectStore: update / mutate / status subresource', () => {
  it('409 Conflict on a stale resourceVersion; no rv = unconditional; generation follows spec', async () => {
    const store = openStore();
    const f1 = store.create(FLEETS, sampleFleet('f'));
    const copy = structuredClone(f1);
    (copy.spec as { replicas: number }).replicas = 5;
    const f2 = store.update(FLEETS, copy);
    assert.equal(f2.metadata.generation, 2);
    assert.ok(Number(f2.metadata.resourceVersion) > Number(f1.metadata.resourceVersion));
    assert.throws(
      () => store.update(FLEETS, copy),
      (e: unknown) => isApiError(e, 'Conflict') && e.message === 'Operation cannot be fulfilled on fleets.agones.dev "f": the object has been modified; please apply your changes to the latest version and try again',
    );
    const unconditional = structuredClone(f2);
    delete unconditional.metadata.resourceVersion;
    unconditional.metadata.labels = { a: 'b' };
    const f3 = store.update(FLEETS, unconditional);
    assert.equal(f3.metadata.generation, 2, 'metadata changes leave generation alone');
    assert.deepEqual(f3.metadata.labels, { a: 'b' });
    assert.equal(store.update(FLEETS, structuredClone(f3)), f3, 'a no-op update returns the stored object');
    await store.close();
  });

  it('main resource ignores .status and /status ignores all but .status (Fleet); GameServer writes both', async () => {
    const store = openStore();
    store.create(FLEETS, sampleFleet('f'));
    const main = store.mutate(FLEETS, 'default', 'f', (c) => {
      c.status = { replicas: 9 };
      (c.spec as { replicas: number }).replicas = 3;
      return c;
    });
    assert.equal(main.status, undefined);
    assert.equal(spec(main).replicas, 3);
    const st = store.mutate(FLEETS, 'default', 'f', (c) => {
      c.status = { replicas: 2, readyReplicas: 1 };
      (c.spec as { replicas: number }).replicas = 100;
      c.metadata.labels = { ignored: 'yes' };
      return c;
    }, { subresource: 'status' });
    assert.deepEqual(st.status, { replicas: 2, readyReplicas: 1 });
    assert.equal(spec(st).replicas, 3);
    assert.equal(st.metadata.labels, undefined);
    assert.equal(st.metadata.generation, main.metadata.generation, 'status writes do not bump generation');
    store.create(GS, sampleGameServer('g'));
    const g = store.mutate(GS, 'default', 'g', (c) => {
      c.status = { state: 'Ready' };
      c.metadata.labels = { user: 'u1' };
      return c;
    });
    assert.deepEqual(g.status, { state: 'Ready' });
    assert.deepEqual(g.metadata.labels, { user: 'u1' });
    assert.throws(() => store.mutate(GS, 'default', 'g', (c) => c, { subresource: 'status' }), (e: unknown) => isApiError(e, 'NotFound'));
    await store.close();
  });

  it('mutate hands out a private copy; undefined = no change; writing inside fn is refused', async () => {
    const store = openStore();
    const g0 = store.create(GS, sampleGameServer('g'));
    let seen: KubeObject | undefined;
    const same = store.mutate(GS, 'default', 'g', (c) => {
      seen = c;
      c.metadata.labels = { changed: 'but-not-returned' };
      return undefined;
    });
    assert.equal(same, g0);
    assert.notEqual(seen, g0);
    assert.equal(store.get(GS, 'default', 'g').metadata.labels, undefined);
    assert.throws(() => store.mutate(GS, 'default', 'g', () => {
      store.create(GS, sampleGameServer('h'));
      return undefined;
    }), /must not write to the store/);
    assert.throws(() => store.mutate(GS, 'default', 'gone', (c) => c), (e: unknown) => isApiError(e, 'NotFound'));
    await store.close();
  });

  it('a read-modify-write in mutate is atomic: two allocations never take one GameServer', async () => {
    const store = openStore();
    store.create(GS, sampleGameServer('g', { state: 'Ready' }));
    const allocate = (who: string): boolean => {
      let won = false;
      store.mutate(GS, 'default', 'g', (c) => {
        const status = c.status as { state?: string };
        if (status.state !== 'Ready') return undefined;
        status.state = 'Allocated';
        c.metadata.labels = { user: who };
        won = true;
        return c;
      });
      return won;
    };
    assert.deepEqual([allocate('a'), allocate('b')], [true, false]);
    assert.deepEqual(store.get(GS, 'default', 'g').metadata.labels, { user: 'a' });
    await store.close();
  });
});

describe('MemoryObjectStore: delete, finalizers, owners', () => {
  it('preconditions, finalizers (deletionTimestamp first), last finalizer removal deletes', async () => {
    const store = openStore();
    const g = store.create(GS, { ...sampleGameServer('g'), metadata: { name: 'g', finalizers: ['agones.dev'] } });
    assert.throws(() => store.delete(GS, 'default', 'g', { preconditions: { uid: 'other' } }), (e: unknown) => isApiError(e, 'Conflict') && /Precondition failed: UID/.test(e.message));
    const marked = store.delete(GS, 'default', 'g');
    assert.ok(marked.metadata.deletionTimestamp);
    assert.ok(store.tryGet(GS, 'default', 'g'));
    assert.throws(() => store.mutate(GS, 'default', 'g', (c) => {
      c.metadata.finalizers = ['agones.dev', 'new'];
      return c;
    }), (e: unknown) => isApiError(e, 'Invalid'));
    const last = store.mutate(GS, 'default', 'g', (c) => {
      c.metadata.finalizers = [];
      return c;
    });
    assert.equal(store.tryGet(GS, 'default', 'g'), undefined);
    assert.equal(last.metadata.uid, g.metadata.uid);
    assert.throws(() => store.delete(RESOURCES.namespaces, undefined, 'default'), (e: unknown) => isApiError(e, 'Forbidden'));
    await store.close();
  });

  it('deleting an owner deletes its dependents in the background; Orphan keeps them', async () => {
    const store = openStore();
    const f = store.create(FLEETS, sampleFleet('f'));
    const ref = [{ apiVersion: 'agones.dev/v1', kind: 'Fleet', name: 'f', uid: String(f.metadata.uid), controller: true }];
    for (let i = 0; i < 5; i++) store.create(GS, { ...sampleGameServer(`g${i}`), metadata: { name: `g${i}`, ownerReferences: ref } });
    store.create(GS, sampleGameServer('other'));
    store.delete(FLEETS, 'default', 'f');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(store.list(GS).items.map((o) => o.metadata.name), ['other']);

    const f2 = store.create(FLEETS, sampleFleet('f2'));
    store.create(GS, { ...sampleGameServer('kept'), metadata: { name: 'kept', ownerReferences: [{ ...ref[0]!, name: 'f2', uid: String(f2.metadata.uid) }] } });
    store.delete(FLEETS, 'default', 'f2', { propagationPolicy: 'Orphan' });
    await new Promise((r) => setImmediate(r));
    assert.equal(store.get(GS, 'default', 'kept').metadata.ownerReferences, undefined);
    await store.close();
  });

  it('dependents written again (same owners, or moved to another) are still found by their owners', async () => {
    const store = openStore();
    const f = store.create(FLEETS, sampleFleet('f'));
    const f2 = store.create(FLEETS, sampleFleet('f2'));
    const refTo = (o: KubeObject) => [{ apiVersion: 'agones.dev/v1', kind: 'Fleet', name: String(o.metadata.name), uid: String(o.metadata.uid), controller: true }];
    for (let i = 0; i < 3; i++) store.create(GS, { ...sampleGameServer(`g${i}`), metadata: { name: `g${i}`, ownerReferences: refTo(f) } });
    // Written again with the same owner, twice; g2 moves to f2.
    for (const n of ['g0', 'g1', 'g0']) store.mutate(GS, 'default', n, (c) => ({ ...c, metadata: { ...c.metadata, labels: { at: String(Math.random()).slice(2, 8) } } }));
    store.mutate(GS, 'default', 'g2', (c) => ({ ...c, metadata: { ...c.metadata, ownerReferences: refTo(f2) } }));
    store.delete(FLEETS, 'default', 'f');
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(store.list(GS).items.map((o) => o.metadata.name), ['g2'], 'the two of f deleted, the one moved to f2 kept');
    store.delete(FLEETS, 'default', 'f2');
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(store.list(GS).items, []);
    await store.close();
  });

  it('deleting a namespace deletes what is in it', async () => {
    const store = openStore();
    store.create(RESOURCES.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
    store.create(RESOURCES.configMaps, sampleConfigMap('c', { a: 'b' }, { namespace: 'tmp' }));
    store.create(GS, sampleGameServer('g', { namespace: 'tmp' }));
    store.delete(RESOURCES.namespaces, undefined, 'tmp');
    await new Promise((r) => setImmediate(r));
    assert.equal(store.count(GS, 'tmp'), 0);
    assert.equal(store.count(RESOURCES.configMaps, 'tmp'), 0);
    await store.close();
  });
});

describe('MemoryObjectStore: watch, history, listeners', () => {
  it('absent resourceVersion: synthetic ADDED for current objects, then changes in order', async () => {
    const store = openStore();
    store.create(GS, sampleGameServer('a'));
    const seen: string[] = [];
    const w = store.watch(GS, {}, (e) => seen.push(`${e.type}:${e.object.metadata.name}`));
    store.create(GS, sampleGameServer('b'));
    store.mutate(GS, 'default', 'a', (c) => ({ ...c, status: { state: 'Ready' } }));
    store.delete(GS, 'default', 'b');
    w.stop();
    store.create(GS, sampleGameServer('c'));
    assert.deepEqual(seen, ['ADDED:a', 'ADDED:b', 'MODIFIED:a', 'DELETED:b']);
    await store.close();
  });

  it('replays from a resourceVersion; 410 Expired when it was compacted away or is from the future', async () => {
    const store = openStore({ historyLimit: 3 });
    const rv0 = store.currentResourceVersion();
    for (const n of ['a', 'b']) store.create(GS, sampleGameServer(n));
    const replay: string[] = [];
    store.watch(GS, { resourceVersion: rv0 }, (e) => replay.push(`${e.type}:${e.object.metadata.name}`)).stop();
    assert.deepEqual(replay, ['ADDED:a', 'ADDED:b']);
    for (const n of ['c', 'd', 'e']) store.create(GS, sampleGameServer(n));
    assert.throws(() => store.watch(GS, { resourceVersion: rv0 }, () => undefined), (e: unknown) => isApiError(e, 'Expired') && e.code === 410 && /too old resource version/.test(e.message));
    assert.throws(() => store.watch(GS, { resourceVersion: '999999' }, () => undefined), (e: unknown) => isApiError(e, 'Expired'));
    assert.throws(() => store.watch(GS, { resourceVersion: 'abc' }, () => undefined), (e: unknown) => isApiError(e, 'BadRequest'));
    await store.close();
  });

  it('drops history older than historyMaxAgeMs: a watch from before it gets 410, the recent ones replay', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = openStore({ historyMaxAgeMs: 60_000, now: () => now });
    const rv0 = store.currentResourceVersion();
    store.create(GS, sampleGameServer('a'));
    const rvA = store.currentResourceVersion();
    now += 30_000;
    store.create(GS, sampleGameServer('b'));
    // Both within the minute: a watch from before either replays both.
    const both: string[] = [];
    store.watch(GS, { resourceVersion: rv0 }, (e) => both.push(String(e.object.metadata.name))).stop();
    assert.deepEqual(both, ['a', 'b']);
    now += 40_000; // a is 70 s old now, b 40 s
    store.create(GS, sampleGameServer('c'));
    assert.throws(() => store.watch(GS, { resourceVersion: rv0 }, () => undefined), (e: unknown) => isApiError(e, 'Expired') && e.code === 410);
    const recent: string[] = [];
    store.watch(GS, { resourceVersion: rvA }, (e) => recent.push(String(e.object.metadata.name))).stop();
    assert.deepEqual(recent, ['b', 'c']);
    now += 10 * 60_000;
    store.create(GS, sampleGameServer('d'));
    // The newest event always stays: a watch from just before it still replays it.
    const rvC = String(Number(store.currentResourceVersion()) - 1);
    const last: string[] = [];
    store.watch(GS, { resourceVersion: rvC }, (e) => last.push(String(e.object.metadata.name))).stop();
    assert.deepEqual(last, ['d']);
    await store.close();
  });

  it('a deletion announces the last version with its own resourceVersion, sharing the rest of it (no deep copy in the history)', async () => {
    const store = openStore();
    const g = store.mutate(GS, 'default', store.create(GS, sampleGameServer('g')).metadata.name!, (c) => ({ ...c, metadata: { ...c.metadata, labels: { a: '1' } } }));
    const rv = store.currentResourceVersion();
    const live: WatchEvent[] = [];
    store.watch(GS, { resourceVersion: rv }, (e) => live.push(e));
    const returned = store.delete(GS, 'default', 'g');
    const replayed: WatchEvent[] = [];
    store.watch(GS, { resourceVersion: rv }, (e) => replayed.push(e)).stop();
    assert.deepEqual(live.map((e) => e.type), ['DELETED']);
    const d = live[0]!.object;
    assert.equal(replayed[0]!.object, d, 'the history keeps that one object');
    assert.equal(returned, d);
    assert.equal(d.metadata.resourceVersion, String(Number(rv) + 1));
    assert.deepEqual({ ...d, metadata: { ...d.metadata, resourceVersion: g.metadata.resourceVersion } }, g, 'otherwise the last version');
    assert.equal(d.spec, g.spec, 'spec shared with the last version');
    assert.equal(d.metadata.labels, g.metadata.labels, 'labels shared');
    assert.equal(Object.isFrozen(d) && Object.isFrozen(d.metadata), true);
    await store.close();
  });

  it('keeps the JSON text of current versions only: a superseded or deleted version is serialized again when asked', async () => {
    const store = openStore();
    const g0 = store.create(GS, sampleGameServer('g'));
    assert.equal(store.json(g0), JSON.stringify(g0));
    const stringify = JSON.stringify;
    let calls = 0;
    JSON.stringify = ((...args: Parameters<typeof stringify>) => {
      calls++;
      return stringify(...args);
    }) as typeof stringify;
    const serializes = (o: KubeObject): boolean => {
      const before = calls;
      assert.equal(store.json(o), stringify(o));
      return calls > before;
    };
    try {
      assert.equal(serializes(g0), false, 'the current version: cached');
      const g1 = store.mutate(GS, 'default', 'g', (c) => ({ ...c, metadata: { ...c.metadata, labels: { a: '1' } } }));
      assert.equal(serializes(g0), true, 'g0 superseded: its text was dropped');
      assert.equal(serializes(g0), true, 'and is not kept again');
      serializes(g1);
      assert.equal(serializes(g1), false, 'the new current version: cached');
      const d = store.delete(GS, 'default', 'g');
      assert.equal(serializes(g1), true, 'deleted: dropped');
      serializes(d);
      assert.equal(serializes(d), true, 'the deletion\'s final object is not cached either');
    } finally {
      JSON.stringify = stringify;
    }
    await store.close();
  });

  it('uids are flat strings: ~65 bytes each, not randomUUID()\'s ~490-byte tree of cons strings', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const n = 20_000;
    const used = (): number => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = used();
    const uids = Array.from({ length: n }, () => newUid());
    const perUid = (used() - before) / n;
    assert.match(uids[0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(uids).size, n);
    assert.ok(perUid < 200, `${perUid.toFixed(0)} bytes a uid`);
  });

  it('with a selector, leaving the selection is DELETED and entering it is ADDED', async () => {
    const store = openStore();
    store.create(GS, sampleGameServer('g', { labels: { state: 'ready' } }));
    const seen: WatchEvent[] = [];
    store.watch(GS, { labelSelector: 'state=ready' }, (e) => seen.push(e));
    const relabel = (v: string): KubeObject => store.mutate(GS, 'default', 'g', (c) => ({ ...c, metadata: { ...c.metadata, labels: { state: v } } }));
    const left = relabel('allocated');
    relabel('ready');
    assert.deepEqual(seen.map((e) => e.type), ['ADDED', 'DELETED', 'ADDED']);
    assert.equal(seen[1]!.object.metadata.resourceVersion, left.metadata.resourceVersion);
    await store.close();
  });

  it('bookmarks carry the current resourceVersion', async () => {
    const store = openStore();
    const got: WatchEvent[] = [];
    const w = store.watch(GS, { allowBookmarks: true, bookmarkIntervalMs: 10 }, (e) => got.push(e));
    store.create(GS, sampleGameServer('a'));
    await new Promise((r) => setTimeout(r, 40));
    w.stop();
    const bm = got.find((e) => e.type === 'BOOKMARK');
    assert.ok(bm);
    assert.deepEqual(bm.object, { apiVersion: 'agones.dev/v1', kind: 'GameServer', metadata: { resourceVersion: store.currentResourceVersion() } });
    await store.close();
  });

  it('a listener that writes sees its own change after every listener saw the current one', async () => {
    const store = openStore();
    const a: string[] = [];
    const b: string[] = [];
    store.onChange((e: ChangeEvent) => {
      a.push(`${e.resource}:${e.type}:${e.object.metadata.name}`);
      if (e.resource === FLEETS && e.type === 'ADDED') store.create(GS, sampleGameServer(`${String(e.object.metadata.name)}-gs`));
    });
    store.onChange((e) => b.push(`${e.resource}:${e.type}:${e.object.metadata.name}`));
    store.onChange(() => {
      throw new Error('a broken listener is logged and skipped');
    });
    store.create(FLEETS, sampleFleet('f'));
    assert.deepEqual(a, [`${FLEETS}:ADDED:f`, `${GS}:ADDED:f-gs`]);
    assert.deepEqual(b, a);
    await store.close();
  });

  it('secondary indexes follow every write', async () => {
    const store = openStore();
    store.addIndex(GS, 'state', (o) => [String((o.status as { state?: string } | undefined)?.state ?? '')]);
    store.create(GS, sampleGameServer('a', { state: 'Ready' }));
    store.create(GS, sampleGameServer('b', { state: 'Ready' }));
    assert.deepEqual(store.byIndex(GS, 'state', 'Ready').map((o) => o.metadata.name).sort(), ['a', 'b']);
    store.mutate(GS, 'default', 'a', (c) => ({ ...c, status: { state: 'Allocated' } }));
    store.delete(GS, 'default', 'b');
    assert.deepEqual(store.byIndex(GS, 'state', 'Ready'), []);
    assert.deepEqual(store.byIndex(GS, 'state', 'Allocated').map((o) => o.metadata.name), ['a']);
    await store.close();
  });

  it('Events are dropped past their retention (age), as the API server expires them', async () => {
    let now = Date.parse('2025-01-01T00:00:00Z');
    const store = openStore({ now: () => now });
    const ev = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Event', metadata: { name }, involvedObject: { kind: 'Fleet', name: 'f' }, reason: 'x' });
    store.create(RESOURCES.events, ev('old'));
    now += 3601_000;
    store.create(RESOURCES.events, ev('new'));
    store.sweepRetention();
    assert.deepEqual(store.list(RESOURCES.events).items.map((e) => e.metadata.name), ['new']);
    await store.close();
  });
});

describe('MemoryObjectStore: the allocation hot path (ordered indexes, derive, sharing, watch fan-out)', () => {
  const byCreation = (a: KubeObject, b: KubeObject): number => String(a.metadata.name).localeCompare(String(b.metadata.name));

  it('an ordered index gives its objects in order, through every write, by byIndex and scanIndex', async () => {
    const store = openStore();
    store.addIndex(GS, 'state', (o) => [String((o.status as { state?: string } | undefined)?.state ?? '')], { orderBy: byCreation });
    for (const n of ['c', 'a', 'e', 'b', 'd']) store.create(GS, sampleGameServer(n, { state: 'Ready' }));
    const names = (v: string): string[] => store.byIndex(GS, 'state', v).map((o) => String(o.metadata.name));
    assert.deepEqual(names('Ready'), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(store.byIndex(GS, 'state', 'Ready', 2).map((o) => o.metadata.name), ['a', 'b']);
    store.mutate(GS, 'default', 'a', (c) => ({ ...c, status: { state: 'Allocated' } }));
    store.mutate(GS, 'default', 'c', (c) => ({ ...c, metadata: { ...c.metadata, labels: { x: '1' } } }));
    store.delete(GS, 'default', 'd');
    assert.deepEqual(names('Ready'), ['b', 'c', 'e']);
    assert.deepEqual([...store.scanIndex(GS, 'state', 'Ready')].map((o) => o.metadata.name), ['b', 'c', 'e']);
    assert.equal(store.byIndex(GS, 'state', 'Ready')[1], store.get(GS, 'default', 'c'), 'the newest version');
    assert.equal(store.indexSize(GS, 'state', 'Ready'), 3);
    assert.deepEqual(names('Allocated'), ['a']);
    assert.deepEqual([...store.scanIndex(GS, 'state', 'None')], []);
    // Unordered indexes, and lists, keep an object in its place when a next version is written.
    store.addIndex(GS, 'all', () => ['x']);
    const before = store.byIndex(GS, 'all', 'x').map((o) => o.metadata.name);
    assert.deepEqual(before, ['c', 'a', 'e', 'b']);
    const a2 = store.mutate(GS, 'default', 'a', (c) => ({ ...c, metadata: { ...c.metadata, labels: { y: '1' } } }));
    assert.deepEqual(store.byIndex(GS, 'all', 'x').map((o) => o.metadata.name), before);
    assert.equal(store.byIndex(GS, 'all', 'x')[1], a2, 'the newest version, in the same place');
    assert.deepEqual(store.list(GS).items.map((o) => o.metadata.name), before);
    await store.close();
  });

  it('derive builds the next version from the stored one: unchanged parts are shared, the rest validated and frozen', async () => {
    const store = openStore();
    const g0 = store.create(GS, sampleGameServer('g', { state: 'Ready' }));
    const events: WatchEvent[] = [];
    store.watch(GS, { resourceVersion: store.currentResourceVersion() }, (e) => events.push(e));
    const g1 = store.derive(GS, 'default', 'g', (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { user: 'u1' } }, status: { ...(cur.status as object), state: 'Allocated' } }));
    assert.equal(g1.spec, g0.spec, 'spec shared with the version before');
    assert.deepEqual(g1.status, { state: 'Allocated' });
    assert.equal(Object.isFrozen(g1.metadata.labels) && Object.isFrozen(g1.status), true);
    assert.equal(Number(g1.metadata.resourceVersion), Number(g0.metadata.resourceVersion) + 1);
    assert.deepEqual(events.map((e) => [e.type, e.object]), [['MODIFIED', g1]]);
    assert.equal(store.json(g1), JSON.stringify(g1), 'the JSON text of shared parts is reused, the text the same');
    assert.equal(store.json(g0), JSON.stringify(g0));
    assert.equal(store.derive(GS, 'default', 'g', () => undefined), g1);
    assert.equal(store.derive(GS, 'default', 'g', (cur) => cur), g1);
    assert.equal(store.derive(GS, 'default', 'g', (cur) => ({ ...cur })), g1, 'equal content: no write, no event');
    assert.equal(events.length, 1);
    assert.throws(() => store.derive(GS, 'default', 'g', (cur) => ({ ...cur, status: { state: 'Nonsense' } })), (e: unknown) => isApiError(e, 'Invalid') && /status\.state/.test(e.message));
    assert.throws(() => store.derive(GS, 'default', 'g', (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { 'bad key!': 'x' } } })), (e: unknown) => isApiError(e, 'Invalid') && /metadata\.labels/.test(e.message));
    assert.throws(() => store.derive(GS, 'default', 'g', () => {
      store.create(GS, sampleGameServer('h'));
      return undefined;
    }), /must not write to the store/);
    assert.throws(() => store.derive(GS, 'default', 'gone', (c) => c), (e: unknown) => isApiError(e, 'NotFound'));
    await store.close();
  });

  it('mutate and status writes share what did not change with the version before; no-op detection still holds', async () => {
    const store = openStore();
    const f0 = store.create(FLEETS, sampleFleet('f'));
    const f1 = store.mutate(FLEETS, 'default', 'f', (c) => ({ ...c, status: { replicas: 2 } }), { subresource: 'status' });
    assert.equal(f1.spec, f0.spec);
    assert.equal(f1.metadata.generation, f0.metadata.generation);
    const f2 = store.mutate(FLEETS, 'default', 'f', (c) => {
      (c.spec as { replicas: number }).replicas = 5;
      return c;
    });
    assert.equal(f2.metadata.generation, Number(f1.metadata.generation) + 1);
    assert.equal((f2.spec as { template: unknown }).template, (f1.spec as { template: unknown }).template, 'the untouched template is shared');
    assert.equal(f2.status, f1.status);
    const rv = store.currentResourceVersion();
    assert.equal(store.mutate(FLEETS, 'default', 'f', (c) => c), f2, 'an unchanged copy is no write');
    assert.equal(store.update(FLEETS, { ...structuredClone(f2) }), f2);
    assert.equal(store.currentResourceVersion(), rv);
    await store.close();
  });

  it('watches pinned to one name get only its events; every watcher still gets events in order of creation', async () => {
    const store = openStore();
    store.create(GS, sampleGameServer('a'));
    store.create(GS, sampleGameServer('b'));
    const rv = store.currentResourceVersion();
    const order: string[] = [];
    const watch = (label: string, fieldSelector?: string): void => {
      store.watch(GS, { resourceVersion: rv, ...(fieldSelector ? { fieldSelector } : {}) }, (e) => order.push(`${label}:${e.type}:${e.object.metadata.name}`));
    };
    watch('all1');
    watch('a1', 'metadata.name=a');
    watch('b1', 'metadata.name=b');
    watch('all2');
    watch('a2', 'metadata.name=a,metadata.namespace=default');
    watch('notA', 'metadata.name!=a');
    store.mutate(GS, 'default', 'a', (c) => ({ ...c, metadata: { ...c.metadata, labels: { n: '1' } } }));
    store.delete(GS, 'default', 'b');
    assert.deepEqual(order, [
      'all1:MODIFIED:a', 'a1:MODIFIED:a', 'all2:MODIFIED:a', 'a2:MODIFIED:a',
      'all1:DELETED:b', 'b1:DELETED:b', 'all2:DELETED:b', 'notA:DELETED:b',
    ]);
    await store.close();
  });
});

describe('MemoryObjectStore: versions share their hidden classes', () => {
  it('objects written by derive, status writes and deletions keep one map per shape (V8 natives, in a child process)', async () => {
    // %HaveSameMap needs --allow-natives-syntax, which this process was not started with.
    // What it guards: versions derived by spreading a spread-made object each got a map of
    // their own when frozen (two maps and descriptor arrays per allocation, ~570 bytes).
    const here = new URL('.', import.meta.url);
    const script = `
      const { openStore } = await import(${JSON.stringify(new URL('./open-store.ts', here).href)});
      const { RESOURCES } = await import(${JSON.stringify(new URL('../resources/registry.ts', here).href)});
      const { sampleFleet, sampleGameServer } = await import(${JSON.stringify(new URL('../resources/testing.ts', here).href)});
      const same = new Function('a', 'b', 'return %HaveSameMap(a, b)');
      const distinct = (objs) => { const reps = []; for (const o of objs) if (!reps.some((r) => same(r, o))) reps.push(o); return reps.length; };
      const GS = RESOURCES.gameServers;
      const store = openStore();
      const n = 200;
      for (let i = 0; i < n; i++) store.create(GS, sampleGameServer('g' + i));
      const step = (i, k) => store.derive(GS, 'default', 'g' + i, (c) => ({ ...c, metadata: { ...c.metadata, labels: { ...c.metadata.labels, user: 'u' + i + '-' + k } } }));
      for (let i = 0; i < n; i++) { step(i, 1); step(i, 2); }
      const derived = Array.from({ length: n }, (_, i) => store.get(GS, 'default', 'g' + i));
      // Status writes (the status subresource: Fleets have one, GameServers as in Agones not).
      const F = RESOURCES.fleets;
      for (let i = 0; i < n; i++) store.create(F, sampleFleet('f' + i));
      for (let k = 1; k <= 2; k++) for (let i = 0; i < n; i++) store.mutate(F, 'default', 'f' + i, (c) => ({ ...c, status: { replicas: k, readyReplicas: k } }), { subresource: 'status' });
      const status = Array.from({ length: n }, (_, i) => store.get(F, 'default', 'f' + i));
      const deleted = [];
      store.watch(GS, {}, (e) => { if (e.type === 'DELETED') deleted.push(e.object); });
      for (let i = 0; i < n; i++) store.delete(GS, 'default', 'g' + i);
      console.log(JSON.stringify({
        derived: [distinct(derived), distinct(derived.map((o) => o.metadata))],
        status: [distinct(status), distinct(status.map((o) => o.metadata))],
        deleted: [distinct(deleted), distinct(deleted.map((o) => o.metadata)), deleted.length],
      }));
      await store.close();
    `;
    const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { derived: number[]; status: number[]; deleted: number[] };
    assert.deepEqual(r, { derived: [1, 1], status: [1, 1], deleted: [1, 1, 200] });
  });
});
