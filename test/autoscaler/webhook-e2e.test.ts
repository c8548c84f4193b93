/**
 * The demand-aware FleetAutoscaler end to end on the embedded control plane, with the
 * allocator serving the webhook and light real instances: a queue forms → the
 * FleetAutoscaler's Webhook policy calls the allocator → the replicas go up → the queued
 * users get instances. And `sdfleet up`'s own manifest (k8s/local/fleetautoscaler.yaml)
 * reaches the allocator through its service reference.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { RESOURCES } from '../../fleet/control-plane/resources/registry.ts';
import { WEBHOOK_PATH } from '../../fleet/autoscaler/webhook.ts';
import { allocatorOn, Browser, until } from '../helpers/allocator.ts';
import { embeddedRig, fleetOf, ready } from '../helpers/embedded.ts';
import { closedAfterAll } from '../helpers/cleanup.ts';

const LOCAL_MANIFEST = fileURLToPath(new URL('../../k8s/local/fleetautoscaler.yaml', import.meta.url));

const closers = closedAfterAll();

interface FasStatus {
  ableToScale?: boolean;
  desiredReplicas?: number;
  currentReplicas?: number;
}

describe('demand-aware autoscaling, end to end', () => {
  it('a queue forms → the webhook raises the replicas → every queued user gets an instance', async () => {
    const rig = await embeddedRig({ portRange: { min: 48000, max: 48999 } });
    closers.push(() => rig.close());
    const store = rig.e.controlPlane.store;
    store.create(RESOURCES.fleets, fleetOf('sd-webui', 1));
    await rig.until((g) => ready(g).length === 1, '1 Ready');
    const alloc = await allocatorOn(rig, { core: { queueGraceSeconds: 60 } });
    closers.push(() => alloc.stop());
    const browser = async (name: string): Promise<Browser> => {
      const b = new Browser(alloc.url, name);
      closers.push(() => b.close());
      return b.signIn();
    };
    // No speculative warm ones: whatever the fleet grows by is the queue's doing.
    store.create(RESOURCES.configMaps, {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sdfleet-autoscaler', namespace: 'default' },
      data: { 'policy.yaml': 'maxWarm: 0\nmaxReplicas: 6\n' },
    });

    const holder = await browser('holder');
    assert.equal((await holder.start()).status, 201);
    const waiting = await Promise.all(['w1', 'w2', 'w3'].map(browser));
    for (const w of waiting) assert.equal((await w.start()).status, 202, `${w.name} queues: nothing is Ready`);

    store.create(RESOURCES.fleetAutoscalers, {
      apiVersion: 'autoscaling.agones.dev/v1', kind: 'FleetAutoscaler', metadata: { name: 'sd-webui-autoscaler', namespace: 'default' },
      spec: {
        fleetName: 'sd-webui',
        policy: { type: 'Webhook', webhook: { url: `${alloc.url}${WEBHOOK_PATH}` } },
        sync: { type: 'FixedInterval', fixedInterval: { seconds: 1 } },
      },
    });

    // The review sees 1 allocated + 3 queued and asks for 4.
    const reasons: string[] = [];
    await until(() => {
      for (const s of alloc.autoscaler!.status()) reasons.push(s.reason);
      return (store.get(RESOURCES.fleetAutoscalers, 'default', 'sd-webui-autoscaler').status ?? {}) as FasStatus;
    }, (s) => s.ableToScale === true && s.desiredReplicas === 4, 15_000, 'the FleetAutoscaler to ask for 4');
    assert.ok(reasons.some((r) => /1 allocated \+ 3 queued \+ no warm ones .* → 4/.test(r)), `a reason naming the queue: ${reasons.at(-1)}`);
    assert.equal((store.get(RESOURCES.fleets, 'default', 'sd-webui').spec as { replicas: number }).replicas, 4);

    // The new instances turn Ready and the queue is served, first come first served.
    for (const w of waiting) {
      const me = await until(() => w.api<{ session?: { state: string; instance: string } }>('GET', '/sessions/me'), (r) => r.body.session?.state === 'active', 30_000, `${w.name} served`);
      assert.ok(me.body.session!.instance);
    }
    const owners = rig.gameServers().filter((g) => g.status?.state === 'Allocated').map((g) => g.metadata.annotations?.['sdfleet.dev/user-id']).sort();
    assert.deepEqual(owners, ['holder', 'w1', 'w2', 'w3']);
    // Served: nothing waits, nothing warm is kept (maxWarm 0), the four stay.
    const settled = await until(() => alloc.autoscaler!.status()[0]!, (s) => s.queued === 0, 10_000, 'the queue seen empty');
    assert.equal(settled.replicas, 4);
    assert.equal(settled.code, 'idle');
  });

  it("sdfleet up's manifest: the FleetAutoscaler reaches the allocator through its service reference and keeps 2 warm", async () => {
    const services: Record<string, string> = {};
    const rig = await embeddedRig({ portRange: { min: 49000, max: 49999 }, services, manifests: [LOCAL_MANIFEST] });
    closers.push(() => rig.close());
    const store = rig.e.controlPlane.store;
    assert.ok(store.tryGet(RESOURCES.configMaps, 'default', 'sdfleet-autoscaler'), 'the policy ConfigMap comes with it');
    store.create(RESOURCES.fleets, fleetOf('sd-webui', 0));
    const alloc = await allocatorOn(rig);
    closers.push(() => alloc.stop());
    services['default/sdfleet-allocator'] = alloc.url;
    await rig.e.controllers.autoscalers.syncNow('default/sd-webui-autoscaler');
    const st = store.get(RESOURCES.fleetAutoscalers, 'default', 'sd-webui-autoscaler').status as FasStatus;
    assert.equal(st.ableToScale, true);
    assert.equal(st.desiredReplicas, 2);
    await rig.until((g) => ready(g).length === 2, '2 Ready (minWarm 2)');
    const s = alloc.autoscaler!.status()[0]!;
    assert.equal(s.code, 'min-warm');
    assert.match(s.reason, /0 allocated \+ 2 warm \(the minWarm floor/);
    // The admin page's view carries the same reason beside the FleetAutoscaler.
    const fas = alloc.core.adminView().autoscalers.find((a) => a.name === 'sd-webui-autoscaler');
    assert.match(String(fas?.reason), /0 allocated \+ 2 warm \(the minWarm floor/);
    // The admin sees the same over HTTP; others do not.
    const admin = await new Browser(alloc.url, 'admin').signIn();
    const other = await new Browser(alloc.url, 'someone').signIn();
    closers.push(() => admin.close(), () => other.close());
    const seen = (await (await admin.fetch('GET', '/_sdfleet/autoscaler/status')).json()) as { fleets: { fleet: string; code: string }[] };
    assert.deepEqual(seen.fleets.map((f) => [f.fleet, f.code]), [['sd-webui', 'min-warm']]);
    assert.equal((await other.fetch('GET', '/_sdfleet/autoscaler/status')).status, 403);
  });
});
