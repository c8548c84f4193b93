import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../common/log.ts';
import type { GameServer } from '../../fleet/agones/types.ts';
import { AutoscalerService } from '../../fleet/autoscaler/service.ts';
import { MemoryStore } from '../../fleet/autoscaler/store.ts';
import type { KubeClients } from '../kube/clients.ts';
import { endedSessionFleet, fleetStatusOf, lowerFleetReplicas, ReleaseShrinker, sizedBySdfleet } from './release-shrink.ts';

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
  return { k, fleet, calls, bump, race: (f: () => void) => void (beforePatch = f) };
}

describe('release-time shrink, the allocator side', () => {
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
    const shrinker = new ReleaseShrinker({
      k: api.k, specReplicas: () => api.fleet.spec.replicas, gameServers: () => servers, isLeader: () => true, log: silentLogger(),
      decide: (_ref, f) => {
        seen.push(f.status);
        return Promise.resolve({ replicas: 1, shrink: f.status.replicas! < f.specReplicas, reason: 'test' });
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
    assert.equal(await lowerFleetReplicas(a.k, 'sd-webui', 5, 4), 'lowered');
    assert.equal(a.fleet.spec.replicas, 4);
    // Agones' sync wrote in between: its value stands.
    const b = fakeApi(7);
    assert.equal(await lowerFleetReplicas(b.k, 'sd-webui', 5, 4), 'changed');
    assert.equal(b.fleet.spec.replicas, 7);
    assert.deepEqual(b.calls, ['get']);
    // A write lands between the read and the patch: 409, read again, theirs stands.
    const c = fakeApi(5);
    c.race(() => { c.fleet.spec.replicas = 9; c.bump(); });
    assert.equal(await lowerFleetReplicas(c.k, 'sd-webui', 5, 4), 'changed');
    assert.equal(c.fleet.spec.replicas, 9);
    assert.deepEqual(c.calls, ['get', 'patch 4', 'get']);
    // Only the status changed in between: retried.
    const d = fakeApi(5);
    d.race(() => d.bump());
    assert.equal(await lowerFleetReplicas(d.k, 'sd-webui', 5, 4), 'lowered');
    assert.equal(d.fleet.spec.replicas, 4);
    assert.equal(await lowerFleetReplicas(d.k, 'gone', 5, 4), 'gone');
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
      const shrinker = new ReleaseShrinker({
        k: api.k, decide: (ref, f) => service.release(ref, f), specReplicas: () => api.fleet.spec.replicas,
        gameServers: () => servers, isLeader: () => leader, log: silentLogger(),
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
});
