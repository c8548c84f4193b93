import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../../common/log.ts';
import type { GameServer } from '../../agones/types.ts';
import { RESOURCES } from '../resources/registry.ts';
import { FakeRunner } from '../runner/fake-runner.ts';
import { openStore } from '../store/open-store.ts';
import type { KubeObject } from '../store/types.ts';
import { allocationHandler } from './allocation.ts';
import { startControllers } from './index.ts';

const fleetManifest = (replicas: number, image = 'v1'): KubeObject => ({
  apiVersion: 'agones.dev/v1',
  kind: 'Fleet',
  metadata: { name: 'sd-webui', namespace: 'default' },
  spec: {
    replicas,
    template: {
      metadata: { labels: { model: 'sd15' } },
      spec: {
        ports: [{ name: 'webui', containerPort: 7860, protocol: 'TCP' }],
        template: { spec: { containers: [{ name: 'webui', image, command: ['true'] }] } },
      },
    },
  },
});

async function rig() {
  const store = openStore({ logger: silentLogger() });
  let handler: ((obj: KubeObject) => KubeObject) | undefined;
  // The fake process says Ready at once, as a wrapper would once warm.
  const runner = new FakeRunner((spec) => {
    store.mutate(RESOURCES.gameServers, spec.namespace, spec.name, (c) => {
      (c as unknown as GameServer).status = { ...(c as unknown as GameServer).status, state: 'RequestReady' };
      return c;
    });
  });
  const controllers = startControllers({
    store, runner, log: silentLogger(), sdkServers: false, portRange: { min: 20000, max: 20999 },
    registerCreateHandler: (_r, h) => { handler = h; return () => undefined; },
  });
  const gss = () => store.list(RESOURCES.gameServers).items as unknown as GameServer[];
  const states = () => gss().map((g) => g.status?.state ?? '').sort();
  const settle = async (pred: () => boolean, what: string, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await controllers.idle();
      if (pred()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(states())}`);
  };
  const allocate = (labels: Record<string, string> = {}) =>
    handler!({ apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', metadata: { namespace: 'default' }, spec: { selectors: [{ matchLabels: { 'agones.dev/fleet': 'sd-webui' } }], metadata: { labels } } });
  const setReplicas = (n: number) => store.mutate(RESOURCES.fleets, 'default', 'sd-webui', (c) => { (c.spec as { replicas: number }).replicas = n; return c; });
  const allocateSpec = (spec: Record<string, unknown>) => handler!({ apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', metadata: { namespace: 'default' }, spec });
  return { store, runner, controllers, gss, states, settle, allocate, allocateSpec, setReplicas, close: async () => { await controllers.stop(); await store.close(); } };
}

describe('embedded controllers (no processes)', () => {
  const rigs: Awaited<ReturnType<typeof rig>>[] = [];
  after(async () => { for (const r of rigs) await r.close(); });

  it('a Fleet makes GameServers that go through the lifecycle to Ready, named and labelled as Agones does', async () => {
    const r = await rig(); rigs.push(r);
    r.store.create(RESOURCES.fleets, fleetManifest(3));
    await r.settle(() => r.states().join() === 'Ready,Ready,Ready', '3 Ready');
    const gs = r.gss()[0]!;
    assert.match(gs.metadata.name!, /^sd-webui-[a-z0-9]{5}$/);
    assert.equal(gs.metadata.labels?.['agones.dev/fleet'], 'sd-webui');
    assert.equal(gs.metadata.labels?.model, 'sd15');
    assert.equal(gs.metadata.ownerReferences?.[0]?.kind, 'Fleet');
    assert.equal(gs.status?.address, '127.0.0.1');
    const port = gs.status?.ports?.[0]?.port ?? 0;
    assert.ok(port >= 20000 && port <= 20999, `host port ${port} from the range`);
    const fleet = r.store.get(RESOURCES.fleets, 'default', 'sd-webui');
    assert.deepEqual({ ...(fleet.status as object) }, { replicas: 3, readyReplicas: 3, reservedReplicas: 0, allocatedReplicas: 0, labelSelector: 'agones.dev/fleet=sd-webui' });
    const reasons = r.store.list(RESOURCES.events).items.map((e) => e.reason);
    for (const reason of ['Creating', 'Scheduled', 'Ready']) assert.ok(reasons.includes(reason), `event ${reason}`);
  });

  it('allocation takes a Ready one; scale-down leaves Allocated alone', async () => {
    const r = await rig(); rigs.push(r);
    r.store.create(RESOURCES.fleets, fleetManifest(3));
    await r.settle(() => r.states().join() === 'Ready,Ready,Ready', '3 Ready');
    const a = r.allocate({ 'sdfleet.dev/user': 'u1' });
    assert.equal((a.status as { state: string }).state, 'Allocated');
    const name = (a.status as { gameServerName: string }).gameServerName;
    assert.equal((r.store.get(RESOURCES.gameServers, 'default', name) as unknown as GameServer).metadata.labels?.['sdfleet.dev/user'], 'u1');
    r.setReplicas(0);
    await r.settle(() => r.states().join() === 'Allocated', 'only the Allocated one left');
    assert.equal(r.gss()[0]!.metadata.name, name);
    assert.equal((r.allocate().status as { state: string }).state, 'UnAllocated');
  });

  it('a crashed GameServer turns Unhealthy and is replaced', async () => {
    const r = await rig(); rigs.push(r);
    r.store.create(RESOURCES.fleets, fleetManifest(2));
    await r.settle(() => r.states().join() === 'Ready,Ready', '2 Ready');
    const victim = r.gss()[0]!.metadata.name!;
    r.runner.crash(`default/${victim}`);
    await r.settle(() => !r.gss().some((g) => g.metadata.name === victim) && r.states().join() === 'Ready,Ready', 'replacement');
    const ev = r.store.list(RESOURCES.events).items.find((e) => e.reason === 'Unhealthy');
    assert.match(String(ev?.message), /process exited \(code 1\): fake crash/);
  });

  it('a template change rolls new GameServers in and keeps the Allocated one', async () => {
    const r = await rig(); rigs.push(r);
    r.store.create(RESOURCES.fleets, fleetManifest(4));
    await r.settle(() => r.states().join() === 'Ready,Ready,Ready,Ready', '4 Ready');
    const kept = (r.allocate().status as { gameServerName: string }).gameServerName;
    const oldHash = r.gss()[0]!.metadata.labels?.['sdfleet.dev/template-hash'];
    r.store.mutate(RESOURCES.fleets, 'default', 'sd-webui', (c) => {
      const t = (c.spec as { template: { spec: { template: { spec: { containers: { image: string }[] } } } } }).template;
      t.spec.template.spec.containers[0]!.image = 'v2';
      return c;
    });
    await r.settle(() => r.gss().filter((g) => g.status?.state === 'Ready' && g.metadata.labels?.['sdfleet.dev/template-hash'] !== oldHash).length === 3
      && !r.gss().some((g) => g.status?.state === 'Ready' && g.metadata.labels?.['sdfleet.dev/template-hash'] === oldHash), 'rolled');
    assert.ok(r.gss().some((g) => g.metadata.name === kept && g.status?.state === 'Allocated'), 'the allocated one is untouched');
  });

  it('a Buffer FleetAutoscaler keeps the buffer above the allocated ones', async () => {
    const r = await rig(); rigs.push(r);
    r.store.create(RESOURCES.fleets, fleetManifest(1));
    r.store.create(RESOURCES.fleetAutoscalers, {
      apiVersion: 'autoscaling.agones.dev/v1', kind: 'FleetAutoscaler', metadata: { name: 'sd-webui-autoscaler', namespace: 'default' },
      spec: { fleetName: 'sd-webui', policy: { type: 'Buffer', buffer: { bufferSize: 2, minReplicas: 0, maxReplicas: 10 } }, sync: { type: 'FixedInterval', fixedInterval: { seconds: 1 } } },
    });
    await r.settle(() => r.states().join() === 'Ready,Ready', 'buffer of 2');
    r.allocate();
    await r.controllers.autoscalers.syncNow('default/sd-webui-autoscaler');
    await r.settle(() => r.states().join() === 'Allocated,Ready,Ready', 'allocated + 2');
    const fas = r.store.get(RESOURCES.fleetAutoscalers, 'default', 'sd-webui-autoscaler').status as Record<string, unknown>;
    assert.equal(fas.desiredReplicas, 3);
    assert.equal(fas.ableToScale, true);
    assert.equal(typeof fas.lastScaleTime, 'string');
  });

  it('a Webhook FleetAutoscaler posts a FleetAutoscaleReview and applies the answer', async () => {
    const r = await rig(); rigs.push(r);
    const reviews: { request: { uid: string; name: string; status: { readyReplicas?: number } } }[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const review = JSON.parse(body) as (typeof reviews)[number];
        reviews.push(review);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ response: { uid: review.request.uid, scale: true, replicas: 3 } }));
      });
    });
    await new Promise<void>((res) => hook.listen(0, '127.0.0.1', res));
    try {
      r.store.create(RESOURCES.fleets, fleetManifest(1));
      r.store.create(RESOURCES.fleetAutoscalers, {
        apiVersion: 'autoscaling.agones.dev/v1', kind: 'FleetAutoscaler', metadata: { name: 'hooked', namespace: 'default' },
        spec: { fleetName: 'sd-webui', policy: { type: 'Webhook', webhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/scale` } }, sync: { type: 'FixedInterval', fixedInterval: { seconds: 30 } } },
      });
      await r.settle(() => r.states().join() === 'Ready,Ready,Ready', 'the 3 replicas the webhook asked for');
      assert.equal(reviews[0]?.request.name, 'sd-webui');
      assert.match(reviews[0]!.request.uid, /^[0-9a-f-]{36}$/);
      const st = r.store.get(RESOURCES.fleetAutoscalers, 'default', 'hooked').status as Record<string, unknown>;
      assert.equal(st.desiredReplicas, 3);
      assert.equal(st.ableToScale, true);
      // A webhook that fails leaves the Fleet alone and says so.
      hook.close();
      await r.controllers.autoscalers.syncNow('default/hooked');
      assert.equal((r.store.get(RESOURCES.fleetAutoscalers, 'default', 'hooked').status as Record<string, unknown>).ableToScale, false);
      assert.equal((r.store.get(RESOURCES.fleets, 'default', 'sd-webui').spec as { replicas: number }).replicas, 3);
      assert.ok(r.store.list(RESOURCES.events).items.some((e) => e.reason === 'FleetAutoscaler' && /Error calculating desired fleet size/.test(String(e.message))));
    } finally {
      hook.close();
    }
  });

  it('a webhook answer never overwrites a Fleet that changed while it was asked (as Agones: the update conflicts, the sync runs again)', async () => {
    const r = await rig(); rigs.push(r);
    let answer = 1;
    let duringCall: (() => void) | undefined;
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const review = JSON.parse(body) as { request: { uid: string } };
        duringCall?.();
        duringCall = undefined;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ response: { uid: review.request.uid, scale: true, replicas: answer } }));
      });
    });
    await new Promise<void>((res) => hook.listen(0, '127.0.0.1', res));
    const replicas = (): number => (r.store.get(RESOURCES.fleets, 'default', 'sd-webui').spec as { replicas: number }).replicas;
    try {
      r.store.create(RESOURCES.fleets, fleetManifest(2));
      r.store.create(RESOURCES.fleetAutoscalers, {
        apiVersion: 'autoscaling.agones.dev/v1', kind: 'FleetAutoscaler', metadata: { name: 'raced', namespace: 'default' },
        // An hourly sync: only the syncs this test runs, and the retries after a conflict.
        spec: { fleetName: 'sd-webui', policy: { type: 'Webhook', webhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/scale` } }, sync: { type: 'FixedInterval', fixedInterval: { seconds: 3600 } } },
      });
      await r.settle(() => replicas() === 1, 'the first sync to apply the webhook\'s 1');
      // While the webhook is being asked (its answer: 2), the allocator grows the Fleet to 4 for arrivals.
      answer = 2;
      duringCall = () => r.setReplicas(4);
      assert.equal(await r.controllers.autoscalers.syncNow('default/raced'), 'conflict');
      assert.equal(replicas(), 4, 'the answer computed on the old Fleet did not lower the grown one');
      assert.ok(r.store.list(RESOURCES.events).items.some((e) => e.reason === 'AutoScalingFleetError' && /Error on scaling fleet sd-webui from 1 to 2/.test(String(e.message))), 'a Warning event says so');
      // The next sync asks again with the Fleet as it is now, and its answer applies.
      answer = 3;
      assert.equal(await r.controllers.autoscalers.syncNow('default/raced'), 'done');
      assert.equal(replicas(), 3);
    } finally {
      hook.close();
    }
  });

  it('never gives one GameServer to two allocations, however they interleave', async () => {
    const r = await rig(); rigs.push(r);
    r.store.create(RESOURCES.fleets, fleetManifest(50));
    await r.settle(() => r.states().filter((s) => s === 'Ready').length === 50, '50 Ready', 15_000);
    r.setReplicas(50);
    const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      await new Promise((res) => setTimeout(res, i % 7));
      return r.allocate({ n: String(i) });
    }));
    const allocated = results.filter((x) => (x.status as { state: string }).state === 'Allocated');
    assert.equal(allocated.length, 50);
    assert.equal(new Set(allocated.map((x) => (x.status as { gameServerName: string }).gameServerName)).size, 50);
    assert.equal(results.length - allocated.length, 150);
  });

  it('with several Fleets, a selector naming one gets that Fleet\'s oldest Ready; one naming none, the oldest of all', async () => {
    const r = await rig(); rigs.push(r);
    const named = (name: string, replicas: number): KubeObject => ({ ...fleetManifest(replicas), metadata: { name, namespace: 'default' } });
    r.store.create(RESOURCES.fleets, named('older', 3));
    await r.settle(() => r.states().filter((x) => x === 'Ready').length === 3, 'the first Fleet Ready');
    await new Promise((res) => setTimeout(res, 1100)); // creation times have one-second resolution
    r.store.create(RESOURCES.fleets, named('newer', 2));
    await r.settle(() => r.states().filter((x) => x === 'Ready').length === 5, 'both Fleets Ready');
    const fleetOf = (name: unknown): string => r.gss().find((g) => g.metadata.name === name)!.metadata.labels!['agones.dev/fleet']!;
    const got = (spec: Record<string, unknown>): unknown => (r.allocateSpec(spec).status as { gameServerName?: string }).gameServerName;
    assert.equal(fleetOf(got({ selectors: [{ matchLabels: { 'agones.dev/fleet': 'newer' } }] })), 'newer', 'past the older Fleet\'s Ready ones');
    assert.equal(fleetOf(got({ selectors: [{ matchExpressions: [{ key: 'agones.dev/fleet', operator: 'In', values: ['newer'] }] }] })), 'newer', 'a Fleet named otherwise than in matchLabels: every Fleet looked at');
    assert.equal(fleetOf(got({})), 'older', 'no selector: the oldest Ready of all');
    assert.equal((r.allocateSpec({ selectors: [{ matchLabels: { 'agones.dev/fleet': 'newer' } }] }).status as { state: string }).state, 'UnAllocated', 'the newer Fleet\'s two are taken');
    assert.equal((r.allocateSpec({ selectors: [{ matchLabels: { 'agones.dev/fleet': 'none' } }] }).status as { state: string }).state, 'UnAllocated');
    const d = got({ scheduling: 'Distributed', selectors: [{ matchLabels: { model: 'sd15' } }] });
    assert.equal(fleetOf(d), 'older', 'Distributed over every Fleet: only the older one has Ready left');
  });

  it('the allocation handler answers UnAllocated in an empty namespace', () => {
    const store = openStore({ logger: silentLogger() });
    const h = allocationHandler({ store, log: silentLogger() });
    assert.equal((h({ apiVersion: 'allocation.agones.dev/v1', kind: 'GameServerAllocation', metadata: {}, spec: {} }).status as { state: string }).state, 'UnAllocated');
    void store.close();
  });
});
