import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../common/log.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import { AutoscalerService } from '../../fleet/autoscaler/service.ts';
import { MemoryStore } from '../../fleet/autoscaler/store.ts';
import type { KubeClients } from '../kube/clients.ts';
import { endedSessionFleet, FleetResizer, fleetStatusOf, setFleetReplicas, sizedBySdfleet, startedSessionFleet, type FleetResizerOptions } from './fleet-resize.ts';

const gs = (name: string, state: string, extra: { deleting?: boolean; fleet?: string } = {}): GameServer => ({
  metadata: { name, namespace: 'default', labels: { 'agones.dev/fleet': extra.fleet ?? 'sd-webui' }, ...(extra.deleting ? { deletionTimestamp: '2024-01-08T10:00:00Z' } : {}) },
  status: { state },
} as unknown as GameServer);

const WEBHOOK_FAS = { spec: { fleetName: 'sd-webui', policy: { type: 'Webhook', webhook: { service: { name: 'sdfleet-allocator', path: '/_sdfleet/autoscaler/review' } } } } };

/**
 * A Fleet in a fake API server: GET and a merge patch honouring metadata.resourceVersion
 * (409 when stale); the namespace's FleetAutoscalers listed.
 */
function fakeApi(replicas: number, autoscalers: unknown[] = [WEBHOOK_FAS]) {
  const fleet = { metadata: { name: 'sd-webui', resourceVersion: '1' }, spec: { replicas } };
  const calls: string[] = [];
  let beforePatch: (() => void) | undefined;
  const bump = (): void => void (fleet.metadata.resourceVersion = String(Number(fleet.metadata.resourceVersion) + 1));
  const custom = {
    getNamespacedCustomObject: (a: { name: string }) => {
      calls.push('get');
      if (a.name !== 'sd-webui') return Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
      return Promise.resolve(structuredClone(fleet));
    },
    listNamespacedCustomObject: (a: { plural: string }) => {
      calls.push(`list ${a.plural}`);
      return Promise.resolve({ items: structuredClone(autoscalers) });
    },
    patchNamespacedCustomObject: (a: { body: { metadata: { resourceVersion: string }; spec: { replicas: number } } }) => {
      calls.push(`patch ${a.body.spec.replicas}`);
      beforePatch?.();
      beforePatch = undefined;
      if (a.body.metadata.resourceVersion !== fleet.metadata.resourceVersion) return Promise.reject(Object.assign(new Error('conflict'), { code: 409 }));
      fleet.spec.replicas = a.body.spec.replicas;
      bump();
      return Promise.resolve(structuredClone(fleet));
    },
  };
  const k = { namespace: 'default', custom } as unknown as Pick<KubeClients, 'custom' | 'namespace'>;
  return { k, fleet, calls, bump, autoscalers, race: (f: () => void) => void (beforePatch = f) };
}

/** A FleetResizer with quiet defaults: no queue, one fleet, the leader, silent. */
function resizer(o: Partial<FleetResizerOptions> & Pick<FleetResizerOptions, 'k' | 'decide' | 'specReplicas' | 'gameServers'>): FleetResizer {
  return new FleetResizer({ fleets: () => ['sd-webui'], queued: () => 0, isLeader: () => true, log: silentLogger(), ...o });
}

