import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SDK_ANNOTATION, sdkKey } from '../fleet/agones/metadata.ts';
import { LABEL_FLEET, type GameServer } from '../fleet/agones/types.ts';
import { FleetView } from './fleet-view.ts';
import { defaultProfiles } from './profiles.ts';

const gs = (name: string, fleet: string, phases?: string): GameServer => ({
  apiVersion: 'agones.dev/v1',
  kind: 'GameServer',
  metadata: { name, labels: { [LABEL_FLEET]: fleet }, ...(phases !== undefined ? { annotations: { [sdkKey(SDK_ANNOTATION.phases)]: phases } } : {}) },
  spec: {},
  status: { state: 'Ready' },
} as unknown as GameServer);

describe('FleetView.coldStartMs', () => {
  it("is the median of the wrappers' created→Ready, per profile, with the default when none is known", () => {
    const v = new FleetView({ defaultColdStartMs: 180_000 });
    assert.equal(v.coldStartMs(), 180_000);
    v.upsert(gs('a', 'sd-webui', JSON.stringify({ createdToReadyMs: 10_000 })));
    v.upsert(gs('b', 'sd-webui', JSON.stringify({ createdToReadyMs: 30_000 })));
    v.upsert(gs('c', 'sd-webui', JSON.stringify({ createdToReadyMs: 20_000 })));
    v.upsert(gs('d', 'other', JSON.stringify({ createdToReadyMs: 90_000 })));
    v.upsert(gs('e', 'sd-webui', '{not json'));
    v.upsert(gs('f', 'sd-webui'));
    const [profile] = defaultProfiles('sd-webui');
    assert.equal(v.coldStartMs(profile), 20_000);
    assert.equal(v.coldStartMs(defaultProfiles('none')[0]), 180_000);
  });

  it('follows an updated GameServer (a new object) and a removed one', () => {
    const v = new FleetView({ defaultColdStartMs: 1 });
    const [profile] = defaultProfiles('sd-webui');
    v.upsert(gs('a', 'sd-webui', JSON.stringify({ createdToReadyMs: 10_000 })));
    assert.equal(v.coldStartMs(profile), 10_000);
    v.upsert(gs('a', 'sd-webui', JSON.stringify({ createdToReadyMs: 40_000 })));
    assert.equal(v.coldStartMs(profile), 40_000);
    v.remove(gs('a', 'sd-webui'));
    assert.equal(v.coldStartMs(profile), 1);
  });
});
