import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SDK_ANNOTATION, sdkKey } from '../fleet/agones/metadata.ts';
import { LABEL_FLEET, type GameServer } from '../fleet/agones/types.ts';
import { FleetView } from './fleet-view.ts';
import { defaultProfiles, serves, type Profile } from './profiles.ts';

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

describe('FleetView counts kept as GameServers change', () => {
  const STATES = ['Creating', 'Scheduled', 'RequestReady', 'Ready', 'Allocated', 'Reserved', 'Unhealthy', 'Error', 'Shutdown', undefined] as const;
  const recount = (v: FleetView): Map<string, Record<string, number>> => {
    const by = new Map<string, Record<string, number>>();
    for (const g of v.all()) {
      const fleet = g.metadata.labels?.[LABEL_FLEET] ?? '(none)';
      const c = by.get(fleet) ?? { ready: 0, allocated: 0, reserved: 0, starting: 0, unhealthy: 0, shuttingDown: 0, total: 0 };
      const st = g.status?.state;
      c.total!++;
      if (g.metadata.deletionTimestamp || st === 'Shutdown') c.shuttingDown!++;
      else if (st === 'Ready') c.ready!++;
      else if (st === 'Allocated') c.allocated!++;
      else if (st === 'Reserved') c.reserved!++;
      else if (st === 'Unhealthy' || st === 'Error') c.unhealthy!++;
      else c.starting!++;
      by.set(fleet, c);
    }
    return by;
  };

  const readyOf = (v: FleetView, p: Profile): number => v.all().filter((g) => g.status?.state === 'Ready' && !g.metadata.deletionTimestamp && serves(p, g)).length;

  it('counts() and countsFor() equal a recount of every GameServer after 3,000 random changes', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const v = new FleetView({ defaultColdStartMs: 1 });
    const [a] = defaultProfiles('sd-webui');
    const [b] = defaultProfiles('other');
    v.upsert(gs('warm-0', 'sd-webui'));
    assert.deepEqual(v.countsFor(a!), { ready: 1, starting: 0 }, 'first asked: counted from what is there');
    for (let i = 0; i < 3000; i++) {
      const name = `g${rand(40)}`;
      if (rand(10) === 0) {
        v.remove(gs(name, 'ignored: the kept object counts'));
      } else {
        const g = gs(name, rand(3) === 0 ? 'other' : 'sd-webui');
        (g.status as { state?: string }).state = STATES[rand(STATES.length)];
        if (rand(8) === 0) g.metadata.deletionTimestamp = '2026-11-30T00:00:00Z';
        v.upsert(g);
      }
      if (i === 1500) assert.ok(v.countsFor(b!), 'a profile first asked about midway');
      if (i % 100 !== 99) continue;
      const want = recount(v);
      assert.deepEqual(new Map(v.counts().map(({ fleet, ...c }) => [fleet, c])), want, `counts after change ${i}`);
      for (const p of [a!, b!]) {
        assert.deepEqual(v.countsFor(p), { ready: readyOf(v, p), starting: v.startingFor(p).length }, `${p.name} after change ${i}`);
      }
    }
  });
});