describe('release-time shrink and grow on arrival, the allocator side', () => {
  it('a session ends when its GameServer leaves Allocated', () => {
    const table: [GameServer | undefined, GameServer | undefined, string | undefined][] = [
      [gs('a', 'Allocated'), gs('a', 'Shutdown'), 'sd-webui'],
      [gs('a', 'Allocated'), gs('a', 'Unhealthy'), 'sd-webui'],
      [gs('a', 'Allocated'), gs('a', 'Allocated', { deleting: true }), 'sd-webui'],
      [gs('a', 'Allocated'), undefined, 'sd-webui'],
      [gs('a', 'Allocated'), gs('a', 'Allocated'), undefined],
      [gs('a', 'Ready'), gs('a', 'Allocated'), undefined],
      [gs('a', 'Ready'), gs('a', 'Shutdown'), undefined],
      [gs('a', 'Shutdown'), undefined, undefined],
      [undefined, gs('a', 'Ready'), undefined],
    ];
    for (const [prev, next, want] of table) assert.equal(endedSessionFleet(prev, next), want, `${prev?.status?.state} → ${next?.status?.state ?? 'deleted'}`);
  });

  it('counts the Fleet as its controller does: over and deleting ones left out', () => {
    const all = [gs('a', 'Ready'), gs('b', 'Allocated'), gs('c', 'Shutdown'), gs('d', 'Starting'), gs('e', 'Ready', { deleting: true }), gs('f', 'Ready', { fleet: 'other' })];
    assert.deepEqual(fleetStatusOf('sd-webui', all), { replicas: 3, readyReplicas: 1, reservedReplicas: 0, allocatedReplicas: 1 });
  });

  it("only a Fleet sized by sdfleet's webhook (the Webhook policy at its path, by service or URL)", () => {
    const fas = (fleetName: string, policy: unknown) => ({ spec: { fleetName, policy } });
    const table: [unknown, boolean][] = [
      [WEBHOOK_FAS, true],
      [fas('sd-webui', { type: 'Webhook', webhook: { service: { name: 'x', path: '_sdfleet/autoscaler/review/' } } }), true],
      [fas('sd-webui', { type: 'Webhook', webhook: { url: 'http://127.0.0.1:8080/_sdfleet/autoscaler/review' } }), true],
      [fas('sd-webui', { type: 'Webhook', webhook: { url: 'https://gw.example/team-a/_sdfleet/autoscaler/review' } }), true],
      [fas('other', { type: 'Webhook', webhook: { url: 'http://127.0.0.1:8080/_sdfleet/autoscaler/review' } }), false],
      [fas('sd-webui', { type: 'Webhook', webhook: { url: 'http://127.0.0.1:9000/scale' } }), false],
      [fas('sd-webui', { type: 'Webhook', webhook: { url: 'not a url' } }), false],
      [fas('sd-webui', { type: 'Webhook', webhook: {} }), false],
      [fas('sd-webui', { type: 'Buffer', buffer: { bufferSize: 2, maxReplicas: 10 } }), false],
      [{}, false],
    ];
    for (const [f, want] of table) assert.equal(sizedBySdfleet(f as never, 'sd-webui'), want, JSON.stringify(f));
  });

  it("counts the Fleet at the release's change, before the Fleet's replacement reaches the informer", async () => {
    const servers = [gs('a', 'Shutdown'), gs('b', 'Allocated')];
    const api = fakeApi(2);
    const seen: unknown[] = [];
    const shrinker = resizer({
      k: api.k, specReplicas: () => api.fleet.spec.replicas, gameServers: () => servers,
      decide: {
        release: (_ref, f) => {
          seen.push(f.status);
          return Promise.resolve({ replicas: 1, shrink: f.status.replicas! < f.specReplicas, reason: 'test' });
        },
        arrival: () => Promise.resolve(undefined),
      },
    });
    const done = shrinker.changed(gs('a', 'Allocated'), gs('a', 'Shutdown'));
    // The informer's next event, in the same chunk: the Fleet's replacement.
    servers.push(gs('c', 'Creating'));
    await done;
    assert.deepEqual(seen, [{ replicas: 1, readyReplicas: 0, reservedReplicas: 0, allocatedReplicas: 1 }]);
    assert.equal(api.fleet.spec.replicas, 1, 'lowered: the replacement is not counted as a GameServer the Fleet keeps');
  });

  it('lowers spec.replicas only while it is the value decided against', async () => {
    const a = fakeApi(5);
    assert.equal(await setFleetReplicas(a.k, 'sd-webui', 5, 4), 'set');
    assert.equal(a.fleet.spec.replicas, 4);
    // Agones' sync wrote in between: its value stands.
    const b = fakeApi(7);
    assert.equal(await setFleetReplicas(b.k, 'sd-webui', 5, 4), 'changed');
    assert.equal(b.fleet.spec.replicas, 7);
    assert.deepEqual(b.calls, ['get']);
    // A write lands between the read and the patch: 409, read again, theirs stands.
    const c = fakeApi(5);
    c.race(() => { c.fleet.spec.replicas = 9; c.bump(); });
    assert.equal(await setFleetReplicas(c.k, 'sd-webui', 5, 4), 'changed');
    assert.equal(c.fleet.spec.replicas, 9);
    assert.deepEqual(c.calls, ['get', 'patch 4', 'get']);
    // Only the status changed in between: retried.
    const d = fakeApi(5);
    d.race(() => d.bump());
    assert.equal(await setFleetReplicas(d.k, 'sd-webui', 5, 4), 'set');
    assert.equal(d.fleet.spec.replicas, 4);
    assert.equal(await setFleetReplicas(d.k, 'gone', 5, 4), 'gone');
  });

  it('end to end over the autoscaler service: the last session of a quiet fleet ends, the slot is not refilled; on by default', async () => {
    const now = Date.UTC(2024, 0, 8, 3); // 03:00, nobody around
    const servers = [gs('a', 'Shutdown')];
    const store = new MemoryStore();
    const service = new AutoscalerService({
      views: {
        synced: () => true, queue: { entries: () => [] }, gameServers: { all: () => servers },
        profiles: [{ name: 'default', selectors: [{ matchLabels: { 'agones.dev/fleet': 'sd-webui' } }] }],
        fleetLabels: () => Promise.resolve({}),
      },
      store, log: silentLogger(), now: () => now, saveEveryMs: 1e12, policyEveryMs: 0,
    });
    let leader = true;
    const run = async (autoscalers?: unknown[]): Promise<ReturnType<typeof fakeApi>> => {
      const api = fakeApi(1, autoscalers);
      const shrinker = resizer({
        k: api.k, decide: { release: (ref, f) => service.release(ref, f), arrival: (ref, f) => service.arrival(ref, f) }, specReplicas: () => api.fleet.spec.replicas,
        gameServers: () => servers, isLeader: () => leader,
      });
      await shrinker.changed(gs('a', 'Allocated'), gs('a', 'Shutdown'));
      return api;
    };
    const on = await run();
    assert.equal(on.fleet.spec.replicas, 0, 'shrinkOnRelease on (the default): lowered by the freed slot');
    assert.deepEqual(on.calls, ['list fleetautoscalers', 'get', 'patch 0']);
    // A Fleet the webhook does not size (fixed, Buffer, no FleetAutoscaler): never lowered, nothing would raise it again.
    const buffer = await run([{ spec: { fleetName: 'sd-webui', policy: { type: 'Buffer', buffer: { bufferSize: 2 } } } }]);
    assert.equal(buffer.fleet.spec.replicas, 1, 'a Buffer FleetAutoscaler: the Fleet refills as Agones would');
    assert.deepEqual(buffer.calls, ['list fleetautoscalers']);
    assert.equal((await run([])).fleet.spec.replicas, 1, 'no FleetAutoscaler: the Fleet refills');
    store.policies.set('default', 'shrinkOnRelease: false\n');
    const off = await run();
    assert.equal(off.fleet.spec.replicas, 1, 'shrinkOnRelease off: the Fleet refills as Agones would');
    assert.deepEqual(off.calls, [], 'off: nothing read or written');
    store.policies.set('default', '');
    leader = false;
    assert.deepEqual((await run()).calls, [], 'only the leader acts');
    await service.stop();
  });

  it('a GameServer is taken when it becomes Allocated', () => {
    const table: [GameServer | undefined, GameServer | undefined, string | undefined][] = [
      [gs('a', 'Ready'), gs('a', 'Allocated'), 'sd-webui'],
      [undefined, gs('a', 'Allocated'), 'sd-webui'],
      [gs('a', 'Allocated'), gs('a', 'Allocated'), undefined],
      [gs('a', 'Ready'), gs('a', 'Allocated', { deleting: true }), undefined],
      [gs('a', 'Starting'), gs('a', 'Ready'), undefined],
      [gs('a', 'Allocated'), gs('a', 'Shutdown'), undefined],
      [gs('a', 'Ready'), { ...gs('a', 'Allocated'), metadata: { name: 'a' } } as GameServer, undefined],
    ];
    for (const [prev, next, want] of table) assert.equal(startedSessionFleet(prev, next), want, `${prev?.status?.state ?? 'new'} → ${next?.status?.state}`);
  });

  it('grows: raised to what the policy wants, once per burst of arrivals, on a take or a queue that grew; only the leader, only a Fleet sdfleet sizes', async () => {
    const api = fakeApi(2);
    const servers = [gs('a', 'Allocated'), gs('b', 'Allocated')];
    let queued = 0;
    let leader = true;
    let sized = true;
    const asked: { spec: number; allocated: number | undefined }[] = [];
    let release: () => void = () => undefined;
    let hold = Promise.resolve();
    const r = resizer({
      k: api.k, specReplicas: () => api.fleet.spec.replicas, gameServers: () => servers, queued: () => queued,
      isLeader: () => leader, sizedBySdfleet: () => Promise.resolve(sized),
      decide: {
        release: () => Promise.resolve(undefined),
        arrival: async (_ref, f) => {
          asked.push({ spec: f.specReplicas, allocated: f.status.allocatedReplicas });
          await hold;
          const want = (f.status.allocatedReplicas ?? 0) + queued + 1;
          return { replicas: Math.max(want, f.specReplicas), grow: want > f.specReplicas, reason: 'test' };
        },
      },
    });
    // b was taken: 2 allocated, the policy wants one warm: 3.
    await r.changed(gs('b', 'Ready'), gs('b', 'Allocated'));
    assert.equal(api.fleet.spec.replicas, 3);
    assert.deepEqual(asked, [{ spec: 2, allocated: 2 }]);
    // A burst: while one check runs, the arrivals after it ask once more in all, not once each.
    hold = new Promise((res) => (release = res));
    servers.push(gs('c', 'Allocated'), gs('d', 'Allocated'), gs('e', 'Allocated'));
    const first = r.changed(gs('c', 'Ready'), gs('c', 'Allocated'));
    await new Promise((res) => setImmediate(res));
    assert.equal(asked.length, 2, 'the check for c is running');
    const burst = [first, r.changed(gs('d', 'Ready'), gs('d', 'Allocated')), r.changed(gs('e', 'Ready'), gs('e', 'Allocated'))];
    release();
    await Promise.all(burst);
    assert.equal(asked.length, 3, `one check running, one after it for the rest: ${JSON.stringify(asked)}`);
    assert.equal(api.fleet.spec.replicas, 6, '5 allocated + 1 warm');
    // The queue grew by two: asked again; shrinking or unchanged: not asked.
    queued = 2;
    await r.queueChanged();
    assert.equal(api.fleet.spec.replicas, 8);
    assert.equal(asked.length, 4);
    await r.queueChanged();
    queued = 1;
    await r.queueChanged();
    assert.equal(asked.length, 4, 'the queue did not grow');
    // Not a Fleet sdfleet sizes: no decision, nothing written.
    sized = false;
    queued = 3;
    await r.queueChanged();
    assert.equal(asked.length, 4);
    assert.equal(api.fleet.spec.replicas, 8);
    // A follower does nothing.
    sized = true;
    leader = false;
    await r.changed(gs('f', 'Ready'), gs('f', 'Allocated'));
    queued = 9;
    await r.queueChanged();
    assert.equal(asked.length, 4);
    assert.deepEqual(api.calls.filter((c) => c.startsWith('patch')), ['patch 3', 'patch 6', 'patch 8']);
  });

  it('grow on arrival over the autoscaler service: a queue forms at a full fleet and the Fleet grows at once; on by default, off by setting', async () => {
    const now = Date.UTC(2024, 0, 8, 10); // a Monday, 10:00
    const servers = [gs('a', 'Allocated')];
    const entries: { profile: string; sessionId: string; queuedAt: string }[] = [];
    const store = new MemoryStore();
    const service = new AutoscalerService({
      views: {
        synced: () => true, queue: { entries: () => entries }, gameServers: { all: () => servers },
        profiles: [{ name: 'default', selectors: [{ matchLabels: { 'agones.dev/fleet': 'sd-webui' } }] }],
        fleetLabels: () => Promise.resolve({}),
      },
      store, log: silentLogger(), now: () => now, saveEveryMs: 1e12, policyEveryMs: 0,
    });
    const run = async (): Promise<ReturnType<typeof fakeApi>> => {
      const api = fakeApi(1);
      const r = resizer({
        k: api.k, decide: { release: (ref, f) => service.release(ref, f), arrival: (ref, f) => service.arrival(ref, f) },
        specReplicas: () => api.fleet.spec.replicas, gameServers: () => servers, queued: () => entries.length,
      });
      const at = new Date(now).toISOString();
      entries.push({ profile: 'default', sessionId: 's-1', queuedAt: at }, { profile: 'default', sessionId: 's-2', queuedAt: at });
      await r.queueChanged();
      entries.length = 0;
      return api;
    };
    const on = await run();
    assert.ok(on.fleet.spec.replicas >= 3, `1 allocated + 2 queued at least: ${on.fleet.spec.replicas}`);
    assert.deepEqual(on.calls, ['list fleetautoscalers', 'get', `patch ${on.fleet.spec.replicas}`]);
    store.policies.set('default', 'growOnArrival: false\n');
    const off = await run();
    assert.equal(off.fleet.spec.replicas, 1, 'growOnArrival off: left to the sync');
    assert.deepEqual(off.calls, ['list fleetautoscalers'], 'off: the policy answers nothing, nothing is written');
    await service.stop();
  });

  it("which Fleets sdfleet's webhook sizes is listed once, trusted 30 s, and listed again when a FleetAutoscaler changes", async () => {
    const api = fakeApi(2, []);
    let now = 0;
    const servers = [gs('a', 'Allocated'), gs('b', 'Allocated')];
    const r = resizer({
      k: api.k, specReplicas: () => api.fleet.spec.replicas, gameServers: () => servers, now: () => now,
      decide: { release: () => Promise.resolve(undefined), arrival: (_ref, f) => Promise.resolve({ replicas: f.specReplicas + 1, grow: true, reason: 'test' }) },
    });
    const take = (name: string) => r.changed(gs(name, 'Ready'), gs(name, 'Allocated'));
    const lists = () => api.calls.filter((c) => c === 'list fleetautoscalers').length;
    await take('a');
    await take('b');
    assert.equal(lists(), 1, 'listed once for both arrivals');
    assert.equal(api.fleet.spec.replicas, 2, 'no FleetAutoscaler of sdfleet: never grown');
    now = 31_000;
    await take('a');
    assert.equal(lists(), 2, 'listed again after 30 s');
    // A Webhook FleetAutoscaler is created: the informer says so, and the next arrival grows the Fleet.
    api.autoscalers.push(WEBHOOK_FAS);
    r.autoscalersChanged();
    await take('b');
    assert.equal(lists(), 3);
    assert.equal(api.fleet.spec.replicas, 3);
  });
});

