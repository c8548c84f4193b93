import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMissing, firstDifference } from './manifests.ts';
import { defaultRegistry, RESOURCES } from './resources/registry.ts';
import { openStore } from './store/open-store.ts';
import type { KubeObject } from './store/types.ts';

const fas = (policy: unknown): KubeObject => ({
  apiVersion: 'autoscaling.agones.dev/v1', kind: 'FleetAutoscaler', metadata: { name: 'sd-webui-autoscaler', namespace: 'default' },
  spec: { fleetName: 'sd-webui', policy },
} as KubeObject);
const WEBHOOK = { type: 'Webhook', webhook: { url: 'http://127.0.0.1:8080/_sdfleet/autoscaler/review' } };
const BUFFER = { type: 'Buffer', buffer: { bufferSize: 2, minReplicas: 2, maxReplicas: 8 } };

describe('manifests', () => {
  it('firstDifference: the first field the manifest sets that the stored object does not hold', () => {
    assert.equal(firstDifference({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2], d: 'default' }, e: 3 }), undefined, 'more in the store (defaults) is no difference');
    assert.deepEqual(firstDifference({ spec: { policy: WEBHOOK } }, { spec: { policy: BUFFER } }), { path: 'spec.policy.type', stored: 'Buffer', manifest: 'Webhook' });
    assert.deepEqual(firstDifference({ spec: { ports: [1, 2] } }, { spec: { ports: [1] } }), { path: 'spec.ports', stored: [1], manifest: [1, 2] });
    assert.deepEqual(firstDifference({ data: { k: 'v' } }, {}), { path: 'data.k', stored: undefined, manifest: 'v' });
    assert.equal(firstDifference({ spec: undefined, data: undefined }, { spec: { x: 1 } }), undefined, 'a manifest without data says nothing about it');
  });

  it('createMissing creates what is missing, keeps what exists, and reports a kept object unlike its manifest', () => {
    const store = openStore();
    const registry = defaultRegistry();
    const first = createMissing(store, registry, [fas(BUFFER)]);
    assert.deepEqual(first, { created: ['fleetautoscalers/sd-webui-autoscaler'], kept: [], differ: [] });
    // A newer sdfleet ships the Webhook policy; the data dir still holds the Buffer one.
    const again = createMissing(store, registry, [fas(WEBHOOK)]);
    assert.deepEqual(again.created, []);
    assert.deepEqual(again.kept, ['fleetautoscalers/sd-webui-autoscaler']);
    assert.deepEqual(again.differ, [{ object: 'fleetautoscalers/sd-webui-autoscaler', path: 'spec.policy.type', stored: 'Buffer', manifest: 'Webhook' }]);
    assert.equal((store.get(RESOURCES.fleetAutoscalers, 'default', 'sd-webui-autoscaler').spec as { policy: { type: string } }).policy.type, 'Buffer', 'kept as it was');
    // The same manifest again: kept, no difference (defaults the store filled in do not count).
    assert.deepEqual(createMissing(store, registry, [fas(BUFFER)]).differ, []);
  });
});
